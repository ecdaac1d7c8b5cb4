"""The layers as pairs of free functions (``*_forward`` / ``*_backward``), NumPy only.

``conv``, ``pool`` (max), ``avgpool``, ``activations``, ``dense``, ``batchnorm`` and
``dropout`` hold the vectorised ops, ``pool_taps`` the window slices both poolings loop
over and ``arrays`` the helpers every op shares; ``shapes`` is the arithmetic of sizes,
``counts`` of parameters and memory; ``reference`` holds loop versions of conv and
pooling that the tests hold the fast ones to.
"""
