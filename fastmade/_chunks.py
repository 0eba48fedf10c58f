"""How many rows fit in the working-memory budget.

Work that grows with the number of rows (scoring, sampling, densifying sparse
input) runs in chunks so that it never holds more than scikit-learn's
``working_memory`` (``sklearn.set_config``, in MiB) beyond its input and output.
"""

from sklearn import get_config

# Past a few thousand rows the products of a chunk run no faster, so chunks stop
# growing there whatever the budget: less memory for the same speed.
MAX_CHUNK_ROWS = 8192


def chunk_rows(row_bytes, n_rows=None):
    """Rows per chunk for work that needs ``row_bytes`` of scratch per row.

    Always at least one row, at most :data:`MAX_CHUNK_ROWS`, and at most
    ``n_rows`` when that is given.
    """
    budget = get_config()["working_memory"] * 2**20
    rows = max(1, min(MAX_CHUNK_ROWS, int(budget // max(row_bytes, 1))))
    if n_rows is not None:
        rows = min(rows, max(n_rows, 1))
    return rows


def row_chunks(n_rows, row_bytes):
    """Slices covering ``range(n_rows)`` in chunks that fit the budget."""
    if n_rows == 1:
        # One row is one chunk whatever the budget; skip the configuration lookup,
        # which costs as much as a few percent of a one-row draw.
        return [slice(0, 1)]
    step = chunk_rows(row_bytes, n_rows)
    return [slice(start, min(start + step, n_rows)) for start in range(0, n_rows, step)]
