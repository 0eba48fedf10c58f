"""Checks of user data, done once and before any state changes.

scikit-learn's ``validate_data`` handles shapes, NaN, inf, complex data, feature
counts and feature names; this module adds what MADE needs on top: numeric,
binary values, and dense chunks of rows in canonical column order.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import validate_data

from ._chunks import row_chunks

ACCEPTED_SPARSE = ("csr", "csc", "coo")


def check_input(estimator, X, *, reset):
    """Validate ``X`` for ``estimator`` and return it as an array or CSR matrix.

    With ``reset=True`` the feature count and names are read, not stored: the
    caller stores them once fitting has succeeded, so a failing ``fit`` leaves a
    fitted model as it was.

    Returns
    -------
    X : ndarray or scipy.sparse.csr_matrix
    n_features : int
    feature_names : ndarray or None
    """
    target = type(estimator)() if reset else estimator
    X = validate_data(
        target,
        X,
        reset=reset,
        accept_sparse=ACCEPTED_SPARSE,
        dtype="numeric",
        ensure_min_features=1,
    )
    if X.dtype.kind not in "biuf":
        raise TypeError(
            f"{type(estimator).__name__} needs numbers, but X holds {X.dtype} "
            "values (text or categories?). Convert the columns to numbers first, "
            "for example with X.astype(float) or a scikit-learn encoder."
        )
    if sp.issparse(X):
        # Duplicate entries of one cell add up: sum them before reading values.
        X = X.tocsr(copy=True)
        X.sum_duplicates()
    return X, X.shape[1], getattr(target, "feature_names_in_", None)


def first_non_binary(X):
    """``(row, column)`` of the first entry of dense ``X`` not 0 or 1, or None."""
    bad = (X != 0) & (X != 1)
    if not bad.any():
        return None
    row, column = np.argwhere(bad)[0]
    return int(row), int(column)


def check_binary(X, name, first_row=0):
    """Raise a ValueError naming a bad entry if dense ``X`` holds anything but 0, 1."""
    bad = first_non_binary(X)
    if bad is None:
        return
    row, column = bad
    value = X[row, column]
    raise ValueError(
        f"{name} models binary data: every value must be 0 or 1, but column "
        f"{column} holds {value.item()!r} (row {first_row + row}). Binarise the "
        "features first, for example with sklearn.preprocessing.Binarizer."
    )


def is_binary(X):
    """Whether every entry of ``X`` (dense or sparse) is 0 or 1."""
    values = X.data if sp.issparse(X) else X
    return bool(np.all((values == 0) | (values == 1)))


def dense_chunks(X, columns, dtype, name, row_bytes, binary=True):
    """Yield ``(rows, chunk)``: dense rows in ``columns`` order.

    With ``binary`` every chunk is checked to hold only 0 and 1.

    Sparse input is densified a chunk at a time, so memory holds the input,
    one chunk and whatever the caller keeps.
    """
    n_rows = X.shape[0]
    for rows in row_chunks(n_rows, row_bytes):
        chunk = X[rows]
        chunk = chunk.toarray() if sp.issparse(chunk) else chunk
        if binary:
            check_binary(chunk, name, rows.start)
        yield rows, np.asarray(chunk[:, columns], dtype=dtype)
