"""Denormals in the graph runner: the check that flushes them from a layer's output, and
the rules that prove an output cannot hold one, so that its check can be skipped.

Denormal float32 values (``0 < |v| < 1.18e-38``) make CPUs compute up to a hundred
times more slowly, so :mod:`engine.graph.run` flushes them to 0 in every layer's
output, as onnxruntime's ``session.set_denormal_as_zero`` does. Each tensor's check
also gives ``low``, the smallest nonzero ``|v|`` it holds, from which an output's
smallest nonzero value can be bounded without looking at it:

* selecting ops (ReLU, max pooling, reshapes, ...) output values of their inputs, 0 or
  ``-inf``: ``low >=`` the smallest of the inputs';
* ``Mul``: a product of nonzero values is at least ``low_a * low_b``, rounded;
* ``Add``, ``Sub``: float32 values of magnitude at least ``2**-103`` are multiples of
  ``2**-126`` (their unit in the last place), so a nonzero sum of them (or of them and
  zeros) is at least ``2**-126``, the smallest normal number; more precisely at least
  the unit in the last place of the smallest input, ``>= low * 2**-24``.

An output whose bound is a normal number needs no check (GELU's ``Mul``/``Add`` chain in
``cifar10-net``, 40% of its checks); any other output is checked.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["ADD", "CHECK", "MUL", "SELECT", "check", "flush_denormals", "rule_of", "settle"]

TINY = float(np.finfo(np.float32).tiny)  # the smallest normal float32, 2**-126
_F32 = np.dtype(np.float32)
_ADD_SAFE = 2.0**-103  # inputs at least this large (or 0) add up to 0 or a normal number
_ROUNDED = 1 - 2.0**-23  # at most float32's rounding error below an exact product
_fmin = np.fmin.reduce
_umin = np.minimum.reduce
_DENORMAL_BITS = 0x7FFFFF  # the largest denormal float32's bit pattern

SELECT, CHECK, ADD, MUL = 0, 1, 2, 3
"""How a node's outputs are kept free of denormals: not checked (their values are their
inputs'), checked, or checked unless :func:`settle`'s bound for ``Add``/``Sub`` or
``Mul`` proves them free."""

_RULES = {
    **dict.fromkeys(("Relu", "MaxPool", "Flatten", "Reshape", "Transpose", "Identity",
                     "Dropout", "Concat"), SELECT),
    "Add": ADD,
    "Sub": ADD,
    "Mul": MUL,
}


def rule_of(op_type: str) -> int:
    """The rule (:data:`SELECT`, :data:`CHECK`, :data:`ADD` or :data:`MUL`) of an op type."""
    return _RULES.get(op_type, CHECK)


def check(arr: np.ndarray) -> tuple[np.ndarray, float]:
    """``(arr with its denormals replaced by 0, low)``: ``low`` is its smallest nonzero
    ``|v|`` (``inf`` if it has none; a lower bound where values were flushed), 1 for
    integer and boolean arrays. ``arr`` itself is returned when it holds no denormal."""
    if arr.dtype != _F32:
        return arr, (1.0 if arr.dtype.kind in "iub" else 0.0)
    if arr.size == 0:
        return arr, math.inf
    mag = np.abs(arr)
    low = float(_fmin(mag, None))  # the smallest |v| (NaN ignored)
    if low >= TINY:
        return arr, low  # the usual case for a layer's output: no zero, no denormal
    if low == 0:
        # Zeros (after a ReLU, say): the bit patterns of |v| less 1 put 0 last and the
        # denormals (1 .. 2**23 - 1) below every normal number (2**23 and up).
        bits = np.asarray(mag).view(np.uint32)  # (np.abs of a 0-d array is a scalar)
        np.subtract(bits, 1, out=bits)
        smallest = int(_umin(bits, None))
        if smallest >= _DENORMAL_BITS:
            if smallest == 0xFFFFFFFF:
                return arr, math.inf  # all zeros
            low = float(np.array(smallest + 1, np.uint32).view(np.float32))
            return arr, (low if low == low else 0.0)  # NaN patterns only: no bound
    return np.where(np.abs(arr) < TINY, np.float32(0), arr), TINY


def flush_denormals(arr: np.ndarray) -> np.ndarray:
    """``arr`` with its denormal float32 values (0 < |v| < 1.18e-38) replaced by 0.

    CPUs compute with denormals up to a hundred times more slowly than with normal
    numbers, so a model that adds 1e-39 to a black image would make every later layer
    crawl. Flushing each layer's output keeps every op on normal numbers, as
    onnxruntime's ``session.set_denormal_as_zero`` does. Non-float arrays pass through;
    ``arr`` itself is returned when it holds no denormal.
    """
    return check(arr)[0]


def settle(arr: np.ndarray, rule: int, ins: tuple, lows: list) -> tuple[np.ndarray, float]:
    """``(arr, low)`` for the output of a node with ``rule`` whose inputs are the slots
    ``ins`` (``lows`` their smallest nonzero magnitudes): checked only where the rules
    of the module docstring do not bound ``low`` by a normal number."""
    if rule == SELECT:
        return arr, min(lows[s] for s in ins)
    if arr.dtype == _F32 and len(ins) == 2:
        a, b = lows[ins[0]], lows[ins[1]]
        if rule == MUL and a * b >= TINY:
            return arr, a * b * _ROUNDED
        if rule == ADD and a >= _ADD_SAFE and b >= _ADD_SAFE:
            return arr, min(a, b) * 2.0**-24
    return check(arr)
