"""Cached incremental sampling of one MADE mask member.

The wrapper checks the arguments, splits the rows into tiles and runs the tiles
over OpenMP threads with the GIL released; the arithmetic is the plain-C kernel
of ``csrc/cached_sampler.c``, whose bulk products go through the BLAS that SciPy
exports to Cython.

Compiler directives (bounds checks off, ...) are set once, in ``setup.py``.
"""

from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.limits cimport INT_MAX
from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc
from scipy.linalg.cython_blas cimport dgemm, sgemm

cimport numpy as cnp

import numpy as np
from threadpoolctl import ThreadpoolController

cnp.import_array()


cdef extern from "conditionals.h":
    int FM_BERNOULLI
    int FM_GAUSSIAN
    int FM_MIXTURE
    int FM_MAX_COMPONENTS
    int fm_conditional_shape(int code, int n_components, int *n_params,
                             int *n_uniforms) noexcept nogil


cdef extern from "cached_sampler.h":
    int FM_RELU
    int FM_TANH
    int FM_SIGMOID
    int FM_DEGREE_RANGE
    int FM_DEGREE_ORDER

    ctypedef struct fm_plan:
        int n_dims
        int n_layers
        const int *widths
        const int *counts
        const int *offsets
        int activation
        int conditional
        int n_params
        int n_uniforms
        int block_dims
        int sub_block_dims

    ctypedef struct fm_model_f32:
        const float **weights
        const float **biases
        const float *out_weight
        const float *out_bias
        const float *direct_weight
        void (*gemm)(char *, char *, int *, int *, int *, float *, float *, int *,
                     float *, int *, float *, float *, int *) noexcept nogil

    ctypedef struct fm_model_f64:
        const double **weights
        const double **biases
        const double *out_weight
        const double *out_bias
        const double *direct_weight
        void (*gemm)(char *, char *, int *, int *, int *, double *, double *, int *,
                     double *, int *, double *, double *, int *) noexcept nogil

    int fm_openmp_enabled() noexcept nogil
    int fm_count_degrees(int n_dims, int layer, int n_units, const int64_t *degrees,
                         int *counts) noexcept nogil
    void fm_feature_offsets(int n_dims, int n_layers, const int *widths,
                            int *offsets) noexcept nogil
    int fm_default_block_dims(int n_dims, int n_layers, const int *widths,
                              int n_params, int has_direct,
                              int *sub_block_dims) noexcept nogil
    size_t fm_scratch_size(const fm_plan *plan, int tile_rows,
                           size_t elem_size) noexcept nogil
    void fm_sample_tile_f32(const fm_plan *plan, const fm_model_f32 *model, int m,
                            const double *noise, float *out, float *params_out,
                            float *scratch) noexcept nogil
    void fm_sample_tile_f64(const fm_plan *plan, const fm_model_f64 *model, int m,
                            const double *noise, double *out, double *params_out,
                            double *scratch) noexcept nogil


ACTIVATIONS = {"relu": FM_RELU, "tanh": FM_TANH, "sigmoid": FM_SIGMOID}
"""dict: activation name -> code accepted by :func:`sample_member`."""

CONDITIONALS = {
    "bernoulli": FM_BERNOULLI, "gaussian": FM_GAUSSIAN, "mixture": FM_MIXTURE
}
"""dict: conditional name -> code accepted by :func:`sample_member`."""

MAX_COMPONENTS = FM_MAX_COMPONENTS
"""int: the most components a mixture conditional may have."""


TILE_ROWS = 256
"""int: rows a tile by default (``tile_rows`` of :func:`sample_member`)."""


def conditional_shape(int code, int n_components=1):
    """Return (P, R): output parameters a dimension and random numbers a draw.

    Raises
    ------
    ValueError
        For an unknown code, or a mixture whose component count is outside
        [1, MAX_COMPONENTS].
    """
    cdef int n_params, n_uniforms
    if fm_conditional_shape(code, n_components, &n_params, &n_uniforms) != 0:
        raise ValueError(
            f"unknown conditional code {code} (known codes: {CONDITIONALS}) or "
            f"n_components={n_components} outside [1, {FM_MAX_COMPONENTS}]")
    return n_params, n_uniforms


