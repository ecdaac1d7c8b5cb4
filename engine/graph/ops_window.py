"""Window ops: ``Conv``, ``MaxPool``, ``AveragePool``, ``GlobalAveragePool``.

Each resolves its ONNX attributes (``auto_pad`` included) with :func:`node_window`
and calls :mod:`engine.ops.conv`, :mod:`engine.ops.pool` or :mod:`engine.ops.avgpool`.
``Conv`` and ``MaxPool`` are also *prepared* (see :mod:`engine.graph.ops_common`): the
first input of each shape goes through the engine's op, which checks everything; the
window geometry it used is then remembered for that shape, and later inputs of the
same shape run the same arithmetic without working it out again (the im2col copies
through window views of the remembered shapes and strides, then one matmul; a running
maximum over the kernel's row taps, then its column taps).
"""

from __future__ import annotations

import numpy as np

from engine.graph.ops_common import MAX_MACS, as_float, check_size, const, op_of
from engine.ops.arrays import pad_hw
from engine.ops.avgpool import avgpool2d_forward, global_avgpool_forward
from engine.ops.conv import _windows, column_taps, conv2d_forward, row_taps
from engine.ops.pool import MaxPoolCache, maxpool2d_forward
from engine.ops.pool_taps import max_of_taps, padded_ends, separable_taps
from engine.ops.shapes import conv_output_shape

__all__ = ["average_pool", "global_average_pool", "node_window", "prepare_conv",
           "prepare_max_pool"]

_F32 = np.dtype(np.float32)
_SHAPES = 16  # input shapes remembered per node (a model is usually fed one or two)
_TWO_COPIES_BYTES = 2 << 20  # the largest im2col matrix Conv copies in two steps


