"""The layers as pairs of free functions (``*_forward`` / ``*_backward``), NumPy only.

``conv`` (grouped and depthwise too, via ``group``), ``conv1d``, ``conv_transpose``,
``pool`` (max), ``avgpool``, ``activations``, ``dense``, ``batchnorm`` and ``dropout`` hold
the vectorised ops, ``pool_taps`` the window slices both poolings loop
over and ``arrays`` the helpers every op shares; ``shapes`` is the arithmetic of sizes,
``counts`` of parameters and memory; ``reference`` holds loop versions of the convolutions
(2-D, 1-D, transposed) and pooling that the tests hold the fast ones to.
"""
