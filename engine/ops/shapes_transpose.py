"""Sizes of a transposed convolution's output: ``(N - 1) S - 2P + F (+ output_padding)``.

Plain integer arithmetic with the formula in each docstring, as :mod:`engine.ops.shapes`
(which re-exports these functions); attribute meanings follow ONNX ``ConvTranspose``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from engine.ops.arrays import attr_tuples, pad_pair

__all__ = ["TransposeSize", "conv_transpose_output_shape", "conv_transpose_output_size"]


@dataclass(frozen=True)
class TransposeSize:
    """The result of :func:`conv_transpose_output_size`, with the working shown.

    Attributes
    ----------
    size : int
        Output length ``(N - 1) S - P_b - P_e + D (F - 1) + 1 + output_padding``.
    spread : int
        ``(N - 1) S + 1``: the input spread out by the stride (``S - 1`` zeros between
        neighbours), the zero-insertion view's grid before padding.
    full : int
        ``spread + D (F - 1) + output_padding``: every cell some kernel copy lands on, before
        the padding crops ``P_b + P_e`` of them.
    span : int
        Output cells one dilated kernel copy covers: ``D (F - 1) + 1``.
    """

    size: int
    spread: int
    full: int
    span: int


def conv_transpose_output_size(
    n: int,
    kernel: int,
    stride: int = 1,
    pad: int | Sequence[int] = 0,
    dilation: int = 1,
    output_padding: int = 0,
) -> TransposeSize:
    """Output length of a transposed convolution along one axis.

    .. math::

        O = (N - 1) S - P_b - P_e + D (F - 1) + 1 + \\text{output\\_padding}

    With ``D = 1`` and symmetric padding this is ``(N - 1) S - 2P + F (+ output_padding)``:
    each of the ``N`` input cells places a copy of the ``F``-wide kernel, ``S`` cells after
    the previous one, and the padding crops ``P`` cells off each end. It inverts
    :func:`output_size`: a convolution with the same ``F, S, P, D`` maps ``O`` cells back to
    ``N`` (``output_padding`` chooses among the sizes a stride rounds down to the same ``N``).

    Raises
    ------
    ValueError
        If a size is not positive, a pad or ``output_padding`` is negative,
        ``output_padding`` is not smaller than the stride or the dilation, or the padding
        crops every cell.
    """
    pad_begin, pad_end = pad_pair(pad)
    if n < 1 or kernel < 1 or stride < 1 or dilation < 1:
        raise ValueError(
            f"input size, kernel, stride and dilation must be >= 1, got {n}, {kernel}, {stride}, {dilation}"
        )
    if pad_begin < 0 or pad_end < 0 or output_padding < 0:
        raise ValueError(
            f"padding and output_padding must be >= 0, got ({pad_begin}, {pad_end}) and {output_padding}"
        )
    if output_padding >= max(stride, dilation):
        raise ValueError(
            f"output_padding ({output_padding}) must be smaller than the stride ({stride}) or the "
            f"dilation ({dilation}): larger values add cells no input reaches"
        )
    span = dilation * (kernel - 1) + 1
    spread = (n - 1) * stride + 1
    full = spread + span - 1 + output_padding
    size = full - pad_begin - pad_end
    if size < 1:
        raise ValueError(
            f"the padding ({pad_begin} + {pad_end}) crops all {full} cells of the transposed "
            f"convolution's output ((N - 1)*S + D*(F - 1) + 1 + output_padding = {full})"
        )
    return TransposeSize(size=size, spread=spread, full=full, span=span)


def conv_transpose_output_shape(
    in_hw: Sequence[int],
    kernel_shape: Sequence[int],
    strides: Sequence[int] = (1, 1),
    pads: Sequence[int] = (0, 0, 0, 0),
    dilations: Sequence[int] = (1, 1),
    output_padding: Sequence[int] = (0, 0),
) -> tuple[int, int]:
    """Spatial output shape ``(OH, OW)`` of a 2-D transposed convolution: per axis
    :func:`conv_transpose_output_size` (pads ``(top, left, bottom, right)`` as ONNX)."""
    attr_tuples(("in_hw", in_hw, 2), ("kernel_shape", kernel_shape, 2), ("strides", strides, 2),
                ("pads", pads, 4), ("dilations", dilations, 2), ("output_padding", output_padding, 2))
    return tuple(  # type: ignore[return-value]
        conv_transpose_output_size(in_hw[a], kernel_shape[a], strides[a], (pads[a], pads[a + 2]),
                                   dilations[a], output_padding[a]).size
        for a in (0, 1)
    )