CONDITIONAL_SHAPES = {code: conditional_shape(code) for code in CONDITIONALS.values()}
"""dict: conditional code -> (P, R), with one component for a mixture."""

# One controller for the life of the module: building it scans the loaded
# libraries, which is far too slow to repeat on every call.
_BLAS_CONTROLLER = ThreadpoolController()


def openmp_enabled():
    """Return whether the kernel was compiled with OpenMP.

    Returns
    -------
    enabled : bool
        Without OpenMP the tiles run one after the other and ``n_jobs`` has no
        effect.
    """
    return bool(fm_openmp_enabled())


def default_block_dims(n_dims, widths, n_params=1, has_direct=False):
    """Return the block and sub-block sizes the kernel picks, in dimensions.

    Parameters
    ----------
    n_dims : int
        Number of input dimensions D.
    widths : sequence of int
        Units of each hidden layer.
    n_params : int, default=1
        Output parameters a dimension (P of the conditional).
    has_direct : bool, default=False
        Whether the network has direct input-to-output connections.

    Returns
    -------
    block_dims : int
        Dimensions a block, in [1, D].
    sub_block_dims : int
        Dimensions a sub-block, in [1, block_dims].

    Notes
    -----
    The rule, a cost model with constants measured on OpenBLAS, is explained in
    ``csrc/cached_sampler.c``. A tile of one row runs without blocks or BLAS.
    """
    cdef int[::1] w = np.ascontiguousarray(widths, dtype=np.intc)
    cdef int sub_block_dims
    if n_dims < 1 or w.shape[0] < 1 or min(w) < 1:
        raise ValueError("need n_dims >= 1 and hidden layers of at least one unit")
    block_dims = fm_default_block_dims(n_dims, w.shape[0], &w[0], n_params,
                                       1 if has_direct else 0, &sub_block_dims)
    return block_dims, sub_block_dims


cdef str _label(str name, Py_ssize_t index):
    return name if index < 0 else f"{name}[{index}]"


cdef void *_checked(obj, str name, Py_ssize_t index, int typenum, int ndim,
                    Py_ssize_t d0, Py_ssize_t d1, Py_ssize_t d2,
                    bint writeable) except? NULL:
    """Return the data of obj, a C-contiguous array of this type and shape.

    Checks through the C API, building no Python object unless one fails: for
    one row the whole call takes tens of microseconds.
    """
    cdef cnp.ndarray arr
    cdef cnp.npy_intp *dims
    cdef Py_ssize_t expected[3]
    cdef bint same
    cdef int i

    if not cnp.PyArray_Check(obj):
        raise TypeError(
            f"{_label(name, index)} must be a NumPy array, got {type(obj).__name__}")
    arr = <cnp.ndarray>obj
    if cnp.PyArray_TYPE(arr) != typenum:
        raise TypeError(
            f"{_label(name, index)} has dtype {arr.dtype}, expected "
            f"{cnp.PyArray_DescrFromType(typenum)}: the weights, biases, out and "
            "params_out must share one floating dtype and noise must be float64")
    expected[0], expected[1], expected[2] = d0, d1, d2
    dims = cnp.PyArray_DIMS(arr)
    same = cnp.PyArray_NDIM(arr) == ndim
    if same:
        for i in range(ndim):
            if dims[i] != expected[i]:
                same = False
                break
    if not same:
        raise ValueError(
            f"{_label(name, index)} has shape {obj.shape}, expected "
            f"{tuple([expected[i] for i in range(ndim)])}")
    if not cnp.PyArray_IS_C_CONTIGUOUS(arr):
        raise ValueError(f"{_label(name, index)} must be C-contiguous")
    if writeable and not cnp.PyArray_ISWRITEABLE(arr):
        raise ValueError(f"{_label(name, index)} must be writeable")
    return cnp.PyArray_DATA(arr)


cdef Py_ssize_t _width(obj, Py_ssize_t index) except -1:
    """Columns of weights[index], which must be a 2-D array with at least one."""
    if not cnp.PyArray_Check(obj) or cnp.PyArray_NDIM(<cnp.ndarray>obj) != 2:
        raise ValueError(f"weights[{index}] must be a 2-D array")
    if cnp.PyArray_DIMS(<cnp.ndarray>obj)[1] < 1:
        raise ValueError(f"weights[{index}] has no columns; a layer needs a unit")
    return cnp.PyArray_DIMS(<cnp.ndarray>obj)[1]


