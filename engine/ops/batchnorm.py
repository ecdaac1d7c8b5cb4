"""Batch normalisation (ONNX ``BatchNormalization``), training and inference, with backward.

Input ``x`` is ``(N, C)`` (after a dense layer) or ``(N, C, H, W)`` (after a conv);
``scale`` (gamma), ``bias`` (beta), ``mean`` and ``var`` are ``(C,)``. Statistics are
taken per channel over every axis but the channel axis (``N`` and, for images, ``H, W``).

Training mode normalises with the batch's own mean and (biased) variance,

.. math::

    \\mu_c = \\frac{1}{M} \\sum x_c, \\quad \\sigma^2_c = \\frac{1}{M} \\sum (x_c - \\mu_c)^2,
    \\quad y = \\gamma_c \\frac{x - \\mu_c}{\\sqrt{\\sigma^2_c + \\epsilon}} + \\beta_c

and returns the updated running statistics as ONNX defines them:
``running = running * momentum + batch * (1 - momentum)`` (ONNX ``momentum`` 0.9 is
PyTorch's ``momentum=0.1``; the running variance here is the biased batch variance, as
the ONNX reference). Inference mode normalises with the running statistics instead,
so it is an affine map per channel.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from engine.ops.arrays import float_dtype

__all__ = ["BatchNormCache", "batchnorm_backward", "batchnorm_forward"]


class BatchNormCache(NamedTuple):
    """What :func:`batchnorm_backward` needs."""

    xhat: np.ndarray  # the normalised input (x - mu) / sqrt(var + eps)
    scale: np.ndarray  # gamma, (C,)
    inv_std: np.ndarray  # 1 / sqrt(var + eps), (C,)
    training: bool  # True: the statistics were the batch's own (and depend on x)


def _axes(x: np.ndarray) -> tuple[int, ...]:
    return (0,) if x.ndim == 2 else (0, 2, 3)


def _per_channel(v: np.ndarray, ndim: int) -> np.ndarray:
    return v if ndim == 2 else v[None, :, None, None]


def batchnorm_forward(
    x: np.ndarray,
    scale: np.ndarray,
    bias: np.ndarray,
    mean: np.ndarray,
    var: np.ndarray,
    *,
    training: bool = False,
    momentum: float = 0.9,
    epsilon: float = 1e-5,
) -> tuple[np.ndarray, BatchNormCache, tuple[np.ndarray, np.ndarray]]:
    """Normalise each channel, then scale and shift it.

    Parameters
    ----------
    x : ndarray, shape (N, C) or (N, C, H, W)
    scale, bias : ndarray, shape (C,)
        gamma and beta.
    mean, var : ndarray, shape (C,)
        Running statistics (used in inference mode, updated in training mode).
    training : bool
        Use the batch's statistics (and return updated running ones).
    momentum, epsilon : float
        As ONNX: ``running = running * momentum + batch * (1 - momentum)``.

    Returns
    -------
    out : ndarray, same shape as ``x``
    cache : BatchNormCache
    running : (ndarray, ndarray)
        The new running mean and variance (the given ones unchanged in inference mode).
    """
    x = np.asarray(x)
    if x.ndim not in (2, 4):
        raise ValueError(f"batchnorm expects x of shape (N, C) or (N, C, H, W), got {x.shape}")
    c = x.shape[1]
    arrays = [np.asarray(a) for a in (scale, bias, mean, var)]
    if any(a.shape != (c,) for a in arrays):
        raise ValueError(
            f"scale, bias, mean and var must each have shape ({c},) for x {x.shape}, got "
            f"{[a.shape for a in arrays]}"
        )
    if not 0.0 <= momentum <= 1.0 or epsilon <= 0:
        raise ValueError(f"need 0 <= momentum <= 1 and epsilon > 0, got {momentum}, {epsilon}")
    if training and x.size == c:
        raise ValueError(f"training-mode batchnorm needs more than one value per channel, x {x.shape}")
    dtype = float_dtype(x, *arrays)
    x = x.astype(dtype, copy=False)
    scale, bias, mean, var = (a.astype(dtype, copy=False) for a in arrays)
    if training:
        axes = _axes(x)
        mu = x.mean(axis=axes)
        centred = x - _per_channel(mu, x.ndim)
        batch_var = np.square(centred).mean(axis=axes)
        inv_std = (1.0 / np.sqrt(batch_var + dtype.type(epsilon))).astype(dtype)
        xhat = centred * _per_channel(inv_std, x.ndim)
        m = dtype.type(momentum)
        running = (mean * m + mu * (1 - m), var * m + batch_var * (1 - m))
    else:
        inv_std = (1.0 / np.sqrt(var + dtype.type(epsilon))).astype(dtype)
        xhat = (x - _per_channel(mean, x.ndim)) * _per_channel(inv_std, x.ndim)
        running = (mean, var)
    out = xhat * _per_channel(scale, x.ndim) + _per_channel(bias, x.ndim)
    return out, BatchNormCache(xhat, scale, inv_std, bool(training)), running


def batchnorm_backward(
    dout: np.ndarray, cache: BatchNormCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients with respect to ``x``, ``scale`` (gamma) and ``bias`` (beta).

    .. math::

        \\frac{\\partial L}{\\partial \\beta} = \\sum g, \\quad
        \\frac{\\partial L}{\\partial \\gamma} = \\sum g \\hat{x}

    and in training mode, where the mean and variance depend on ``x`` (``M`` values
    per channel),

    .. math::

        \\frac{\\partial L}{\\partial x} = \\frac{\\gamma}{\\sqrt{\\sigma^2 + \\epsilon}}
            \\Big(g - \\frac{1}{M}\\sum g - \\hat{x} \\frac{1}{M} \\sum g \\hat{x}\\Big)

    (in inference mode only the first term: ``dx = g * gamma / sqrt(var + eps)``).

    Returns
    -------
    dx : ndarray, same shape as ``x``
    dscale, dbias : ndarray, shape (C,)
    """
    xhat, scale, inv_std, training = cache
    dout = np.asarray(dout)
    if dout.shape != xhat.shape:
        raise ValueError(f"dout must have the input's shape {xhat.shape}, got {dout.shape}")
    dout = dout.astype(xhat.dtype, copy=False)
    axes, nd = _axes(xhat), xhat.ndim
    dbias = dout.sum(axis=axes)
    dscale = (dout * xhat).sum(axis=axes)
    k = _per_channel(scale * inv_std, nd)
    if not training:
        return dout * k, dscale, dbias
    m = xhat.size // xhat.shape[1]
    dx = k * (dout - _per_channel(dbias / m, nd) - xhat * _per_channel(dscale / m, nd))
    return dx, dscale, dbias
