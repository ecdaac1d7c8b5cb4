"""How each model is trained: the MNIST recipes and the airbench94 recipe for CIFAR-10.

``fit(name, x_train, y_train, x_val, y_val, epochs, device, epoch_log)`` takes float
tensors in [0, 1], NCHW, already on ``device``; mean/std normalisation happens here
(after augmentation, so that the augmentation's zero padding is the black background).
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from training.augment import random_affine, random_cutout, random_flip, random_translate
from training.hyperparams import AIRBENCH, check_overrides
from training.models import architecture_options, build_model, count_parameters
from training.progress import ProgressBar
from training.specs import get_spec
from training.train import EpochLog, evaluate_logits


def _normalizer(name: str, device: torch.device):
    spec = get_spec(name)
    mean = torch.tensor(spec.mean, device=device).view(1, -1, 1, 1)
    std = torch.tensor(spec.std, device=device).view(1, -1, 1, 1)
    return lambda x: (x - mean) / std


# --------------------------------------------------------------------------- MNIST

MNIST_AUG = {"lenet5": (8.0, 0.08, 2.0), "mnist-cnn": (12.0, 0.12, 3.0)}  # degrees, scale, px


def _mnist_optimizer(name: str, model: nn.Module, steps: int, steps_per_epoch: int):
    """Optimiser and per-step LR multiplier (see ``ModelSpec.recipe``)."""
    if name == "mnist-mlp":
        return torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7), lambda s: 1.0
    if name == "lenet5":
        opt = torch.optim.Adam(model.parameters(), lr=2e-3, weight_decay=5e-5)
        return opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps))
    warm = min(2 * steps_per_epoch, steps // 4)
    decay = [p for p in model.parameters() if p.ndim > 1]
    rest = [p for p in model.parameters() if p.ndim <= 1]  # no weight decay on BN and biases
    opt = torch.optim.SGD([{"params": decay, "weight_decay": 5e-4},
                           {"params": rest, "weight_decay": 0.0}],
                          lr=0.1, momentum=0.9, nesterov=True)

    def one_cycle(s: int) -> float:
        if s < warm:
            return (s + 1) / warm
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (s - warm) / max(1, steps - warm))))

    return opt, one_cycle


def fit_mnist(name, x_tr, y_tr, x_va, y_va, epochs, device, epoch_log: EpochLog):
    spec = get_spec(name)
    model = build_model(name).to(device)
    if name != "mnist-mlp":
        model = model.to(memory_format=torch.channels_last)
    norm = _normalizer(name, device)
    n, bs = len(x_tr), spec.batch_size
    steps_per_epoch = math.ceil(n / bs)  # keep the last partial batch, as Keras does
    total = steps_per_epoch * epochs
    opt, mult = _mnist_optimizer(name, model, total, steps_per_epoch)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, mult)
    smoothing = 0.1 if name == "mnist-cnn" else 0.0
    aug = MNIST_AUG.get(name)
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        model.train()
        bar = ProgressBar(steps_per_epoch, f"{name} {epoch}/{epochs}")
        perm = torch.randperm(n, device=device)
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        for i in range(steps_per_epoch):
            idx = perm[i * bs:(i + 1) * bs]
            xb, yb = x_tr[idx], y_tr[idx]
            if aug is not None:
                xb = random_affine(xb, *aug)
            out = model(norm(xb).contiguous(memory_format=torch.channels_last))
            loss = F.cross_entropy(out, yb, label_smoothing=smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.detach() * len(yb)
            correct += (out.detach().argmax(1) == yb).sum()
            if bar.enabled:
                bar.update(i + 1, loss=float(loss))
        bar.close()
        val_loss, val_acc = evaluate_logits(model, x_va, y_va, norm)
        epoch_log.add(epoch, time.perf_counter() - t0, float(loss_sum) / n, float(correct) / n,
                      val_loss, val_acc, opt.param_groups[0]["lr"])
        if epoch_log.out_of_time():
            break
    extra = {"parameters_trainable": count_parameters(model, trainable_only=True),
             "augmentation": (None if aug is None else
                              {"rotation_degrees": aug[0], "scale": aug[1], "shift_px": aug[2]}),
             "label_smoothing": smoothing}
    return model, extra


# ------------------------------------------------------- CIFAR-10 (airbench94/96)

@torch.no_grad()
def whitening_init(conv: nn.Conv2d, images: torch.Tensor, eps: float = 5e-4) -> None:
    """Set ``conv`` (2k filters of c x h x w, k = c*h*w) to patch whitening.

    Filters are the eigenvectors of the (uncentred) covariance of all h x w patches of
    ``images``, each divided by sqrt(eigenvalue + eps), largest eigenvalue first, then the
    same filters negated (so GELU keeps both signs of each whitened component).
    """
    c, h, w = conv.weight.shape[1:]
    patches = images.float().unfold(2, h, 1).unfold(3, w, 1)        # N, C, H', W', h, w
    flat = patches.permute(0, 2, 3, 1, 4, 5).reshape(-1, c * h * w)  # per patch: (c, h, w)
    flat = flat.double()  # float64 (and no TF32 on GPUs): the small eigenvalues matter
    cov = (flat.T @ flat).cpu() / len(flat)
    evals, evecs = torch.linalg.eigh(cov)                            # ascending
    evals, evecs = evals.flip(0), evecs.T.flip(0)                    # rows = eigenvectors
    filters = (evecs / torch.sqrt(evals + eps)[:, None]).reshape(c * h * w, c, h, w)
    conv.weight.copy_(torch.cat([filters, -filters]).to(conv.weight))  # dtype and device


class Lookahead:
    """EMA of all float state (weights and BN statistics), copied back into the model."""

    def __init__(self, model: nn.Module):
        self.ema = {k: v.detach().clone() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self, model: nn.Module, decay: float) -> None:
        for (_, ema), param in zip(self.ema.items(), model.state_dict().values(), strict=True):
            if param.is_floating_point():
                ema.lerp_(param, 1 - decay)
                param.copy_(ema)


def triangle(step: int, total: int, start: float = 0.2, peak: float = 0.23, end: float = 0.07) -> float:
    """LR multiplier: linear from ``start`` to 1 at ``peak`` of training, then down to ``end``."""
    return float(np.interp(step, [0, int(peak * total), total], [start, 1.0, end]))


def fit_cifar(name, x_tr, y_tr, x_va, y_va, epochs, device, epoch_log: EpochLog,
              overrides: dict | None = None):
    """airbench94's training (with airbench96's residual blocks when ``residual``) in
    bfloat16 autocast on CPU and GPU alike (2x faster than float32 on CPU).

    ``overrides`` replaces entries of ``AIRBENCH`` (see ``check_overrides``).
    """
    hp, spec = {**AIRBENCH, **(overrides or {})}, get_spec(name)
    model = build_model(name, **architecture_options(name, hp)).to(device).to(
        memory_format=torch.channels_last)
    norm = _normalizer(name, device)
    whiten = model[0]
    whitening_init(whiten, norm(x_tr[:hp["whiten_images"]]), hp["whiten_eps"])

    bs = spec.batch_size
    n = len(x_tr)
    steps_per_epoch = max(1, n // bs)   # drop the last partial batch (airbench)
    bs = min(bs, n)
    total = steps_per_epoch * epochs
    # Decoupled hyperparameters: lr and wd per 1024 examples, independent of momentum.
    kilostep = 1024 * (1 + 1 / (1 - hp["momentum"]))
    lr = hp["lr"] / kilostep
    wd = hp["weight_decay"] * bs / kilostep
    lr_bias = lr * hp["bias_scaler"]
    bn_biases = [m.bias for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    ids = {id(p) for p in bn_biases}
    others = [p for p in model.parameters() if p.requires_grad and id(p) not in ids]
    opt = torch.optim.SGD([{"params": bn_biases, "lr": lr_bias, "weight_decay": wd / lr_bias},
                           {"params": others, "lr": lr, "weight_decay": wd / lr}],
                          momentum=hp["momentum"], nesterov=True)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: triangle(s, total))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=hp["label_smoothing"], reduction="none")

    # Augmentation state (airbench): flip a random half once, then mirror the whole set
    # every other epoch (each image is seen both ways in consecutive epochs); translate by
    # cropping a reflection-padded copy.
    base = random_flip(norm(x_tr))
    pad = hp["translate"]
    padded = F.pad(base, (pad,) * 4, mode="reflect") if pad else base
    del base
    lookahead, step = None, 0
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        whiten.bias.requires_grad_(epoch <= hp["whiten_bias_epochs"])
        images = random_translate(padded, x_tr.shape[-1]) if pad else padded
        if epoch % 2 == 0:
            images = images.flip(-1)
        if hp["cutout"]:
            images = random_cutout(images, hp["cutout"])
        images = images.contiguous(memory_format=torch.channels_last)
        perm = torch.randperm(n, device=device)
        model.train()
        bar = ProgressBar(steps_per_epoch, f"{name} {epoch}/{epochs}")
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        for i in range(steps_per_epoch):
            idx = perm[i * bs:(i + 1) * bs]
            xb, yb = images[idx].contiguous(memory_format=torch.channels_last), y_tr[idx]
            with torch.autocast(device.type, dtype=torch.bfloat16):
                out = model(xb)
            loss = loss_fn(out.float(), yb).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            loss_sum += loss.detach()
            correct += (out.detach().argmax(1) == yb).sum()
            if epoch > hp["ema_start_epoch"] and step % hp["ema_every"] == 0:
                if lookahead is None:
                    lookahead = Lookahead(model)
                else:  # the EMA's decay grows over training: move fast, then average
                    rho = hp["ema_decay_base"] ** hp["ema_every"] * (step / total) ** hp["ema_decay_pow"]
                    lookahead.update(model, rho)
            if bar.enabled:
                bar.update(i + 1, loss=float(loss) / len(yb))
        bar.close()
        if lookahead is not None:
            lookahead.update(model, 1.0)  # copy the averaged weights back for evaluation
        seen = steps_per_epoch * bs
        val_loss, val_acc = evaluate_logits(model, x_va, y_va, lambda x: norm(x).contiguous(
            memory_format=torch.channels_last), bf16=True)
        epoch_log.add(epoch, time.perf_counter() - t0, float(loss_sum) / seen, float(correct) / seen,
                      val_loss, val_acc, opt.param_groups[1]["lr"] * kilostep)
        if epoch_log.out_of_time():
            break
    del padded
    extra = {"parameters_trainable": count_parameters(model, trainable_only=True),
             "augmentation": {"flip": "alternating", "translate_px": hp["translate"],
                              **({"cutout_px": hp["cutout"]} if hp["cutout"] else {})},
             "hyperparameters": dict(hp), "label_smoothing": hp["label_smoothing"],
             "precision": "bfloat16 autocast (convolutions and matmuls), float32 weights"}
    return model, extra


def fit(name, x_tr, y_tr, x_va, y_va, epochs, device, epoch_log, overrides: dict | None = None):
    """Train the model called ``name``; returns ``(model, extra metadata)``.

    ``overrides``: hyperparameters changed from the recipe (``check_overrides``).
    """
    check_overrides(name, overrides or {})  # the same checks as on the command line
    if get_spec(name).dataset == "cifar10":
        return fit_cifar(name, x_tr, y_tr, x_va, y_va, epochs, device, epoch_log, overrides)
    return fit_mnist(name, x_tr, y_tr, x_va, y_va, epochs, device, epoch_log)
