"""Which rows train, which validate and which are held out for testing.

prepare() splits every data set with these, and an exported training
script (export/script.py) carries a verbatim copy, so both split alike.
Hence the rules for this module: numpy and the standard library only,
never MTL Studio, and functions that read as part of a standalone script.
"""

from __future__ import annotations

import numpy as np


def split_sizes(n, validation_split, test_split):
    """(validation rows, test rows) of n examples: each share of n, rounded."""
    return round(n * validation_split), round(n * test_split)


def split_rows(n, validation_split, test_split, seed):
    """Seeded random (training, validation, test) rows of n examples: one
    permutation drawn with `seed` gives the validation rows first, then the
    test rows, and the rest train, so a test share of 0 leaves the other
    two as they always were. Each split keeps the file's order. Raises
    ValueError when fewer than 2 rows are left to train."""
    n_val, n_test = split_sizes(n, validation_split, test_split)
    if n - n_val - n_test < 2:
        raise ValueError(
            f"{n} rows leave {n - n_val - n_test} for training after {n_val} "
            f"for validation and {n_test} for test (training needs at least 2)"
        )
    order = np.random.default_rng(seed).permutation(n)
    return (
        np.sort(order[n_val + n_test :]),
        np.sort(order[:n_val]),
        np.sort(order[n_val : n_val + n_test]),
    )
