"""The course's small worked examples that several pages and the API docs share."""

from __future__ import annotations

#: The course's max-pooling example: a 4x4 single-channel input, 2x2 windows, stride 2.
POOL_SHAPE = (1, 4, 4)
POOL_DATA = [1, 1, 2, 4, 5, 6, 7, 8, 3, 2, 1, 0, 1, 2, 3, 4]
POOL_K, POOL_S, POOL_P = 2, 2, 0
