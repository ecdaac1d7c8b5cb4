"""A recipe's network on the engine's ops: parameter shapes, initialisation, forward, backward.

Parameters are a flat ``{name: array}`` dict named as PyTorch names them
(``conv1.weight``, ``bn1.bias``, ``res1.conv_a.weight``, ...), in the order the network
uses them, so the generated PyTorch code has the same count and the ONNX export the same
names. Batch-norm running statistics are *buffers* (``bn1.running_mean``), updated in
place by a training forward pass.

Initialisation is PyTorch's default for ``Conv2d`` and ``Linear``: weights and biases
uniform in ``+-1/sqrt(fan_in)``; batch norm starts at gamma = 1, beta = 0, running mean
0 and variance 1. Everything is float32.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from course.learn.recipes import Config, Layer, layers
from engine import registry
from engine.ops.batchnorm import batchnorm_backward, batchnorm_forward
from engine.ops.conv import conv2d_backward, conv2d_forward, conv2d_param_grads
from engine.ops.dense import dense_backward, dense_forward
from engine.ops.dropout import dropout_backward, dropout_forward
from engine.ops.pool import maxpool2d_backward, maxpool2d_forward

__all__ = ["BN_EPSILON", "BN_MOMENTUM", "Net", "init_params", "param_shapes"]

BN_MOMENTUM = 0.9  # ONNX convention: running = running * 0.9 + batch * 0.1
BN_EPSILON = 1e-5

Shapes = dict[str, tuple[int, ...]]


def _conv_shapes(prefix: str, c_in: int, filters: int, kernel: int, params: Shapes) -> None:
    params[prefix + ".weight"] = (filters, c_in, kernel, kernel)
    params[prefix + ".bias"] = (filters,)


def _bn_shapes(prefix: str, c: int, params: Shapes, buffers: Shapes) -> None:
    params[prefix + ".weight"] = (c,)
    params[prefix + ".bias"] = (c,)
    buffers[prefix + ".running_mean"] = (c,)
    buffers[prefix + ".running_var"] = (c,)


def param_shapes(config: Config) -> tuple[Shapes, Shapes, list[tuple[int, ...]]]:
    """``(params, buffers, outputs)``: parameter and buffer shapes by name, and the
    shape of one image's activations after each layer of :func:`layers`."""
    from course.learn.recipes import DATASETS

    shape: tuple[int, ...] = DATASETS[config.dataset].shape
    params: Shapes = {}
    buffers: Shapes = {}
    outputs = []
    for layer in layers(config):
        if layer.kind == "conv":
            c, h, w = shape
            _conv_shapes(layer.name, c, layer.units, layer.kernel, params)
            size = (h + 2 * layer.pad - layer.kernel + 1, w + 2 * layer.pad - layer.kernel + 1)
            if min(size) < 1:
                raise ValueError(f"{layer.name}: input {shape} is too small for a "
                                 f"{layer.kernel}x{layer.kernel} kernel")
            shape = (layer.units, *size)
        elif layer.kind == "bn":
            _bn_shapes(layer.name, shape[0], params, buffers)
        elif layer.kind == "pool":
            c, h, w = shape
            shape = (c, h // layer.kernel, w // layer.kernel)
            if min(shape) < 1:
                raise ValueError(f"pool {layer.kernel}: input {(c, h, w)} is too small")
        elif layer.kind == "residual":
            for part in ("a", "b"):
                _conv_shapes(f"{layer.name}.conv_{part}", shape[0], shape[0], 3, params)
                if layer.bn:
                    _bn_shapes(f"{layer.name}.bn_{part}", shape[0], params, buffers)
        elif layer.kind == "flatten":
            shape = (math.prod(shape),)
        elif layer.kind == "dense":
            params[layer.name + ".weight"] = (layer.units, shape[0])
            params[layer.name + ".bias"] = (layer.units,)
            shape = (layer.units,)
        outputs.append(shape)
    return params, buffers, outputs


def init_params(config: Config) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Fresh float32 parameters and buffers; the same ``config.seed`` gives the same bits."""
    shapes, buffer_shapes, _ = param_shapes(config)
    rng = np.random.default_rng([config.seed, 0])
    params = {}
    for name, shape in shapes.items():
        module, kind = name.rsplit(".", 1)
        if module.rsplit(".", 1)[-1].startswith("bn"):
            value = np.ones(shape) if kind == "weight" else np.zeros(shape)
        else:
            weight = shapes[module + ".weight"]
            bound = 1.0 / math.sqrt(math.prod(weight[1:]))
            value = rng.uniform(-bound, bound, shape)
        params[name] = value.astype(np.float32)
    buffers = {
        name: (np.zeros(s) if name.endswith("mean") else np.ones(s)).astype(np.float32)
        for name, s in buffer_shapes.items()
    }
    return params, buffers


class Net:
    """Forward and backward passes of ``config``'s network (see :func:`layers`)."""

    def __init__(self, config: Config):
        self.config = config
        self.layers = layers(config)
        act = registry.activation(config.activation)
        self._act_f, self._act_b = act.forward, act.backward

    # -- forward -------------------------------------------------------------------------
    def forward(
        self,
        params: dict[str, np.ndarray],
        buffers: dict[str, np.ndarray],
        x: np.ndarray,
        *,
        train: bool,
        rng: np.random.Generator | None = None,
        keep: list[np.ndarray] | None = None,
    ) -> tuple[np.ndarray, list[Any]]:
        """Logits ``(N, 10)`` and the caches for :meth:`backward`.

        ``train``: batch statistics (running ones updated in ``buffers`` in place) and
        dropout drawn from ``rng``. ``keep``: a list that receives every layer's output.
        """
        caches = []
        for layer in self.layers:
            x, cache = self._forward_one(layer, params, buffers, x, train, rng)
            caches.append(cache)
            if keep is not None:
                keep.append(x)
        return x, caches

    def _bn(self, name, params, buffers, x, train):
        mean, var = buffers[name + ".running_mean"], buffers[name + ".running_var"]
        out, cache, (new_mean, new_var) = batchnorm_forward(
            x, params[name + ".weight"], params[name + ".bias"], mean, var,
            training=train, momentum=BN_MOMENTUM, epsilon=BN_EPSILON,
        )
        if train:
            mean[...] = new_mean
            var[...] = new_var
        return out, cache

    def _forward_one(self, layer: Layer, params, buffers, x, train, rng):
        kind, name = layer.kind, layer.name
        if kind == "conv":
            p = (layer.pad,) * 4
            return conv2d_forward(x, params[name + ".weight"], params[name + ".bias"], pads=p)
        if kind == "bn":
            return self._bn(name, params, buffers, x, train)
        if kind == "act":
            return self._act_f(x)
        if kind == "pool":
            k = (layer.kernel, layer.kernel)
            return maxpool2d_forward(x, kernel_shape=k, strides=k)
        if kind == "flatten":
            return x.reshape(x.shape[0], -1), x.shape
        if kind == "dropout":
            return dropout_forward(x, layer.rate, training=train, rng=rng)
        if kind == "dense":
            return dense_forward(x, params[name + ".weight"], params[name + ".bias"])
        if kind == "residual":
            return self._residual_forward(layer, params, buffers, x, train)
        raise ValueError(f"unknown layer kind {kind!r}")

    def _residual_forward(self, layer, params, buffers, x, train):
        caches = []
        h = x
        for part in ("a", "b"):
            conv = f"{layer.name}.conv_{part}"
            h, c = conv2d_forward(h, params[conv + ".weight"], params[conv + ".bias"],
                                  pads=(1, 1, 1, 1))
            caches.append(c)
            if layer.bn:
                h, c = self._bn(f"{layer.name}.bn_{part}", params, buffers, h, train)
                caches.append(c)
            if part == "a":
                h, c = self._act_f(h)
                caches.append(c)
        out, c = self._act_f(h + x)
        return out, (caches, c)

    # -- backward ------------------------------------------------------------------------
    def backward(self, caches: list[Any], dlogits: np.ndarray) -> dict[str, np.ndarray]:
        """Gradients of every parameter, given ``dL/dlogits`` and the forward's caches."""
        grads: dict[str, Any] = {}
        d = dlogits
        for i in range(len(self.layers) - 1, -1, -1):
            layer, cache = self.layers[i], caches[i]
            if i == 0 and layer.kind == "conv":  # the input needs no gradient
                grads[layer.name + ".weight"], grads[layer.name + ".bias"] = \
                    conv2d_param_grads(d, cache)
                break
            d = self._backward_one(layer, cache, d, grads)
        return grads

    def _backward_one(self, layer: Layer, cache, d, grads):
        kind, name = layer.kind, layer.name
        if kind == "conv":
            dx, grads[name + ".weight"], grads[name + ".bias"] = conv2d_backward(d, cache)
            return dx
        if kind == "bn":
            dx, grads[name + ".weight"], grads[name + ".bias"] = batchnorm_backward(d, cache)
            return dx
        if kind == "act":
            return self._act_b(d, cache)
        if kind == "pool":
            return maxpool2d_backward(d, cache)
        if kind == "flatten":
            return d.reshape(cache)
        if kind == "dropout":
            return dropout_backward(d, cache)
        if kind == "dense":
            dx, grads[name + ".weight"], grads[name + ".bias"] = dense_backward(d, cache)
            return dx
        if kind == "residual":
            caches, c_out = list(cache[0]), cache[1]
            ds = self._act_b(d, c_out)
            h = ds
            for part in ("b", "a"):
                if part == "a":
                    h = self._act_b(h, caches.pop())
                if layer.bn:
                    bn = f"{layer.name}.bn_{part}"
                    h, grads[bn + ".weight"], grads[bn + ".bias"] = batchnorm_backward(
                        h, caches.pop())
                conv = f"{layer.name}.conv_{part}"
                h, grads[conv + ".weight"], grads[conv + ".bias"] = conv2d_backward(
                    h, caches.pop())
            return h + ds
        raise ValueError(f"unknown layer kind {kind!r}")
