"""The layers as pairs of free functions (``*_forward`` / ``*_backward``), NumPy only.

``conv``, ``pool``, ``activations`` and ``dense`` hold the vectorised ops, ``shapes`` the
arithmetic of sizes and parameter counts, ``reference`` loop versions of conv and pooling
that the tests hold the fast ones to.
"""