cdef cnp.ndarray _degrees(obj, Py_ssize_t index, Py_ssize_t n_units):
    """Degrees of layer index as a contiguous int64 array of n_units values."""
    cdef cnp.ndarray arr
    if (cnp.PyArray_Check(obj) and cnp.PyArray_TYPE(<cnp.ndarray>obj) == cnp.NPY_INT64
            and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>obj)):
        arr = <cnp.ndarray>obj
    else:
        arr = np.asarray(obj)
        if arr.dtype.kind not in "iu":
            raise TypeError(
                f"degrees[{index}] must hold integers, got dtype {arr.dtype}")
        # Unsigned values above 2**63 wrap to negative ones: still out of range.
        arr = np.ascontiguousarray(arr, dtype=np.int64)
    if cnp.PyArray_NDIM(arr) != 1 or cnp.PyArray_DIMS(arr)[0] != n_units:
        raise ValueError(
            f"degrees[{index}] has shape {(<object>arr).shape}, expected "
            f"({n_units},)")
    return arr


cdef int _run(const fm_plan *plan, const fm_model_f32 *model32,
              const fm_model_f64 *model64, bint is_float32, const double *noise,
              void *out, void *params_out, Py_ssize_t n_rows, int tile_rows,
              int n_jobs):
    """Release the GIL once for the whole sampling."""
    cdef int status
    with nogil:
        if is_float32:
            status = _sample_tiles(plan, model32, noise, <float *>out,
                                   <float *>params_out, n_rows, tile_rows, n_jobs)
        else:
            status = _sample_tiles(plan, model64, noise, <double *>out,
                                   <double *>params_out, n_rows, tile_rows, n_jobs)
    return status


cdef int _sample_tiles(
    const fm_plan *plan,
    const void *model,       # IN: fm_model_f32 or fm_model_f64, as floating
    const double *noise,     # IN: (N, D, R)
    floating *out,           # OUT: (N, D)
    floating *params_out,    # OUT: (N, D * P) or NULL
    Py_ssize_t n_rows,
    int tile_rows,
    int n_jobs,
) noexcept nogil:
    """Sample all rows tile by tile; return -1 if scratch could not be allocated."""
    cdef Py_ssize_t n_tiles = (n_rows + tile_rows - 1) // tile_rows
    cdef size_t scratch_size = fm_scratch_size(plan, tile_rows, sizeof(floating))
    cdef floating *scratch = NULL
    cdef Py_ssize_t t
    cdef int failed = 0

    if n_jobs == 1 or n_tiles == 1:
        # No parallel region: it costs microseconds, which matter for small N.
        scratch = <floating *>malloc(scratch_size * sizeof(floating))
        if scratch == NULL:
            return -1
        for t in range(n_tiles):
            _sample_tile(plan, model, noise, out, params_out, n_rows, tile_rows, t,
                         scratch)
        free(scratch)
        return 0

    with parallel(num_threads=n_jobs):
        # Each thread owns one tile's scratch, whatever N is.
        scratch = <floating *>malloc(scratch_size * sizeof(floating))
        for t in prange(n_tiles, schedule="dynamic"):
            if scratch == NULL:
                failed += 1
            else:
                _sample_tile(plan, model, noise, out, params_out, n_rows,
                             tile_rows, t, scratch)
        free(scratch)
    return -1 if failed else 0


cdef inline void _sample_tile(
    const fm_plan *plan,
    const void *model,       # IN
    const double *noise,     # IN: all N rows
    floating *out,           # OUT: all N rows
    floating *params_out,    # OUT: all N rows, or NULL
    Py_ssize_t n_rows,
    int tile_rows,
    Py_ssize_t tile,
    floating *scratch,       # the calling thread's
) noexcept nogil:
    """Sample rows tile * tile_rows ... of the N rows."""
    cdef Py_ssize_t row0 = tile * tile_rows
    cdef int m = <int>min(<Py_ssize_t>tile_rows, n_rows - row0)
    cdef Py_ssize_t n_dims = plan.n_dims
    cdef floating *tile_params = NULL

    if params_out != NULL:
        tile_params = params_out + row0 * n_dims * plan.n_params
    if floating is float:
        fm_sample_tile_f32(plan, <const fm_model_f32 *>model, m,
                           noise + row0 * n_dims * plan.n_uniforms,
                           out + row0 * n_dims, tile_params, scratch)
    else:
        fm_sample_tile_f64(plan, <const fm_model_f64 *>model, m,
                           noise + row0 * n_dims * plan.n_uniforms,
                           out + row0 * n_dims, tile_params, scratch)


