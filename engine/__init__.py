"""ConvLab's pure-NumPy CNN engine: ops (forward + backward) and shape arithmetic.

Every layer is a pair of free functions, ``*_forward(...) -> (out, cache)`` and
``*_backward(dout, cache) -> gradients``; arrays are NCHW and attribute names
and meanings are ONNX's (``strides``, ``pads`` = top, left, bottom, right,
``dilations`` with 1 = none, ``kernel_shape``, ``group``, ``ceil_mode``,
``count_include_pad``). Loop versions of conv and pooling live in
:mod:`engine.ops.reference`. This package imports nothing but NumPy.
"""

from engine.graph import (
    SUPPORTED_OPS,
    Graph,
    GraphError,
    UnsupportedOpError,
    load_graph,
    run,
)
from engine.ops.activations import (
    erf,
    gelu_backward,
    gelu_forward,
    leaky_relu_backward,
    leaky_relu_forward,
    relu_backward,
    relu_forward,
    sigmoid_backward,
    sigmoid_forward,
    swish_backward,
    swish_forward,
    tanh_backward,
    tanh_forward,
)
from engine.ops.avgpool import (
    AvgPoolCache,
    avgpool2d_backward,
    avgpool2d_forward,
    global_avgpool_backward,
    global_avgpool_forward,
)
from engine.ops.conv import ConvCache, conv2d_backward, conv2d_forward
from engine.ops.counts import (
    ParamCount,
    activation_count,
    conv_params,
    dense_params,
    float32_bytes,
)
from engine.ops.dense import (
    cross_entropy_backward,
    cross_entropy_forward,
    dense_backward,
    dense_forward,
    flatten,
    log_softmax,
    softmax_backward,
    softmax_forward,
)
from engine.ops.pool import (
    MaxPoolCache,
    maxpool2d_argmax,
    maxpool2d_backward,
    maxpool2d_forward,
)
from engine.ops.shapes import (
    OutputSize,
    conv_output_shape,
    output_size,
    same_padding,
)

__all__ = [
    "SUPPORTED_OPS",
    "AvgPoolCache",
    "ConvCache",
    "Graph",
    "GraphError",
    "UnsupportedOpError",
    "load_graph",
    "run",
    "MaxPoolCache",
    "OutputSize",
    "ParamCount",
    "activation_count",
    "avgpool2d_backward",
    "avgpool2d_forward",
    "conv2d_backward",
    "conv2d_forward",
    "conv_output_shape",
    "conv_params",
    "cross_entropy_backward",
    "cross_entropy_forward",
    "dense_backward",
    "dense_forward",
    "dense_params",
    "erf",
    "flatten",
    "float32_bytes",
    "gelu_backward",
    "gelu_forward",
    "global_avgpool_backward",
    "global_avgpool_forward",
    "leaky_relu_backward",
    "leaky_relu_forward",
    "log_softmax",
    "maxpool2d_argmax",
    "maxpool2d_backward",
    "maxpool2d_forward",
    "output_size",
    "relu_backward",
    "relu_forward",
    "same_padding",
    "sigmoid_backward",
    "sigmoid_forward",
    "swish_backward",
    "swish_forward",
    "softmax_backward",
    "softmax_forward",
    "tanh_backward",
    "tanh_forward",
]