def _window_pads(x_hw, kernel, strides, dilations, attrs) -> tuple[int, int, int, int]:
    """ONNX ``pads`` for a 2-D window op, resolving ``auto_pad``."""
    auto_pad = attrs.get("auto_pad", "NOTSET")
    if auto_pad == "VALID":
        return (0, 0, 0, 0)
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        begin, end = [], []
        for n, k, s, d in zip(x_hw, kernel, strides, dilations, strict=True):
            out = -(-n // s)  # ceil(n / s)
            total = max(0, (out - 1) * s + d * (k - 1) + 1 - n)
            small, big = total // 2, total - total // 2
            begin.append(small if auto_pad == "SAME_UPPER" else big)
            end.append(big if auto_pad == "SAME_UPPER" else small)
        return (begin[0], begin[1], end[0], end[1])
    if auto_pad != "NOTSET":
        raise ValueError(
            f"auto_pad must be NOTSET, SAME_UPPER, SAME_LOWER or VALID, got {auto_pad!r}"
        )
    pads = tuple(attrs.get("pads", (0, 0, 0, 0)))
    if len(pads) != 4:
        raise ValueError(f"only 2-D windows are supported: pads must have 4 entries, got {pads}")
    return pads


def node_window(x: np.ndarray, attrs: dict, kernel=None, *, with_dilations=True):
    """Checked ``(kernel, strides, pads, dilations)`` of a 2-D window op (Conv, pooling) on
    NCHW ``x``, with ``auto_pad`` resolved; also used by the app's trace to find windows."""
    if x.ndim != 4:
        raise ValueError(f"only 2-D (N, C, H, W) inputs are supported, got shape {x.shape}")
    given = attrs.get("kernel_shape")
    if kernel is None:
        if given is None:
            raise ValueError("the kernel_shape attribute is required")
        kernel = given
    elif given is not None and tuple(given) != tuple(kernel):
        raise ValueError(f"kernel_shape {tuple(given)} does not match the weights' {tuple(kernel)}")
    kernel = tuple(int(k) for k in kernel)
    strides = tuple(attrs.get("strides", (1, 1)))
    dilations = tuple(attrs.get("dilations", (1, 1))) if with_dilations else (1, 1)
    if len(kernel) != 2 or len(strides) != 2 or len(dilations) != 2:
        raise ValueError(
            f"only 2-D windows are supported, got kernel {kernel}, "
            f"strides {strides}, dilations {dilations}"
        )
    pads = _window_pads(x.shape[2:], kernel, strides, dilations, attrs)
    if min(pads) < 0:
        raise ValueError(f"pads must be >= 0, got {pads}")
    check_size((x.shape[2] + pads[0] + pads[2], x.shape[3] + pads[1] + pads[3]), "padded input")
    return kernel, strides, pads, dilations


# ------------------------------------------------------------------ Conv


def _conv_checked(x, w, b, attrs, group):
    """The convolution through :func:`conv2d_forward`, and the geometry it used."""
    if w.ndim != 4:
        raise ValueError(f"only 2-D convolutions are supported, got weights of shape {w.shape}")
    kernel, strides, pads, dilations = node_window(x, attrs, w.shape[2:])
    oh, ow = conv_output_shape(x.shape[2:], kernel, strides, pads, dilations)
    n, c = x.shape[:2]
    check_size((n, oh, ow, c, *kernel), "the convolution's im2col matrix")
    check_size((n, w.shape[0], oh, ow, c // max(group, 1), *kernel), "the multiply-adds", MAX_MACS)
    out, _ = conv2d_forward(x, w, b, strides=strides, pads=pads, dilations=dilations, group=group)
    padded = np.empty((n, c, x.shape[2] + pads[0] + pads[2], x.shape[3] + pads[1] + pads[3]),
                      np.float32)
    im2col = _im2col_steps(x.shape, padded, kernel, strides, pads, dilations, oh * ow)
    f = w.shape[0]
    k = (c // group) * kernel[0] * kernel[1]
    # The shapes the matmul sees: weights (F, K) or (group, F/group, K), columns
    # (K, OH*OW) for one image, else (N, K, OH*OW) or (N, group, K, OH*OW).
    if group == 1:
        w_shape, cols_shape = (f, k), ((k, oh * ow) if n == 1 else (n, k, oh * ow))
    else:
        w_shape, cols_shape = (group, f // group, k), (n, group, k, oh * ow)
    return out, (*im2col, w_shape, cols_shape, (n, f, oh, ow))


def _im2col_steps(x_shape, padded, kernel, strides, pads, dilations, cells) -> tuple:
    """How later inputs of ``x_shape`` are copied into the im2col matrix ``(N, C, KH, KW,
    OH, OW)`` (``cells = OH * OW``): ``(start, views)``, the copy made first (see the conv
    step) and the window views copied after it, as (shape, strides) of C-ordered arrays
    worked out once by sliding_window_view, on uncommitted memory of the ``padded``
    input's shape.

    Where the matrix fits the L2 cache (2 MiB), in two copies, as
    :func:`engine.ops.conv.column_taps` then :func:`~engine.ops.conv.row_taps` say: the
    first (every padded row once per kernel column) is written straight from ``x`` into
    zeros, one slice per kernel column (``fills``), so that the input is never padded
    on its own. Above, the extra pass costs more than the short runs it saves: one copy
    of ``conv2d_forward``'s view of the padded input.
    """
    n, c, h, w = x_shape
    if n * c * kernel[0] * kernel[1] * cells * 4 > _TWO_COPIES_BYTES:
        view = _windows(padded, kernel, strides, (0, 0, 0, 0), dilations)
        view = view.transpose(0, 1, 4, 5, 2, 3)  # (N, C, KH, KW, OH, OW), as _im2col_ck
        start = ("padded", pads[:2], padded.shape) if any(pads) else ("x",)
        return start, ((view.shape, view.strides),)
    first = column_taps(padded, kernel, strides, dilations)  # (N, C, KW, Hp, OW)
    second = row_taps(np.empty(first.shape, np.float32), kernel, strides, dilations)
    if not any(pads):
        return ("x",), ((first.shape, first.strides), (second.shape, second.strides))
    (_, kw), (_, sw), (_, dw), (top, left), ow = kernel, strides, dilations, pads[:2], first.shape[4]
    fills = []  # first[:, :, q, top:top+H, j] = x[:, :, :, j*S_w + q*D_w - left] where inside x
    for q in range(kw):
        j0 = max(0, -(-(left - q * dw) // sw))
        j1 = min(ow, (w - 1 + left - q * dw) // sw + 1)
        if j1 > j0:
            s0 = j0 * sw + q * dw - left
            fills.append(((slice(None), slice(None), q, slice(top, top + h), slice(j0, j1)),
                          (Ellipsis, slice(s0, s0 + (j1 - j0 - 1) * sw + 1, sw))))
    return ("fills", first.shape, fills), ((second.shape, second.strides),)


def prepare_conv(attrs, opset, consts):
    """ONNX ``Conv`` (2-D, grouped, dilated, ``auto_pad``): ``conv2d_forward``."""
    group = int(attrs.get("group", 1))
    w_const, b_const = const(consts, 1), const(consts, 2)
    w_fixed = None if w_const is None else as_float(w_const)
    b_fixed = None if b_const is None else as_float(b_const)
    b_column = None if b_fixed is None or b_fixed.ndim != 1 else b_fixed.reshape(-1, 1)
    geometry: dict[tuple, tuple] = {}
    w_mats: dict[tuple, np.ndarray] = {}  # the fixed weights as the matmul's matrix

    def conv(ins):
        x = ins[0]
        if x.dtype is not _F32:
            x = as_float(x)
        w = w_fixed if w_fixed is not None else as_float(ins[1])
        b = ins[2] if len(ins) > 2 else None
        if b is not None:
            b = b_fixed if b_fixed is not None else as_float(b)
        geom = geometry.get((x.shape, w.shape, None if b is None else b.shape))
        if geom is None:
            out, geom = _conv_checked(x, w, b, attrs, group)
            if len(geometry) < _SHAPES:
                geometry[(x.shape, w.shape, None if b is None else b.shape)] = geom
            return (out,)
        (start, *more), views, w_shape, cols_shape, out_shape = geom
        if start == "fills":  # the first copy, from x into zeros (the padding)
            first_shape, fills = more
            cols = np.zeros(first_shape, _F32)
            for into, part in fills:
                cols[into] = x[part]
        elif start == "padded":  # zeros around x, as pad_hw
            (top, left), padded_shape = more
            cols = np.zeros(padded_shape, _F32)
            cols[:, :, top:top + x.shape[2], left:left + x.shape[3]] = x
        else:
            cols = x if x.flags.c_contiguous else np.ascontiguousarray(x)
        for shape, strides in views:  # each copy frees the one before it for the next
            cols = np.ascontiguousarray(np.ndarray(shape, _F32, cols, 0, strides))
        if w is w_fixed:
            wmat = w_mats.get(w_shape)
            if wmat is None:
                wmat = w_mats[w_shape] = w.reshape(w_shape)
        else:
            wmat = w.reshape(w_shape)
        out = np.matmul(wmat, cols.reshape(cols_shape))
        if b is not None:
            if len(w_shape) == 3:  # grouped: (N, group, F/group, OH*OW)
                out = out.reshape(out_shape[0], out_shape[1], -1)
            out += b_column if b is b_fixed and b_column is not None else b.reshape(-1, 1)
        return (out.reshape(out_shape),)

    return conv


# ------------------------------------------------------------------ pooling


class _MaxPoolResults:
    """``(Y, Indices)`` where Indices (flat NCHW offsets, as ONNX) is only worked out when a
    node asks for that second output: most models never do, and it costs more than Y."""

    __slots__ = ("ceil_mode", "out", "window", "x")

    def __init__(self, out, x, window, ceil_mode):
        self.out, self.x, self.window, self.ceil_mode = out, x, window, ceil_mode

    def __len__(self) -> int:
        return 2

    def __getitem__(self, i: int):
        if i == 0:
            return self.out
        return list(self)[i]

    def __iter__(self):
        yield self.out
        cache = MaxPoolCache(self.x, *self.window, self.ceil_mode)
        n, c, h, w = self.x.shape
        plane = (np.arange(n * c, dtype=np.int64).reshape(n, c, 1, 1)) * (h * w)
        yield plane + cache.rows * w + cache.cols


def prepare_max_pool(attrs, opset, consts):
    """ONNX ``MaxPool`` (2-D, dilated, ``ceil_mode``, ``auto_pad``): ``maxpool2d_forward``."""
    if int(attrs.get("storage_order", 0)) != 0:
        raise ValueError("MaxPool with storage_order=1 (column-major indices) is not supported")
    ceil_mode = bool(attrs.get("ceil_mode", 0))
    geometry: dict[tuple, tuple] = {}

    def max_pool(ins):
        x = ins[0]
        if x.dtype is not _F32:
            x = as_float(x)
        geom = geometry.get(x.shape)
        if geom is None:
            window = node_window(x, attrs)
            out, _ = maxpool2d_forward(x, kernel_shape=window[0], strides=window[1],
                                       pads=window[2], dilations=window[3], ceil_mode=ceil_mode)
            if len(geometry) < _SHAPES:
                (kernel, strides, pads, dilations), out_hw = window, out.shape[2:]
                ends = padded_ends(x.shape[2:], kernel, strides, pads, dilations, out_hw)
                padding = (pads[0], pads[1], *ends)
                taps = separable_taps(kernel, strides, dilations, out_hw)
                geometry[x.shape] = (window, padding if any(padding) else None, *taps)
            return _MaxPoolResults(out, x, window, ceil_mode)
        window, padding, rows, cols = geom
        out = max_of_taps(x if padding is None else pad_hw(x, padding, -np.inf), rows, cols)
        return _MaxPoolResults(out, x, window, ceil_mode)

    return max_pool


def average_pool(ins, attrs, opset):
    """ONNX ``AveragePool`` (2-D, ``ceil_mode``, ``count_include_pad``): ``avgpool2d_forward``."""
    x = as_float(ins[0])
    if any(d != 1 for d in attrs.get("dilations", (1, 1))):
        raise ValueError(
            f"dilated AveragePool is not supported, got dilations {attrs['dilations']}"
        )
    kernel, strides, pads, _ = node_window(x, attrs, with_dilations=False)
    out, _ = avgpool2d_forward(
        x,
        kernel_shape=kernel,
        strides=strides,
        pads=pads,
        ceil_mode=bool(attrs.get("ceil_mode", 0)),
        count_include_pad=bool(attrs.get("count_include_pad", 0)),
    )
    return (out,)


def global_average_pool(ins, attrs, opset):
    """ONNX ``GlobalAveragePool``: the mean of each channel, ``(N, C, 1, 1)``."""
    return (global_avgpool_forward(as_float(ins[0]))[0],)


conv = op_of(prepare_conv)
max_pool = op_of(prepare_max_pool)
