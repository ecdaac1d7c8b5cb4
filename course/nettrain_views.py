"""What the playground draws of a network: every node's output over the input plane.

The plane is the square ``[-EXTENT, EXTENT]^2`` of :mod:`course.datasets2d`, sampled at
cell centres; the page colours each node's grid and the output's P(class 1) (the
decision surface) from these arrays.
"""

from __future__ import annotations

import numpy as np

from course.datasets2d import EXTENT, feature_columns
from course.nettrain import Network, forward
from engine.ops.activations import sigmoid_forward

__all__ = ["grid_points", "node_grids"]


def grid_points(resolution: int) -> np.ndarray:
    """Cell centres of a ``resolution`` x ``resolution`` grid over the input plane.

    Row 0 is the top (``x2 = +6``), column 0 the left (``x1 = -6``); shape ``(R*R, 2)``.
    """
    if not 2 <= resolution <= 200:
        raise ValueError(f"resolution must be in [2, 200], got {resolution}")
    c = (np.arange(resolution) + 0.5) / resolution * 2 * EXTENT - EXTENT
    x1, x2 = np.meshgrid(c, c[::-1])
    return np.stack([x1.ravel(), x2.ravel()], axis=1)


def node_grids(net: Network, features: list[str], resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """Every node's output over the input plane, and P(class 1) there.

    Returns
    -------
    nodes : ndarray, shape (n_inputs + n_hidden + 1, R, R)
        Input features, then each hidden neuron (layer by layer), then the output ``p``.
    probability : ndarray, shape (R, R)
    """
    x = feature_columns(grid_points(resolution), features)
    with np.errstate(all="ignore"):
        z, hidden, _ = forward(net, x)
        p, _ = sigmoid_forward(z[:, 0])
    cols = [x, *hidden, p[:, None]]
    nodes = np.concatenate(cols, axis=1).T.reshape(-1, resolution, resolution)
    return nodes, p.reshape(resolution, resolution)
