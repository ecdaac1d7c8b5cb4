"""The calculator's layer chain written out as PyTorch and Keras code.

Each line carries the output shape the engine worked out for that layer (one sample, as
the framework prints it); Keras keeps channels last, so its shapes are (H, W, C) and its
padding is written so that it pads exactly as PyTorch's ``padding=p``.
"""

from __future__ import annotations

from app.schemas.calculator import ConvLayer, FlattenLayer, PoolLayer, ReluLayer

__all__ = ["keras_code", "pytorch_code"]


def _shape_comment(row: dict) -> str:
    """``  # -> (10, 32, 32)``: the output shape of one sample, as the framework prints it."""
    return f"  # -> {tuple(row['output_shape'])}"


def pytorch_code(shape: tuple[int, int, int], layers: list, rows: list[dict], params: int) -> str:
    """``nn.Sequential`` with in_channels and in_features tracked from the engine's shapes."""
    c, h, w = shape
    lines = ["import torch", "from torch import nn", "", "model = nn.Sequential("]
    channels, features = c, None
    for layer, row in zip(layers, rows, strict=True):
        if isinstance(layer, ConvLayer):
            args = f"{channels}, {layer.filters}, kernel_size={layer.kernel}, stride={layer.stride}"
            args += f", padding={layer.padding}" + (f", dilation={layer.dilation}" if layer.dilation > 1 else "")
            text = f"nn.Conv2d({args}),"
            channels = layer.filters
        elif isinstance(layer, PoolLayer):
            cls = "MaxPool2d" if layer.mode == "max" else "AvgPool2d"
            text = f"nn.{cls}(kernel_size={layer.kernel}, stride={layer.stride or layer.kernel}"
            text += f", padding={layer.padding})," if layer.padding else "),"
        elif isinstance(layer, ReluLayer):
            text = "nn.ReLU(),"
        elif isinstance(layer, FlattenLayer):
            text = "nn.Flatten(),"
            features = row["output_shape"][0]
        else:
            text = f"nn.Linear({features}, {layer.units}),"
            features = layer.units
        lines.append(f"    {text}{_shape_comment(row)}")
    lines += [
        ")",
        "",
        f"x = torch.zeros(1, {c}, {h}, {w})  # a batch of one {c}x{h}x{w} image (N, C, H, W)",
        "print(model(x).shape)",
        f"print(sum(p.numel() for p in model.parameters()))  # {params}",
    ]
    return "\n".join(lines) + "\n"


def _keras_same(n: int, span: int, stride: int) -> tuple[int, int]:
    """The (begin, end) padding Keras's padding="same" uses along one axis."""
    out = -(-n // stride)
    total = max((out - 1) * stride + span - n, 0)
    return total // 2, total - total // 2


def _keras_padding(in_hw: tuple[int, int], span: int, stride: int, p: int) -> str | None:
    """ "valid" or "same" when Keras pads exactly as PyTorch's ``padding=p``; else None."""
    if p == 0:
        return "valid"
    if all(_keras_same(n, span, stride) == (p, p) for n in in_hw):
        return "same"
    return None


def keras_code(shape: tuple[int, int, int], layers: list, rows: list[dict]) -> str:
    """``keras.Sequential`` from ``Input(shape=(H, W, C))``: Keras keeps channels last."""
    c, h, w = shape
    lines = ["import keras", "from keras import layers", "", "model = keras.Sequential(["]
    lines.append(f"    keras.Input(shape=({h}, {w}, {c})),  # Keras keeps channels last: (H, W, C)")
    hw = (h, w)
    for layer, row in zip(layers, rows, strict=True):
        out = row["output_shape"]
        comment = _shape_comment({"output_shape": out[1:] + out[:1] if len(out) == 3 else out})
        if isinstance(layer, ConvLayer):
            s, d, p = layer.stride, layer.dilation, layer.padding
            span = d * (layer.kernel - 1) + 1
            conv_stride = 1 if s > 1 and d > 1 else s  # Keras refuses strides > 1 with dilation
            mode = _keras_padding(hw, span, conv_stride, p)
            if mode is None:
                lines.append(f"    layers.ZeroPadding2D(padding={p}),")
                mode = "valid"
            args = f"{layer.filters}, kernel_size={layer.kernel}, strides={conv_stride}"
            args += f', padding="{mode}"' + (f", dilation_rate={d}" if d > 1 else "")
            if conv_stride != s:
                lines.append(f"    layers.Conv2D({args}),  # Keras refuses strides > 1 with dilation")
                lines.append(f"    layers.Lambda(lambda t: t[:, ::{s}, ::{s}, :]),{comment}"
                             f": positions 0, {s}, {2 * s}, ... = stride {s}")
            else:
                lines.append(f"    layers.Conv2D({args}),{comment}")
        elif isinstance(layer, PoolLayer):
            s, p, k = layer.stride or layer.kernel, layer.padding, layer.kernel
            cls = "MaxPooling2D" if layer.mode == "max" else "AveragePooling2D"
            # Keras's "same" average ignores the padding; PyTorch's counts it as zeros.
            mode = _keras_padding(hw, k, s, p) if layer.mode == "max" or p == 0 else None
            if mode is None and layer.mode == "max":
                pad = f"(0, 0), ({p}, {p}), ({p}, {p}), (0, 0)"
                lines.append(f'    layers.Lambda(lambda t: keras.ops.pad(t, ({pad}), constant_values=float("-inf"))),'
                             "  # max pooling pads with -inf, as PyTorch does")
                mode = "valid"
            elif mode is None:
                lines.append(f"    layers.ZeroPadding2D(padding={p}),  # PyTorch averages the padding zeros in")
                mode = "valid"
            lines.append(f'    layers.{cls}(pool_size={k}, strides={s}, padding="{mode}"),{comment}')
        elif isinstance(layer, ReluLayer):
            lines.append(f"    layers.ReLU(),{comment}")
        elif isinstance(layer, FlattenLayer):
            lines.append(f"    layers.Flatten(),{comment}, flattened in (H, W, C) order")
        else:
            lines.append(f"    layers.Dense({layer.units}),{comment}")
        if len(out) == 3:
            hw = (out[1], out[2])
    lines += ["])", "model.summary()"]
    return "\n".join(lines) + "\n"
