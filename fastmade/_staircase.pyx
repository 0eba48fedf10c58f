"""Masked products of MADE layers that skip the zero half of the mask.

With the units of every layer sorted by degree, each MADE mask is a staircase:
a weight matrix ``W`` of shape ``(n_in, n_out)``, used as ``X @ W``, whose column
``k`` may be non-zero only in rows ``[0, prefix[k])`` with ``prefix``
non-decreasing. The products here group consecutive columns into blocks and
multiply, for each block, only the rows up to the block's largest prefix, so
the arithmetic runs at GEMM speed through BLAS while about half of the dense
work is skipped.

Threads: OpenMP threads share the work, row tiles of the batch for the forward
and input-gradient products, runs of column blocks for the weight gradient, and
each makes its own single-threaded BLAS calls on cache-sized tiles. Letting
BLAS thread one call per block over the whole batch instead measured only
1.2-1.3x faster than the dense product, against 1.7-1.9x: each such call packs
its slice of the batch anew, from memory. The tiles depend on the shapes only,
so every output element comes from the same BLAS calls whatever the thread
count, and results do not depend on it (given a BLAS that returns the same
result for the same call).
"""
# Compiler directives (boundscheck, wraparound, cdivision, initializedcheck) are
# set for every kernel in one place, setup.py.

import threading

import numpy as np
from threadpoolctl import ThreadpoolController

from cython cimport floating
from cython.parallel cimport prange
from scipy.linalg.cython_blas cimport dgemm, sgemm

__all__ = [
    "choose_block",
    "staircase_forward",
    "staircase_grad_input",
    "staircase_grad_weight",
]


cdef extern from "staircase.h" nogil:
    int staircase_max_threads()
    void staircase_scale_tile_f(float *c, Py_ssize_t ldc, Py_ssize_t rows,
                                Py_ssize_t cols, float beta)
    void staircase_scale_tile_d(double *c, Py_ssize_t ldc, Py_ssize_t rows,
                                Py_ssize_t cols, double beta)
    void staircase_zero_outside_f(float *out, Py_ssize_t n_in, Py_ssize_t n_out,
                                  const Py_ssize_t *prefix, Py_ssize_t k0,
                                  Py_ssize_t k1)
    void staircase_zero_outside_d(double *out, Py_ssize_t n_in, Py_ssize_t n_out,
                                  const Py_ssize_t *prefix, Py_ssize_t k0,
                                  Py_ssize_t k1)


# Tiling constants, measured with OpenBLAS 0.3.30 (scipy's wheel) on a 2-core
# AVX-512 machine; the reasons below say what they depend on.
cdef enum:
    # A BLAS call costs a fixed overhead and its operands should stay in a
    # core's L2 cache: about 10**6 multiply-adds a call amortises the one while
    # the tile (rows x depth inputs, block x depth weights: a few hundred kB)
    # keeps the other. It is also the bound under which OpenBLAS multiplies
    # without packing its operands; tiles twice as large ran 1.3-2x slower.
    _TILE_MACS = 1000000
    # Blocks come in 16s, a 512-bit register of float32 (two of float64): the
    # GEMM micro-kernels run full, and blocks of 24 measured 5-15% slower than
    # 16 or 32. Row tiles come in 8s.
    _BLOCK_ALIGN = 16
    _ALIGN = 8
    # Past 64 units the ragged waste of a block outweighs any gain in the GEMM.
    _MAX_BLOCK = 64
    # Shallow layers would otherwise get tiles of many thousand rows.
    _MAX_TILE_ROWS = 1024
    # A BLAS call with a transposed W is fast only for small output tiles
    # (OpenBLAS: at most 1200 elements without packing).
    _TRANSPOSED_TILE = 1024
    # From this many rows on, staircase_grad_input copies W.T once so that its
    # calls need no transposed operand: the copy costs about n_in * n_out moves,
    # under 10% of the product from here on, and saves 10-30%.
    _COPY_TRANSPOSE_ROWS = 1024

