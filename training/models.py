"""The four ConvLab networks in PyTorch, and what turns them into export-ready graphs.

Every network is an ``nn.Sequential`` tree, except ``cifar10-net``'s residual blocks,
whose submodules are declared in execution order too; so module order is execution
order everywhere. Each network returns logits. :func:`for_export` folds batch norm into
the convolutions, removes dropout, folds constant scales into the last layer and appends the softmax (and, for
``cifar10-net``, the horizontal-flip test-time augmentation). The exported graph then
uses only Conv, Relu, Erf/Mul/Add (GELU), MaxPool, GlobalAveragePool, Gemm/MatMul,
Flatten, Add, Mul and Softmax.
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn

from training.specs import get_spec


class GELU(nn.Module):
    """Exact (erf) GELU; exported as ``x * (0.5 * (erf(x * 1/sqrt(2)) + 1))`` (Mul, Erf, Add).

    ``nn.GELU`` exports a ``Div``; this form uses only ops the NumPy engine runs.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.onnx.is_in_onnx_export():
            return x * ((torch.erf(x * (1.0 / math.sqrt(2.0))) + 1.0) * 0.5)
        return F.gelu(x)


class Scale(nn.Module):
    """Multiply by a constant (airbench's 1/9 output scale); folded away at export."""

    def __init__(self, factor: float):
        super().__init__()
        self.factor = float(factor)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor

    def extra_repr(self) -> str:
        return f"factor={self.factor:.6g}"


class HFlip(nn.Module):
    """Mirror the last axis as a MatMul: ``x @ J``, J the (W, W) anti-identity."""

    def __init__(self, width: int):
        super().__init__()
        self.register_buffer("matrix", torch.eye(width).flip(0), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.matmul(x, self.matrix)


class FlipTTA(nn.Module):
    """``softmax((net(x) + net(x @ J)) / 2)``: horizontal-flip test-time augmentation."""

    def __init__(self, net: nn.Module, width: int):
        super().__init__()
        self.net = net
        self.flip = HFlip(width)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.softmax((self.net(x) + self.net(self.flip(x))) * 0.5)


# ------------------------------------------------------------------------- networks

def mnist_mlp() -> nn.Sequential:
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Dropout(0.2),
                        nn.Linear(512, 10))
    for m in net.modules():  # Keras Dense defaults: Glorot-uniform kernel, zero bias
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    return net


def lenet5() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),   # 6 x 14 x 14
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),             # 16 x 5 x 5
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10),
    )


def _conv_bn_relu(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


def mnist_cnn() -> nn.Sequential:
    return nn.Sequential(
        *_conv_bn_relu(1, 32), *_conv_bn_relu(32, 32), nn.MaxPool2d(2),     # 32 x 14 x 14
        *_conv_bn_relu(32, 64), *_conv_bn_relu(64, 64), nn.MaxPool2d(2),    # 64 x 7 x 7
        *_conv_bn_relu(64, 128), *_conv_bn_relu(128, 128),                  # 128 x 7 x 7
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10),
    )


def _airbench_conv(cin: int, cout: int) -> nn.Conv2d:
    conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
    with torch.no_grad():  # identity init of the first cin filters: an implicit residual
        nn.init.dirac_(conv.weight[:cin])
    return conv


def _airbench_bn(channels: int) -> nn.BatchNorm2d:
    # airbench: running-stat momentum 0.4 (its "0.6"), eps 1e-12, scale frozen at 1
    bn = nn.BatchNorm2d(channels, eps=1e-12, momentum=0.4)
    bn.weight.requires_grad_(False)
    return bn