def sample_member(
    weights,          # IN: L arrays (n_{l-1}, n_l)
    biases,           # IN: L arrays (n_l,)
    degrees,          # IN: L integer arrays (n_l,)
    out_weight,       # IN: (n_L, D * P)
    out_bias,         # IN: (D * P,)
    direct_weight,    # IN: (D, D * P) or None
    int activation,
    int conditional,
    noise,            # IN: (N, D, R) float64
    out,              # OUT: (N, D)
    params_out=None,  # OUT: (N, D * P) or None
    int n_jobs=1,
    int tile_rows=TILE_ROWS,
    block_dims=None,
    int n_components=1,
):
    """Draw N samples from one mask member by cached incremental sampling.

    Everything is in sorted coordinates: input j has degree j + 1, and the units
    of every hidden layer are sorted by degree. Weights behind the masks may hold
    any value; the kernel never reads them.

    Parameters
    ----------
    weights : list of L ndarray
        (IN) Hidden weights; ``weights[l]`` has shape (n_l, n_{l+1}) with
        n_0 = D, float32 or float64, C-contiguous.
    biases : list of L ndarray
        (IN) Hidden biases, ``biases[l]`` of shape (n_{l+1},).
    degrees : list of L ndarray of int
        (IN) Degrees of the hidden units, non-decreasing, in [1, D]. Any integer
        dtype.
    out_weight : ndarray of shape (n_L, D * P)
        (IN) Output weights; column d * P + p is parameter p of dimension d.
    out_bias : ndarray of shape (D * P,)
        (IN) Output biases.
    direct_weight : ndarray of shape (D, D * P) or None
        (IN) Direct input-to-output weights, or None without them.
    activation : int
        Code from :data:`ACTIVATIONS`.
    conditional : int
        Code from :data:`CONDITIONALS`; :func:`conditional_shape` gives its
        (P, R).
    noise : ndarray of shape (N, D, R), float64
        (IN) The random numbers of each draw; ``noise[n, d]`` are those of
        dimension d of row n: the logit of a uniform for Bernoulli, a standard
        normal deviate for a Gaussian, a uniform then a deviate for a mixture.
    out : ndarray of shape (N, D)
        (OUT) The samples, same dtype as the weights.
    params_out : ndarray of shape (N, D * P), default=None
        (OUT) If given, the output parameters each draw used, which equal a full
        forward pass of ``out``.
    n_jobs : int, default=1
        Threads over which the tiles are spread (OpenMP).
    tile_rows : int, default=256
        Rows a tile (at most 2**24); each thread holds the activations of one
        tile, ``tile_rows * (D + sum(n_l) + D * P)`` values plus padding, however
        large N is.
    block_dims : int or (int, int), default=None
        Dimensions a block and a sub-block; one int sets both (blocks without
        sub-blocks), and ``block_dims=D`` runs without BLAS. None picks them from
        the shapes (:func:`default_block_dims`). Tiles of one row ignore them.
        For tuning and testing.
    n_components : int, default=1
        Components of each conditional of a mixture.

    Returns
    -------
    out : ndarray of shape (N, D)
        The array passed as ``out``.

    Notes
    -----
    The work is about one masked forward pass of the N rows, against D passes
    for naive sampling, and most of it runs as GEMMs.

    Results do not depend on ``n_jobs``: BLAS is held to one thread while the
    kernel runs (with ``n_jobs=1`` as well), since a threaded GEMM may round a row
    differently. They depend on ``tile_rows`` and ``block_dims`` only through
    rounding: BLAS may sum a row's products in an order that depends on the
    number of rows in the call, so a random number within rounding of its threshold
    may draw differently. With ``block_dims=D`` no BLAS runs and the rows are
    bit-identical for every tiling (up to the sign of zero sums).
    """
    cdef Py_ssize_t n_layers, n_rows, n_dims, n_out, width, previous, features, l
    cdef int n_params, n_uniforms, typenum
    cdef int status = 0
    cdef fm_plan plan
    cdef fm_model_f32 model32
    cdef fm_model_f64 model64
    cdef int *ints = NULL
    cdef void **pointers = NULL
    cdef const double *noise_ptr
    cdef void *out_ptr
    cdef void *out_weight_ptr
    cdef void *out_bias_ptr
    cdef void *direct_ptr = NULL
    cdef void *params_ptr = NULL
    cdef cnp.ndarray degree

    # --- scalar arguments -----------------------------------------------------
    if activation not in (FM_RELU, FM_TANH, FM_SIGMOID):
        raise ValueError(
            f"unknown activation code {activation}; known codes: {ACTIVATIONS}")
    n_params, n_uniforms = conditional_shape(conditional, n_components)
    if n_jobs < 1:
        raise ValueError(f"n_jobs must be >= 1, got {n_jobs}")
    if tile_rows < 1:
        raise ValueError(f"tile_rows must be >= 1, got {tile_rows}")

    # --- arrays ---------------------------------------------------------------
    if not isinstance(weights, (list, tuple)) or len(weights) < 1:
        raise ValueError("weights must be a non-empty list of arrays, one a layer")
    n_layers = len(weights)
    if not isinstance(biases, (list, tuple)) or len(biases) != n_layers:
        raise ValueError(f"biases must be a list of {n_layers} arrays, like weights")
    if not isinstance(degrees, (list, tuple)) or len(degrees) != n_layers:
        raise ValueError(f"degrees must be a list of {n_layers} arrays, like weights")
    if not cnp.PyArray_Check(out_weight):
        raise TypeError("out_weight must be a NumPy array")
    typenum = cnp.PyArray_TYPE(<cnp.ndarray>out_weight)
    if typenum != cnp.NPY_FLOAT32 and typenum != cnp.NPY_FLOAT64:
        raise TypeError(
            f"the weights must be float32 or float64, got {out_weight.dtype}")
    if not cnp.PyArray_Check(out) or cnp.PyArray_NDIM(<cnp.ndarray>out) != 2:
        raise ValueError("out must be a 2-D array of shape (N, D)")
    n_rows = cnp.PyArray_DIMS(<cnp.ndarray>out)[0]
    n_dims = cnp.PyArray_DIMS(<cnp.ndarray>out)[1]
    n_out = n_dims * n_params
    if n_dims < 1:
        raise ValueError("out must have at least one column (D >= 1)")
    if n_dims * (1 + n_params) > INT_MAX:
        raise ValueError(f"D = {n_dims} is too large for the kernel's int indices")
    out_ptr = _checked(out, "out", -1, typenum, 2, n_rows, n_dims, 0, True)
    noise_ptr = <const double *>_checked(noise, "noise", -1, cnp.NPY_FLOAT64, 3,
                                         n_rows, n_dims, n_uniforms, False)
    if params_out is not None:
        params_ptr = _checked(params_out, "params_out", -1, typenum, 2, n_rows,
                              n_out, 0, True)

    # One allocation for the integer tables and one for the layer pointers.
    ints = <int *>malloc((2 * n_layers + 2 + (n_layers + 1) * (n_dims + 1))
                         * sizeof(int))
    pointers = <void **>malloc(2 * n_layers * sizeof(void *))
    try:
        if ints == NULL or pointers == NULL:
            raise MemoryError()
        plan.widths = ints
        plan.offsets = ints + n_layers
        plan.counts = ints + 2 * n_layers + 2
        fm_count_degrees(n_dims, 0, n_dims, NULL, <int *>plan.counts)
        previous = n_dims
        features = n_dims * (1 + n_params)
        for l in range(n_layers):
            width = _width(weights[l], l)
            pointers[l] = _checked(weights[l], "weights", l, typenum, 2, previous,
                                   width, 0, False)
            pointers[n_layers + l] = _checked(biases[l], "biases", l, typenum, 1,
                                              width, 0, 0, False)
            (<int *>plan.widths)[l] = width
            features += width
            if features > INT_MAX:
                raise ValueError("the layers are too wide for the kernel's int indices")
            degree = _degrees(degrees[l], l, width)
            status = fm_count_degrees(n_dims, l + 1, width,
                                      <const int64_t *>cnp.PyArray_DATA(degree),
                                      <int *>plan.counts)
            if status == FM_DEGREE_RANGE:
                raise ValueError(f"degrees[{l}] must lie in [1, D] = [1, {n_dims}]")
            if status == FM_DEGREE_ORDER:
                raise ValueError(
                    f"degrees[{l}] must be sorted in non-decreasing order (sorted "
                    "coordinates)")
            previous = width
        out_weight_ptr = _checked(out_weight, "out_weight", -1, typenum, 2, previous,
                                  n_out, 0, False)
        out_bias_ptr = _checked(out_bias, "out_bias", -1, typenum, 1, n_out, 0, 0,
                                False)
        if direct_weight is not None:
            direct_ptr = _checked(direct_weight, "direct_weight", -1, typenum, 2,
                                  n_dims, n_out, 0, False)

        if block_dims is None:
            plan.block_dims = fm_default_block_dims(
                n_dims, n_layers, plan.widths, n_params, direct_ptr != NULL,
                &plan.sub_block_dims)
        else:
            blocks = block_dims if np.ndim(block_dims) else (block_dims, block_dims)
            if (len(blocks) != 2 or not 1 <= blocks[0] <= n_dims
                    or not 1 <= blocks[1] <= blocks[0]):
                raise ValueError(
                    f"block_dims must be an int in [1, D] = [1, {n_dims}] or a pair "
                    f"(block, sub-block) with 1 <= sub-block <= block <= D, got "
                    f"{block_dims!r}")
            plan.block_dims, plan.sub_block_dims = blocks
        if n_rows == 0:
            return out

        # --- run --------------------------------------------------------------
        fm_feature_offsets(n_dims, n_layers, plan.widths, <int *>plan.offsets)
        plan.n_dims = n_dims
        plan.n_layers = n_layers
        plan.activation = activation
        plan.conditional = conditional
        plan.n_params = n_params
        plan.n_uniforms = n_uniforms
        model32.weights = <const float **>pointers
        model32.biases = <const float **>(pointers + n_layers)
        model32.out_weight = <const float *>out_weight_ptr
        model32.out_bias = <const float *>out_bias_ptr
        model32.direct_weight = <const float *>direct_ptr
        model32.gemm = sgemm
        model64.weights = <const double **>pointers
        model64.biases = <const double **>(pointers + n_layers)
        model64.out_weight = <const double *>out_weight_ptr
        model64.out_bias = <const double *>out_bias_ptr
        model64.direct_weight = <const double *>direct_ptr
        model64.gemm = dgemm

        # The cap keeps BLAS leading dimensions and the tile padding in int.
        tile_rows = <int>min(<Py_ssize_t>tile_rows, n_rows, 1 << 24)
        if tile_rows > 1 and plan.sub_block_dims < n_dims:
            # GEMMs will run: hold BLAS to one thread, with n_jobs = 1 as well.
            # BLAS threads inside the OpenMP threads would oversubscribe the
            # cores; within one thread they cost more than they give on these
            # small GEMMs (a hundredfold when another process holds a core); and
            # a threaded GEMM may round a row differently from a serial one,
            # which would make the samples depend on n_jobs. Without GEMMs (one
            # row a tile) the limit, about 10 us, is skipped.
            with _BLAS_CONTROLLER.limit(limits=1, user_api="blas"):
                status = _run(&plan, &model32, &model64, typenum == cnp.NPY_FLOAT32,
                              noise_ptr, out_ptr, params_ptr, n_rows, tile_rows,
                              n_jobs)
        else:
            status = _run(&plan, &model32, &model64, typenum == cnp.NPY_FLOAT32,
                          noise_ptr, out_ptr, params_ptr, n_rows, tile_rows, n_jobs)
    finally:
        free(ints)
        free(pointers)
    if status != 0:
        raise MemoryError("could not allocate the sampling scratch of a tile")
    return out
