"""The layer specifications of ConvLab's classic CNNs, and the networks built from them.

A network is a tuple of small frozen layer specs (:class:`Conv`, :class:`Pool`,
:class:`Dense`, ...; :class:`Branches` for an Inception module, :class:`Residual`
for a ResNet block). The builders (:func:`lenet5`, :func:`alexnet`, :func:`vgg16`,
:func:`googlenet`, :func:`resnet`, ...) return ``(input_shape, layers)``; the
torchvision ones follow the torchvision reference implementations layer for layer.
Nothing is counted here: :mod:`course.architectures` walks these specs and does the
arithmetic (and re-exports every name in this module).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Conv:
    """``filters`` kernels of ``kernel x kernel``; ``batchnorm`` adds 2 params per filter."""

    filters: int
    kernel: int
    stride: int = 1
    padding: int = 0
    dilation: int = 1
    groups: int = 1
    bias: bool = True
    batchnorm: bool = False
    relu: bool = True
    name: str = "conv"


@dataclass(frozen=True)
class Pool:
    """Max or average pooling; ``stride=None`` means stride = kernel."""

    kernel: int
    stride: int | None = None
    padding: int = 0
    mode: str = "max"
    ceil_mode: bool = False
    name: str = "pool"


@dataclass(frozen=True)
class GlobalAvgPool:
    """Average each channel down to one value: ``(C, H, W) -> (C, 1, 1)``."""

    name: str = "global avg pool"


@dataclass(frozen=True)
class ReLU:
    name: str = "relu"


@dataclass(frozen=True)
class LRN:
    """Local response normalisation (AlexNet's "NORM" layers): no parameters."""

    name: str = "norm"


@dataclass(frozen=True)
class Flatten:
    name: str = "flatten"


@dataclass(frozen=True)
class Dense:
    units: int
    relu: bool = False
    bias: bool = True
    name: str = "fc"


@dataclass(frozen=True)
class Branches:
    """Parallel paths over the same input, concatenated along channels (Inception)."""

    branches: tuple[tuple[object, ...], ...]
    name: str = "inception"


@dataclass(frozen=True)
class Residual:
    """``H(x) = F(x) + x``: ``main`` is F, ``shortcut`` is () for identity or a projection."""

    main: tuple[object, ...]
    shortcut: tuple[object, ...] = ()
    name: str = "residual block"


# --- The networks ---------------------------------------------------------------
# Each builder returns (input_shape, layers). The torchvision ones match
# torchvision.models layer for layer (Dropout and identity pools left out: they
# have no parameters and do not change the shape).


def _bn_conv(filters: int, kernel: int, stride: int = 1, padding: int = 0, *,
             name: str, relu: bool = True) -> Conv:
    """torchvision's conv + BatchNorm: the conv has no bias (BN's shift replaces it)."""
    return Conv(filters, kernel, stride, padding, bias=False, batchnorm=True, relu=relu, name=name)


def lenet5():
    """ConvLab's LeNet-5 for 28x28 MNIST digits: 5x5 convs (the first padded by 2, which
    gives the 28x28x6 maps the 1998 paper got from 32x32 inputs unpadded), 2x2 pools, and
    fully connected layers throughout."""
    return (1, 28, 28), (
        Conv(6, 5, padding=2, name="conv1"), Pool(2, name="pool1"),
        Conv(16, 5, name="conv2"), Pool(2, name="pool2"),
        Flatten(), Dense(120, relu=True, name="fc1"), Dense(84, relu=True, name="fc2"),
        Dense(10, name="fc3"),
    )


def alexnet():
    """torchvision's AlexNet (the single-GPU "one weird trick" widths), 224x224 input."""
    return (3, 224, 224), (
        Conv(64, 11, 4, 2, name="conv1"), Pool(3, 2, name="pool1"),
        Conv(192, 5, padding=2, name="conv2"), Pool(3, 2, name="pool2"),
        Conv(384, 3, padding=1, name="conv3"), Conv(256, 3, padding=1, name="conv4"),
        Conv(256, 3, padding=1, name="conv5"), Pool(3, 2, name="pool3"),
        Flatten(), Dense(4096, relu=True, name="fc6"), Dense(4096, relu=True, name="fc7"),
        Dense(1000, name="fc8"),
    )


def alexnet_paper(groups: int = 2):
    """The 2012 paper's AlexNet as the course tells it: 227x227 input, LRN ("NORM") layers,
    conv2/4/5 split in ``groups`` halves across two GPUs (``groups=1``: one tower). The
    course puts each NORM after its pool (as Caffe's reference model does); the paper
    (Sec. 3.5) normalises before pooling: same parameters, larger NORM outputs."""
    return (3, 227, 227), (
        Conv(96, 11, 4, name="conv1"), Pool(3, 2, name="pool1"), LRN(name="norm1"),
        Conv(256, 5, padding=2, groups=groups, name="conv2"), Pool(3, 2, name="pool2"),
        LRN(name="norm2"),
        Conv(384, 3, padding=1, name="conv3"),
        Conv(384, 3, padding=1, groups=groups, name="conv4"),
        Conv(256, 3, padding=1, groups=groups, name="conv5"), Pool(3, 2, name="pool3"),
        Flatten(), Dense(4096, relu=True, name="fc6"), Dense(4096, relu=True, name="fc7"),
        Dense(1000, name="fc8"),
    )


def _vgg(convs_per_stage: tuple[int, ...]):
    layers: list[object] = []
    for stage, (n, width) in enumerate(zip(convs_per_stage, (64, 128, 256, 512, 512), strict=True), 1):
        layers += [Conv(width, 3, padding=1, name=f"conv{stage}_{i}") for i in range(1, n + 1)]
        layers.append(Pool(2, name=f"pool{stage}"))
    layers += [Flatten(), Dense(4096, relu=True, name="fc6"), Dense(4096, relu=True, name="fc7"),
               Dense(1000, name="fc8")]
    return (3, 224, 224), tuple(layers)


def vgg16():
    return _vgg((2, 2, 3, 3, 3))


def vgg19():
    return _vgg((2, 2, 4, 4, 4))


def _inception(name: str, c1: int, c3r: int, c3: int, c5r: int, c5: int, proj: int,
               paper: bool) -> Branches:
    def conv(f: int, k: int, nm: str) -> Conv:
        return Conv(f, k, padding=k // 2, name=nm) if paper else _bn_conv(f, k, padding=k // 2, name=nm)

    k5 = 5 if paper else 3  # torchvision's "5x5" branch is a 3x3 conv
    return Branches((
        (conv(c1, 1, "1x1"),),
        (conv(c3r, 1, "3x3 reduce"), conv(c3, 3, "3x3")),
        (conv(c5r, 1, "5x5 reduce"), conv(c5, k5, "5x5" if paper else "5x5 branch (3x3)")),
        (Pool(3, 1, 1, ceil_mode=True, name="pool 3x3"), conv(proj, 1, "pool proj")),
    ), name=name)


_INCEPTIONS = {  # name: (1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj), Table 1 of the paper
    "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64), "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128), "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}


def googlenet(paper: bool = False):
    """torchvision's GoogLeNet without the auxiliary heads (conv + BatchNorm, 3x3 "5x5"
    branches); ``paper=True``: the 2014 paper's convs with biases, 5x5 branches, no BN, and
    its two local response normalisations (Szegedy et al. 2015, Figure 3)."""
    def conv(f: int, k: int, s: int = 1, p: int = 0, *, name: str) -> Conv:
        return Conv(f, k, s, p, name=name) if paper else _bn_conv(f, k, s, p, name=name)

    def inc(key: str) -> Branches:
        return _inception(f"inception{key}", *_INCEPTIONS[key], paper=paper)

    norm1 = (LRN(name="norm1"),) if paper else ()  # the paper's Figure 3 (torchvision: none)
    norm2 = (LRN(name="norm2"),) if paper else ()
    return (3, 224, 224), (
        conv(64, 7, 2, 3, name="conv1"), Pool(3, 2, ceil_mode=True, name="pool1"), *norm1,
        conv(64, 1, name="conv2"), conv(192, 3, p=1, name="conv3"), *norm2,
        Pool(3, 2, ceil_mode=True, name="pool2"),
        inc("3a"), inc("3b"), Pool(3, 2, ceil_mode=True, name="pool3"),
        inc("4a"), inc("4b"), inc("4c"), inc("4d"), inc("4e"),
        Pool(2, 2, ceil_mode=True, name="pool4"),
        inc("5a"), inc("5b"), GlobalAvgPool(name="avgpool"), Flatten(), Dense(1000, name="fc"),
    )


_RESNETS = {18: ((2, 2, 2, 2), False), 34: ((3, 4, 6, 3), False),
            50: ((3, 4, 6, 3), True), 101: ((3, 4, 23, 3), True), 152: ((3, 8, 36, 3), True)}


def residual_block(in_c: int, planes: int, stride: int, bottleneck: bool, name: str,
                   v15: bool = True) -> Residual:
    """torchvision's BasicBlock (two 3x3) or Bottleneck (1x1, 3x3, 1x1 to 4x planes; the
    stride on the 3x3 as torchvision's "v1.5", on the first 1x1 with ``v15=False`` as the
    2015 paper); a 1x1 projection shortcut when the shape changes."""
    out_c = planes * 4 if bottleneck else planes
    main: tuple[Conv, ...]
    if bottleneck:
        s1, s3 = (1, stride) if v15 else (stride, 1)
        main = (_bn_conv(planes, 1, s1, name="conv1 1x1"),
                _bn_conv(planes, 3, s3, 1, name="conv2 3x3"),
                _bn_conv(out_c, 1, name="conv3 1x1", relu=False))
    else:
        main = (_bn_conv(planes, 3, stride, 1, name="conv1 3x3"),
                _bn_conv(planes, 3, 1, 1, name="conv2 3x3", relu=False))
    shortcut: tuple[Conv, ...] = ()
    if stride != 1 or in_c != out_c:
        shortcut = (_bn_conv(out_c, 1, stride, name="downsample 1x1", relu=False),)
    return Residual(main, shortcut, name=name)


def resnet(depth: int, v15: bool = True):
    blocks, bottleneck = _RESNETS[depth]
    layers: list[object] = [_bn_conv(64, 7, 2, 3, name="conv1"), Pool(3, 2, 1, name="maxpool")]
    in_c = 64
    for stage, (n, planes) in enumerate(zip(blocks, (64, 128, 256, 512), strict=True), 1):
        for i in range(n):
            stride = 2 if stage > 1 and i == 0 else 1
            layers.append(residual_block(in_c, planes, stride, bottleneck, f"layer{stage}.{i}", v15))
            in_c = planes * 4 if bottleneck else planes
    layers += [GlobalAvgPool(name="avgpool"), Flatten(), Dense(1000, name="fc")]
    return (3, 224, 224), tuple(layers)


#: The case studies, by the name the API uses.
ARCHITECTURES = {
    "lenet5": lenet5,
    "alexnet": alexnet,
    "vgg16": vgg16,
    "vgg19": vgg19,
    "googlenet": googlenet,
    "resnet18": lambda: resnet(18),
    "resnet34": lambda: resnet(34),
    "resnet50": lambda: resnet(50),
    "resnet152": lambda: resnet(152),
}

#: Variants the pages compare against (the papers' own layouts).
VARIANTS = {
    "alexnet_paper": alexnet_paper,
    "alexnet_one_tower": lambda: alexnet_paper(groups=1),
    "googlenet_paper": lambda: googlenet(paper=True),
    "resnet50_v1": lambda: resnet(50, v15=False),
    "resnet152_v1": lambda: resnet(152, v15=False),
}