# BLAS takes 32-bit int sizes.
cdef Py_ssize_t _BLAS_INT_MAX = 2147483647


# ---------------------------------------------------------------------------
# Tiling rules


def choose_block(n_in, n_out, n_rows):
    """Number of consecutive output units that share one BLAS call.

    Parameters
    ----------
    n_in : int
        Depth of the staircase: the number of input units (rows of ``W``).
    n_out : int
        Number of output units (columns of ``W``), the dimension cut into
        blocks.
    n_rows : int
        Number of rows in the batch.

    Returns
    -------
    block : int
        Block size, at least 1 and at most ``max(n_out, 1)``.

    Notes
    -----
    A block multiplies every row up to its largest prefix, so it also multiplies
    the ragged zeros below the smaller prefixes of its other units: for prefixes
    spread over ``[0, n_in]`` that waste is about ``block / n_out`` of the useful
    work. The rule:

    1. ``n_out // 32`` units keeps the waste near 3%.
    2. Each BLAS call should get about 10**6 multiply-adds. Rows of the batch
       are the free dimension to grow (up to 1024 a tile); only when the batch
       runs out of rows (``n_rows * n_in`` too small) do blocks widen instead.
    3. Rounded up to a multiple of 16, which keeps the lanes of GEMM
       micro-kernels full, within ``[16, 64]``, and no wider than the layer.

    :func:`staircase_grad_input` cuts the input units into blocks, so it asks
    ``choose_block(n_out, n_in, n_rows)``.
    """
    return _choose_block(
        _as_size(n_in, "n_in"), _as_size(n_out, "n_out"), _as_size(n_rows, "n_rows")
    )


