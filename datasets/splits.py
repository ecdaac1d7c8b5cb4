"""The validation split held out from a training file: its last ``N_VAL`` images."""

from __future__ import annotations

from datasets.errors import DataError

#: Images held out from the end of every training file (in file order) for validation.
N_VAL = 5000


def split_slices(n: int, n_val: int = N_VAL) -> tuple[slice, slice]:
    """``(train, val)`` slices of a training file of ``n`` images: the last ``n_val`` are val.

    Raises
    ------
    DataError
        When the file has ``n_val`` images or fewer (nothing would be left to train on).
    """
    if n <= n_val:
        raise DataError(f"the training file has {n} images; at least {n_val + 1} are needed "
                        f"to hold out the last {n_val} for validation")
    return slice(0, n - n_val), slice(n - n_val, n)