def _airbench_group(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(_airbench_conv(cin, cout), nn.MaxPool2d(2), _airbench_bn(cout), GELU(),
                         _airbench_conv(cout, cout), _airbench_bn(cout), GELU())


class ResidualGroup(nn.Module):
    """airbench96's block: conv -> 2x2 max pool -> BN -> GELU, then conv -> BN -> GELU ->
    conv -> BN, added to that first output (the skip connection), then GELU.

    Submodules are declared in execution order, so batch norm folds as in a chain.
    """

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.first = nn.Sequential(_airbench_conv(cin, cout), nn.MaxPool2d(2),
                                   _airbench_bn(cout), GELU())
        self.body = nn.Sequential(_airbench_conv(cout, cout), _airbench_bn(cout), GELU(),
                                  _airbench_conv(cout, cout), _airbench_bn(cout))
        self.act = GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.first(x)
        return self.act(x + self.body(x))


def cifar10_net(widths: tuple[int, int, int] = (64, 256, 256),
                residual: bool = False) -> nn.Sequential:
    """airbench94's layout; ``residual`` swaps in airbench96's three-conv residual blocks."""
    group = ResidualGroup if residual else _airbench_group
    whiten = nn.Conv2d(3, 24, 2, padding=0, bias=True)   # weights set by whitening_init
    whiten.weight.requires_grad_(False)
    nn.init.zeros_(whiten.bias)
    return nn.Sequential(
        whiten, GELU(),                                   # 24 x 31 x 31
        group(24, widths[0]),                             # 64 x 15 x 15
        group(widths[0], widths[1]),                      # 256 x 7 x 7
        group(widths[1], widths[2]),                      # 256 x 3 x 3
        nn.MaxPool2d(3), nn.Flatten(),                    # 256
        nn.Linear(widths[2], 10, bias=False), Scale(1 / 9),
    )


BUILDERS = {"mnist-mlp": mnist_mlp, "lenet5": lenet5, "mnist-cnn": mnist_cnn,
            "cifar10-net": cifar10_net}


def build_model(name: str, **arch) -> nn.Sequential:
    """The untrained network; ``arch`` goes to its builder (``cifar10-net``: ``residual``),
    and what it leaves out comes from the recipe's defaults."""
    from training.hyperparams import TUNABLE

    get_spec(name)  # a clear error for an unknown name
    return BUILDERS[name](**{**architecture_options(name, TUNABLE.get(name)), **arch})


def architecture_options(name: str, hyperparameters: dict | None) -> dict:
    """The ``build_model`` keywords that a run's hyperparameters imply.

    ``cifar10-net``'s ``residual`` hyperparameter picks its blocks. A checkpoint from
    before that option existed has no ``residual`` entry and gets airbench94's plain
    blocks.
    """
    if name != "cifar10-net":
        return {}
    return {"residual": bool((hyperparameters or {}).get("residual", 0))}


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


# ---------------------------------------------------------------------- export forms

@torch.no_grad()
def _fold(conv: nn.Conv2d, bn: nn.BatchNorm2d, across_pool: bool) -> nn.Conv2d:
    """A Conv2d computing ``bn(conv(x))`` (eval mode): W' = a W, b' = a b + (beta - a mu)."""
    a = (bn.weight if bn.affine else torch.ones_like(bn.running_var)) / torch.sqrt(
        bn.running_var + bn.eps)
    shift = (bn.bias if bn.affine else torch.zeros_like(a)) - a * bn.running_mean
    if across_pool and not bool((a > 0).all()):
        raise ValueError("cannot fold batch norm across a max pool: a channel scale is <= 0 "
                         f"(min {float(a.min()):.3g}); max(a*y) = a*max(y) needs a > 0")
    fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                      conv.padding, conv.dilation, conv.groups, bias=True,
                      device=conv.weight.device, dtype=conv.weight.dtype)
    bias = conv.bias if conv.bias is not None else torch.zeros_like(a)
    fused.weight.copy_(conv.weight * a.reshape(-1, 1, 1, 1))
    fused.bias.copy_(bias * a + shift)
    fused.weight.requires_grad_(conv.weight.requires_grad)
    return fused


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """A copy of ``model`` (eval mode) with every BatchNorm2d folded into the conv before it.

    Walks the leaves in module order (= execution order for nested ``nn.Sequential``);
    between the conv and its batch norm only max pooling may stand, which commutes with
    a per-channel affine map whose scale is positive. The batch norm becomes
    ``nn.Identity`` (which exports to nothing). Raises ``ValueError`` otherwise.
    """
    model = copy.deepcopy(model).eval()
    parents = {id(child): (parent, name) for parent in model.modules()
               for name, child in parent.named_children()}
    conv, between = None, []
    for module in list(model.modules()):
        if list(module.children()):
            continue
        if isinstance(module, nn.Conv2d):
            conv, between = module, []
        elif isinstance(module, nn.BatchNorm2d):
            if conv is None or any(not isinstance(m, nn.MaxPool2d) for m in between):
                raise ValueError(f"batch norm {module} does not follow a conv (only max pooling "
                                 f"may stand between them; found {between})")
            fused = _fold(conv, module, across_pool=bool(between))
            for old, new in ((conv, fused), (module, nn.Identity())):
                parent, name = parents[id(old)]
                setattr(parent, name, new)
            conv = None
        elif not isinstance(module, nn.Identity | nn.Dropout):
            between.append(module)
    return model


def _fold_output_scale(model: nn.Sequential) -> nn.Sequential:
    """Fold a trailing ``Linear -> Scale`` into the Linear's weights (and bias)."""
    mods = list(model.children())
    if len(mods) >= 2 and isinstance(mods[-1], Scale) and isinstance(mods[-2], nn.Linear):
        with torch.no_grad():
            mods[-2].weight.mul_(mods[-1].factor)
            if mods[-2].bias is not None:
                mods[-2].bias.mul_(mods[-1].factor)
        return nn.Sequential(*mods[:-1])
    return model


def for_export(name: str, model: nn.Module) -> nn.Module:
    """The eval-mode graph that is exported: folded, dropout-free, ending in softmax."""
    net = fold_batchnorm(model)
    net = nn.Sequential(*[m for m in net.children() if not isinstance(m, nn.Dropout | nn.Identity)])
    net = _fold_output_scale(net)
    if name == "cifar10-net":
        return FlipTTA(net, get_spec(name).shape[-1]).eval()
    return nn.Sequential(net, nn.Softmax(dim=1)).eval()