cdef Py_ssize_t _choose_block(Py_ssize_t n_in, Py_ssize_t n_out,
                              Py_ssize_t n_rows) noexcept:
    cdef Py_ssize_t rows = min(max(n_rows, 1), <Py_ssize_t>_MAX_TILE_ROWS)
    cdef Py_ssize_t for_work = _ceil_div(_TILE_MACS, rows * max(n_in, 1))
    cdef Py_ssize_t block = max(n_out // 32, for_work)
    block = _ceil_div(block, _BLOCK_ALIGN) * _BLOCK_ALIGN
    block = min(max(block, <Py_ssize_t>_BLOCK_ALIGN), <Py_ssize_t>_MAX_BLOCK)
    return max(min(block, n_out), 1)


cdef Py_ssize_t _tile_rows(Py_ssize_t block, Py_ssize_t depth, Py_ssize_t n_rows,
                           Py_ssize_t max_rows) noexcept:
    """Rows per tile: about _TILE_MACS per call, tiles of equal size."""
    cdef Py_ssize_t rows = _TILE_MACS // (max(block, 1) * max(depth, 1))
    rows = min(max(rows // _ALIGN * _ALIGN, <Py_ssize_t>_ALIGN), max_rows)
    # Spread the batch evenly over the tiles this many rows needs, so the last
    # tile is not a sliver; this depends on the shapes only, not on threads.
    cdef Py_ssize_t n_tiles = _ceil_div(max(n_rows, 1), rows)
    rows = _ceil_div(_ceil_div(n_rows, n_tiles), _ALIGN) * _ALIGN
    return max(min(rows, n_rows), 1)


cdef inline Py_ssize_t _ceil_div(Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    return (a + b - 1) // b


# ---------------------------------------------------------------------------
# Public products


def staircase_forward(X, W, prefix, out, beta=0.0, *, block=None):
    """Staircase product ``out = X @ W + beta * out``.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_in), float32 or float64, C-contiguous
        Inputs of the layer.
    W : ndarray of shape (n_in, n_out), same dtype as X, C-contiguous
        Masked weights: zero outside the staircase (``W[i, k] == 0`` for
        ``i >= prefix[k]``). Blocks read the zeros below the smaller prefixes
        of their units, so these must really be zero.
    prefix : array-like of int of shape (n_out,)
        Non-decreasing, within ``[0, n_in]``: column ``k`` of ``W`` may be
        non-zero only in rows ``[0, prefix[k])``.
    out : ndarray of shape (n_rows, n_out), same dtype as X, C-contiguous
        Written in place. With ``beta=0`` its contents are not read.
    beta : float, default=0.0
        Scale of the previous ``out``; ``beta=1`` accumulates.
    block : int, default=None
        Output units per block; None picks :func:`choose_block`. Any value
        gives the same result up to rounding.

    Returns
    -------
    out : ndarray of shape (n_rows, n_out)
        The array passed as ``out``.

    See Also
    --------
    staircase_grad_input, staircase_grad_weight

    Notes
    -----
    Costs about ``n_rows * sum(prefix)`` multiply-adds, against
    ``n_rows * n_in * n_out`` for the dense product. While it runs, BLAS
    libraries are held to one thread (the parallelism is over row tiles);
    another Python thread calling BLAS at that moment runs single-threaded.

    Examples
    --------
    >>> import numpy as np
    >>> from fastmade._staircase import staircase_forward
    >>> W = np.triu(np.ones((3, 3)))  # column k reads rows [0, k + 1)
    >>> X = np.arange(6.0).reshape(2, 3)
    >>> staircase_forward(X, W, [1, 2, 3], np.empty((2, 3)))
    array([[ 0.,  1.,  3.],
           [ 3.,  7., 12.]])
    """
    func = "staircase_forward"
    _check_arrays(func, (("X", X), ("W", W)), out)
    n_rows, n_in = X.shape
    _check_shape(func, "W", W, (n_in, None), "(X.shape[1], n_out)")
    n_out = W.shape[1]
    _check_shape(func, "out", out, (n_rows, n_out), "(X.shape[0], W.shape[1])")
    cdef Py_ssize_t[::1] prefix_ = _check_prefix(func, prefix, n_in, n_out)
    beta = _check_beta(func, beta)
    cdef Py_ssize_t block_ = _check_block(func, block, n_in, n_out, n_rows)

    if n_rows == 0 or n_out == 0:
        return out
    if n_in == 0:
        _scale(out, beta)
        return out

    cdef Py_ssize_t tile = _tile_rows(block_, n_in, n_rows, _MAX_TILE_ROWS)
    cdef int n_threads = _n_threads(_ceil_div(n_rows, tile))
    with _blas_serial(n_threads):
        if X.dtype == np.float32:
            _forward[float](X, W, prefix_, out, beta, block_, tile, n_threads)
        else:
            _forward[double](X, W, prefix_, out, beta, block_, tile, n_threads)
    return out


def staircase_grad_input(dY, W, prefix, out, beta=0.0, *, block=None):
    """Staircase product ``out = dY @ W.T + beta * out``.

    The gradient of a staircase layer with respect to its input.

    Parameters
    ----------
    dY : ndarray of shape (n_rows, n_out), float32 or float64, C-contiguous
        Gradient with respect to the layer's output.
    W : ndarray of shape (n_in, n_out), same dtype as dY, C-contiguous
        Masked weights, zero outside the staircase.
    prefix : array-like of int of shape (n_out,)
        Non-decreasing, within ``[0, n_in]``: column ``k`` of ``W`` may be
        non-zero only in rows ``[0, prefix[k])``.
    out : ndarray of shape (n_rows, n_in), same dtype as dY, C-contiguous
        Written in place. With ``beta=0`` its contents are not read.
    beta : float, default=0.0
        Scale of the previous ``out``; ``beta=1`` accumulates.
    block : int, default=None
        Input units per block; None picks ``choose_block(n_out, n_in,
        n_rows)``. Any value gives the same result up to rounding.

    Returns
    -------
    out : ndarray of shape (n_rows, n_in)
        The array passed as ``out``.

    See Also
    --------
    staircase_forward, staircase_grad_weight

    Notes
    -----
    Input unit ``i`` is read only by the output units whose prefix exceeds
    ``i``: a block of input units starting at ``i0`` needs only the suffix of
    output units with ``prefix > i0``. Same cost and threading as
    :func:`staircase_forward`. From 1024 rows on, a transposed copy of ``W``
    (one temporary of its size) lets every BLAS call run untransposed.
    """
    func = "staircase_grad_input"
    _check_arrays(func, (("dY", dY), ("W", W)), out)
    n_rows, n_out = dY.shape
    _check_shape(func, "W", W, (None, n_out), "(n_in, dY.shape[1])")
    n_in = W.shape[0]
    _check_shape(func, "out", out, (n_rows, n_in), "(dY.shape[0], W.shape[0])")
    cdef Py_ssize_t[::1] prefix_ = _check_prefix(func, prefix, n_in, n_out)
    beta = _check_beta(func, beta)
    cdef Py_ssize_t block_ = _check_block(func, block, n_out, n_in, n_rows)

    if n_rows == 0 or n_in == 0:
        return out
    if n_out == 0:
        _scale(out, beta)
        return out

    # first_reader[b]: the first output unit that reads input block b.
    cdef Py_ssize_t[::1] first_reader = np.searchsorted(
        np.asarray(prefix_), np.arange(0, n_in, block_), side="right"
    ).astype(np.intp, copy=False)

    cdef bint copy_transpose = n_rows >= _COPY_TRANSPOSE_ROWS
    cdef Py_ssize_t tile
    if copy_transpose:
        W = np.ascontiguousarray(W.T)
        tile = _tile_rows(block_, n_out, n_rows, _MAX_TILE_ROWS)
    else:
        tile = _tile_rows(block_, n_out, n_rows,
                          max(_TRANSPOSED_TILE // block_ // _ALIGN * _ALIGN, 1))
    cdef int n_threads = _n_threads(_ceil_div(n_rows, tile))
    with _blas_serial(n_threads):
        if dY.dtype == np.float32:
            _grad_input[float](dY, W, copy_transpose, first_reader, out, beta,
                               block_, tile, n_threads)
        else:
            _grad_input[double](dY, W, copy_transpose, first_reader, out, beta,
                                block_, tile, n_threads)
    return out


def staircase_grad_weight(X, dY, prefix, out, *, block=None):
    """Staircase product ``out = X.T @ dY``, zero outside the staircase.

    The gradient of a staircase layer with respect to its masked weights:
    ``out[i, k] = (X.T @ dY)[i, k]`` for ``i < prefix[k]`` and exactly 0
    elsewhere, the same as ``(X.T @ dY) * mask``.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_in), float32 or float64, C-contiguous
        Inputs of the layer.
    dY : ndarray of shape (n_rows, n_out), same dtype as X, C-contiguous
        Gradient with respect to the layer's output.
    prefix : array-like of int of shape (n_out,)
        Non-decreasing, within ``[0, n_in]``.
    out : ndarray of shape (n_in, n_out), same dtype as X, C-contiguous
        Overwritten; its contents are not read.
    block : int, default=None
        Output units per block; None picks :func:`choose_block`. Any value
        gives the same result up to rounding.

    Returns
    -------
    out : ndarray of shape (n_in, n_out)
        The array passed as ``out``.

    See Also
    --------
    staircase_forward, staircase_grad_input

    Notes
    -----
    Threads take whole column blocks; each block sums the batch in the same
    order of row tiles whatever the thread count. There is no ``beta``: an
    accumulated weight gradient is a separate addition.
    """
    func = "staircase_grad_weight"
    _check_arrays(func, (("X", X), ("dY", dY)), out)
    n_rows, n_in = X.shape
    _check_shape(func, "dY", dY, (n_rows, None), "(X.shape[0], n_out)")
    n_out = dY.shape[1]
    _check_shape(func, "out", out, (n_in, n_out), "(X.shape[1], dY.shape[1])")
    cdef Py_ssize_t[::1] prefix_ = _check_prefix(func, prefix, n_in, n_out)
    cdef Py_ssize_t block_ = _check_block(func, block, n_in, n_out, n_rows)

    if n_in == 0 or n_out == 0:
        return out
    if n_rows == 0:
        out.fill(0)
        return out

    # Row tiles are the summation order of the gradient; they depend on the
    # shapes only, never on the thread count.
    cdef Py_ssize_t tile = _tile_rows(block_, n_in, n_rows, _MAX_TILE_ROWS)
    cdef Py_ssize_t n_blocks = _ceil_div(n_out, block_)
    cdef int n_threads = _n_threads(n_blocks)

    # Threads take contiguous runs of blocks with equal work, which grows with
    # each block's depth: bounds[t] is the first block of thread t.
    starts = np.arange(n_blocks) * block_
    widths = np.minimum(block_, n_out - starts)
    work = np.cumsum(np.asarray(prefix_)[starts + widths - 1] * widths)
    targets = work[n_blocks - 1] * np.arange(n_threads + 1) / n_threads
    cdef Py_ssize_t[::1] bounds = np.searchsorted(work, targets, side="left").astype(
        np.intp
    )
    bounds[0] = 0
    bounds[n_threads] = n_blocks

    with _blas_serial(n_threads):
        if X.dtype == np.float32:
            _grad_weight[float](X, dY, prefix_, bounds, out, block_, tile, n_threads)
        else:
            _grad_weight[double](X, dY, prefix_, bounds, out, block_, tile, n_threads)
    return out


# ---------------------------------------------------------------------------
# Kernels
#
# BLAS is column-major: it sees a row-major (r, c) array as its (c, r) transpose
# with leading dimension c. Each call below is therefore written for the
# transposed product, e.g. out.T = W.T @ X.T for the forward pass.


cdef inline void _gemm(char *transa, char *transb, int m, int n, int k,
                       const floating *a, int lda, const floating *b, int ldb,
                       floating beta, floating *c, int ldc) noexcept nogil:
    """Column-major c = op(a) @ op(b) + beta * c, through scipy's BLAS."""
    cdef floating one = 1
    if floating is float:
        sgemm(transa, transb, &m, &n, &k, &one, <float *>a, &lda, <float *>b, &ldb,
              &beta, c, &ldc)
    else:
        dgemm(transa, transb, &m, &n, &k, &one, <double *>a, &lda, <double *>b,
              &ldb, &beta, c, &ldc)


cdef inline void _scale_tile(floating *c, Py_ssize_t ldc, Py_ssize_t rows,
                             Py_ssize_t cols, floating beta) noexcept nogil:
    if floating is float:
        staircase_scale_tile_f(c, ldc, rows, cols, beta)
    else:
        staircase_scale_tile_d(c, ldc, rows, cols, beta)


cdef void _forward(
    const floating[:, ::1] X,       # IN (n_rows, n_in)
    const floating[:, ::1] W,       # IN (n_in, n_out), zero outside the staircase
    const Py_ssize_t[::1] prefix,   # IN (n_out,)
    floating[:, ::1] out,           # OUT (n_rows, n_out)
    floating beta,
    Py_ssize_t block,
    Py_ssize_t tile,                # rows per tile
    int n_threads,
) noexcept:
    cdef:
        Py_ssize_t n_rows = X.shape[0], n_in = X.shape[1], n_out = W.shape[1]
        Py_ssize_t n_tiles = _ceil_div(n_rows, tile)
        Py_ssize_t n_blocks = _ceil_div(n_out, block)
        const floating *x = &X[0, 0]
        const floating *w = &W[0, 0]
        floating *y = &out[0, 0]
        Py_ssize_t t, b, r0, rows, k0, width, depth

    with nogil:
        for t in prange(n_tiles, schedule="dynamic", num_threads=n_threads):
            r0 = t * tile
            rows = min(tile, n_rows - r0)
            for b in range(n_blocks):
                k0 = b * block
                width = min(block, n_out - k0)
                depth = prefix[k0 + width - 1]      # the block's largest prefix
                if depth == 0:
                    _scale_tile(y + r0 * n_out + k0, n_out, rows, width, beta)
                else:
                    # out[r0:, k0:k0+width] = X[r0:, :depth] @ W[:depth, k0:k0+width]
                    _gemm("N", "N", <int>width, <int>rows, <int>depth,
                          w + k0, <int>n_out, x + r0 * n_in, <int>n_in,
                          beta, y + r0 * n_out + k0, <int>n_out)


cdef void _grad_input(
    const floating[:, ::1] dY,          # IN (n_rows, n_out)
    const floating[:, ::1] W,           # IN (n_in, n_out), or W.T if transposed;
                                        #    zero outside the staircase
    bint transposed,
    const Py_ssize_t[::1] first_reader, # IN (n_blocks,) first output unit per block
    floating[:, ::1] out,               # OUT (n_rows, n_in)
    floating beta,
    Py_ssize_t block,                   # input units per block
    Py_ssize_t tile,                    # rows per tile
    int n_threads,
) noexcept:
    cdef:
        Py_ssize_t n_rows = dY.shape[0], n_out = dY.shape[1]
        Py_ssize_t n_in = W.shape[1] if transposed else W.shape[0]
        Py_ssize_t n_tiles = _ceil_div(n_rows, tile)
        Py_ssize_t n_blocks = _ceil_div(n_in, block)
        const floating *dy = &dY[0, 0]
        const floating *w = &W[0, 0]
        floating *dx = &out[0, 0]
        Py_ssize_t t, b, r0, rows, i0, width, s, depth

    with nogil:
        for t in prange(n_tiles, schedule="dynamic", num_threads=n_threads):
            r0 = t * tile
            rows = min(tile, n_rows - r0)
            for b in range(n_blocks):
                i0 = b * block
                width = min(block, n_in - i0)
                s = first_reader[b]
                depth = n_out - s
                if depth == 0:
                    _scale_tile(dx + r0 * n_in + i0, n_in, rows, width, beta)
                elif transposed:
                    # out[r0:, i0:i0+width] = dY[r0:, s:] @ W.T[s:, i0:i0+width]
                    _gemm("N", "N", <int>width, <int>rows, <int>depth,
                          w + s * n_in + i0, <int>n_in, dy + r0 * n_out + s,
                          <int>n_out, beta, dx + r0 * n_in + i0, <int>n_in)
                else:
                    # out[r0:, i0:i0+width] = dY[r0:, s:] @ W[i0:i0+width, s:].T
                    _gemm("T", "N", <int>width, <int>rows, <int>depth,
                          w + i0 * n_out + s, <int>n_out, dy + r0 * n_out + s,
                          <int>n_out, beta, dx + r0 * n_in + i0, <int>n_in)


cdef void _grad_weight(
    const floating[:, ::1] X,       # IN (n_rows, n_in)
    const floating[:, ::1] dY,      # IN (n_rows, n_out)
    const Py_ssize_t[::1] prefix,   # IN (n_out,)
    const Py_ssize_t[::1] bounds,   # IN (n_threads + 1,) first block of each thread
    floating[:, ::1] out,           # OUT (n_in, n_out), zero outside the staircase
    Py_ssize_t block,
    Py_ssize_t tile,                # rows of the batch summed per BLAS call
    int n_threads,
) noexcept:
    cdef:
        Py_ssize_t n_rows = X.shape[0], n_in = X.shape[1], n_out = dY.shape[1]
        Py_ssize_t n_tiles = _ceil_div(n_rows, tile)
        const floating *x = &X[0, 0]
        const floating *dy = &dY[0, 0]
        floating *g = &out[0, 0]
        Py_ssize_t th, t, b, r0, rows, k0, k1, width, depth
        floating beta

    # One parallel region with a fixed share of blocks per thread: a barrier
    # per row tile would stall every tile whenever the machine is busy. Each
    # thread runs all its blocks over one row tile of X while it is in cache;
    # the threads sweep the tiles at about the same pace and share them in L3.
    with nogil:
        for th in prange(n_threads, schedule="static", chunksize=1,
                         num_threads=n_threads):
            for t in range(n_tiles):
                r0 = t * tile
                rows = min(tile, n_rows - r0)
                beta = 0 if t == 0 else 1
                for b in range(bounds[th], bounds[th + 1]):
                    k0 = b * block
                    width = min(block, n_out - k0)
                    depth = prefix[k0 + width - 1]
                    if depth > 0:
                        # out[:depth, k0:k0+width] += X[r0:, :depth].T @ dY[r0:, k0:]
                        _gemm("N", "T", <int>width, <int>depth, <int>rows,
                              dy + r0 * n_out + k0, <int>n_out, x + r0 * n_in,
                              <int>n_in, beta, g + k0, <int>n_out)

            # The GEMMs also filled the ragged part below the smaller prefixes
            # of each block, and never touched rows past its largest prefix.
            for b in range(bounds[th], bounds[th + 1]):
                k0 = b * block
                k1 = min(k0 + block, n_out)
                if floating is float:
                    staircase_zero_outside_f(g, n_in, n_out, &prefix[0], k0, k1)
                else:
                    staircase_zero_outside_d(g, n_in, n_out, &prefix[0], k0, k1)


# ---------------------------------------------------------------------------
# Threads


cdef int _n_threads(Py_ssize_t n_tasks):
    """OpenMP threads worth starting for n_tasks independent tiles."""
    return <int>max(1, min(<Py_ssize_t>staircase_max_threads(), n_tasks))


class _SerialBlas:
    """Hold every loaded BLAS to one thread while OpenMP threads call it.

    Each OpenMP thread runs its own BLAS calls; a BLAS that also threaded them
    would oversubscribe the cores. Concurrent callers share one limit through a
    count, so that overlapping calls from several Python threads restore the
    user's setting only when the last one leaves.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._depth = 0
        self._blas = None
        self._saved = None

    def __enter__(self):
        with self._lock:
            if self._depth == 0:
                if self._blas is None:
                    # Scanning the loaded libraries is slow; once is enough, as
                    # the BLAS behind scipy's cython_blas is loaded with us.
                    controller = ThreadpoolController().select(user_api="blas")
                    self._blas = controller.lib_controllers
                self._saved = [lib.num_threads for lib in self._blas]
                for lib in self._blas:
                    lib.set_num_threads(1)
            self._depth += 1
        return self

    def __exit__(self, *exc_info):
        with self._lock:
            self._depth -= 1
            if self._depth == 0:
                for lib, n in zip(self._blas, self._saved):
                    lib.set_num_threads(n)
        return False


class _NoLimit:
    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False


_serial_blas = _SerialBlas()
_no_limit = _NoLimit()


def _blas_serial(n_threads):
    # A serial loop may let BLAS thread each call itself.
    return _serial_blas if n_threads > 1 else _no_limit


# ---------------------------------------------------------------------------
# Argument checks


def _check_arrays(func, inputs, out):
    """Check the arrays of one call: ``inputs`` is ((name, array), ...)."""
    named = (*inputs, ("out", out))
    dtype = None
    for name, a in named:
        if not isinstance(a, np.ndarray):
            raise TypeError(
                f"{func}: {name} must be a numpy.ndarray, got {type(a).__name__}"
            )
        if a.dtype != np.float32 and a.dtype != np.float64:
            raise TypeError(
                f"{func}: {name} has dtype {a.dtype}; float32 or float64 is required"
            )
        if dtype is None:
            dtype = a.dtype
        elif a.dtype != dtype:
            first = named[0][0]
            raise TypeError(
                f"{func}: {name} has dtype {a.dtype} but {first} has {dtype}; "
                "all arrays must share one dtype"
            )
        if a.ndim != 2:
            raise ValueError(f"{func}: {name} must be 2-D, got shape {a.shape}")
        if not a.flags.c_contiguous:
            raise ValueError(
                f"{func}: {name} must be C-contiguous; "
                f"pass numpy.ascontiguousarray({name})"
            )
        if not a.flags.aligned:
            raise ValueError(f"{func}: {name} must be aligned in memory")
        for dim in a.shape:
            if dim > _BLAS_INT_MAX:
                raise ValueError(
                    f"{func}: {name} has shape {a.shape}; BLAS takes sizes "
                    f"up to {_BLAS_INT_MAX}"
                )

    if not out.flags.writeable:
        raise ValueError(f"{func}: out is read-only")
    for name, a in inputs:
        if np.may_share_memory(out, a):
            raise ValueError(f"{func}: out overlaps {name}; pass a separate array")


def _check_shape(func, name, a, expected, description):
    for got, want in zip(a.shape, expected):
        if want is not None and got != want:
            raise ValueError(
                f"{func}: {name} has shape {a.shape}, but {description} was expected"
            )


def _check_prefix(func, prefix, n_in, n_out):
    """Return prefix as a contiguous intp array after checking the staircase."""
    p = np.asarray(prefix)
    if p.size == 0 and p.dtype == np.float64:
        p = p.astype(np.intp)       # an empty list arrives as float64
    if p.dtype == np.bool_ or not np.issubdtype(p.dtype, np.integer):
        raise TypeError(f"{func}: prefix must hold integers, got dtype {p.dtype}")
    if p.ndim != 1 or p.shape[0] != n_out:
        raise ValueError(
            f"{func}: prefix has shape {p.shape}, but ({n_out},) was expected: "
            "one entry per output unit"
        )
    if n_out:
        low, high = p.min(), p.max()
        if low < 0 or high > n_in:
            raise ValueError(
                f"{func}: prefix values must lie in [0, n_in] = [0, {n_in}]; "
                f"got values in [{low}, {high}]"
            )
        p = np.ascontiguousarray(p, dtype=np.intp)
        drops = np.flatnonzero(p[1:] < p[:n_out - 1])
        if drops.size:
            k = int(drops[0])
            raise ValueError(
                f"{func}: prefix must be non-decreasing (units sorted by degree); "
                f"prefix[{k}] = {p[k]} > prefix[{k + 1}] = {p[k + 1]}"
            )
    return np.ascontiguousarray(p, dtype=np.intp)


def _check_beta(func, beta):
    try:
        return float(beta)
    except (TypeError, ValueError):
        raise TypeError(f"{func}: beta must be a real number, got {beta!r}") from None


def _check_block(func, block, n_in, n_out, n_rows):
    if block is None:
        return _choose_block(n_in, n_out, n_rows)
    if isinstance(block, (bool, np.bool_)) or not isinstance(
        block, (int, np.integer)
    ):
        raise TypeError(f"{func}: block must be an int or None, got {block!r}")
    if block < 1:
        raise ValueError(f"{func}: block must be at least 1, got {block}")
    return min(int(block), max(n_out, 1))


def _as_size(value, name):
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, np.integer)
    ):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be non-negative, got {value}")
    return int(value)


def _scale(a, beta):
    if beta == 0:
        a.fill(0)       # as BLAS does with beta=0: do not read a
    elif beta != 1:
        a *= beta
