/*
 * Cached incremental sampling of one MADE mask member (see cached_sampler.h).
 *
 * Every hidden unit is computed exactly once, for a tile of rows at a time. The
 * dimensions run in blocks, each split into sub-blocks. Before a (sub-)block
 * [s, e), inputs 0..s-1 are drawn and every hidden unit of degree <= s is final.
 * Then:
 *
 * 1. bulk, through GEMMs: the hidden units of degree in (s, e] of every layer
 *    and the outputs of dimensions s..e-1 receive their sources of degree <= s:
 *    at a block's start all of them, after the bias; at a later sub-block's
 *    start those inside the block;
 * 2. sequential, for d = s..e-1: output d receives its sources of degree in
 *    (s, d], x_d is drawn, and the units of degree d + 1 receive their sources
 *    of degree in (s, d + 1] and are activated, layer by layer.
 *
 * Units of degree D feed no output, so they are never computed.
 *
 * The file is written once for both floating types: it includes itself twice,
 * with FM_REAL set to float and to double.
 */
#ifndef FM_REAL

#include <math.h>
#include <stddef.h>

#include "cached_sampler.h"
#include "conditionals.h"

/*
 * Block sizes. The dimensions run in blocks of B1, split into sub-blocks of B2:
 * a block's units get their sources of lower degree through large GEMMs, a
 * sub-block's through small GEMMs from the sources inside its block, and only
 * sources inside a sub-block go through the sequential loops.
 *
 * Each level trades the same two costs. A GEMM w units wide pays a fixed cost
 * per source (packing its activations, about c / w of the work); widening the
 * blocks by a factor moves that fraction of the multiply-adds to the next, less
 * efficient level. With u target units a dimension (w = u * B) the sum is
 * minimal at B = sqrt(k * D / u) for a constant k of the level. Over all the
 * connections t (inputs -> layer 1, ..., layer L -> outputs, inputs -> outputs)
 * of work n_src,t * n_tgt,t the same sum gives
 *     B = k' * D * sqrt(sum_t n_src,t / sum_t n_src,t * n_tgt,t).
 * The factors k' below were measured with OpenBLAS (sgemm, D = 784, 500 units,
 * 256-row tiles), where B1 = 196..262 and B2 = 16..24 were best. A tile of one
 * row ignores them (see fm_sample_row).
 */
#define FM_BLOCK_FACTOR 7.0
#define FM_SUB_BLOCK_FACTOR 0.6

/* Dimensions a group of the one-row path (fm_sample_row); measured, 8..32 run
   alike. */
#define FM_ROW_GROUP 16

/*
 * The build targets baseline x86-64 (SSE2). The functions holding the row loops
 * also get copies for AVX-512 and for AVX2 + FMA, picked at load time: wider
 * vectors, and the 64-bit integer min of fm_clamp_magnitude, without which the
 * exp-based loops stay scalar. Elsewhere the baseline build is used.
 */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    defined(__linux__) && __GNUC__ >= 11
#define FM_VECTOR_CLONES                                                       \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FM_VECTOR_CLONES
#endif

/* Inlined into the cloned callers, so that the loops get their instruction set
   and the constant chunk length. */
#if defined(__GNUC__)
#define FM_INLINE static inline __attribute__((always_inline))
#elif defined(_MSC_VER)
#define FM_INLINE static __forceinline
#else
#define FM_INLINE static inline
#endif

/*
 * Activations (fm_tanh, in double, is in conditionals.h, whose Gaussian scales
 * use it too). The float versions, for float32 networks, are
 * accurate to a few float ulp with half the polynomial: twice as many lanes a
 * vector, and a shorter dependency chain, which is what one-row sampling waits
 * on. The double versions are accurate to a few double ulp.
 */

/* x with its magnitude clamped to bound >= 0 (see fm_clamp_magnitude). */
static inline float fm_clamp_magnitudef(float x, float bound)
{
    float magnitude = fabsf(x);
    int32_t bits, bound_bits;

    memcpy(&bits, &magnitude, sizeof bits);
    memcpy(&bound_bits, &bound, sizeof bound_bits);
    bits = bits < bound_bits ? bits : bound_bits;
    memcpy(&magnitude, &bits, sizeof magnitude);
    return copysignf(magnitude, x);
}

/*
 * Float version of fm_exp_reduce, for x clamped to [-87, 87]: r with |r| <=
 * ln2 / 2 and 2^k. ln2_hi has 9 trailing zero bits, so k * ln2_hi is exact.
 */
static inline float fm_expf_reduce(float x, float *scale)
{
    const float shift = 0x1.8p23f, log2e = 1.44269504f;
    const float ln2_hi = 0x1.62e400p-1f, ln2_lo = 0x1.7f7d1cp-20f;
    float kd;
    uint32_t bits;

    x = fm_clamp_magnitudef(x, 87.0f);
    kd = x * log2e + shift;
    memcpy(&bits, &kd, sizeof bits);
    kd -= shift;
    bits = (bits + 127u) << 23;
    memcpy(scale, &bits, sizeof *scale);
    return (x - kd * ln2_hi) - kd * ln2_lo;
}

/* (e^r - 1) / r for |r| <= ln2 / 2: Taylor to r^7 (next term < 6e-10). */
static inline float fm_expm1_ratiof(float r)
{
    float r2 = r * r, r4 = r2 * r2;
    float q0 = (1.0f + r * (1.0f / 2)) + r2 * (1.0f / 6 + r * (1.0f / 24));
    float q1 =
        (1.0f / 120 + r * (1.0f / 720)) + r2 * (1.0f / 5040 + r * (1.0f / 40320));

    return q0 + r4 * q1;
}

/* tanh in float; above |x| = 9 it is 1 in float. */
static inline float fm_tanhf(float x)
{
    float scale, r, em1;

    r = fm_expf_reduce(2.0f * fabsf(fm_clamp_magnitudef(x, 9.0f)), &scale);
    em1 = scale * (r * fm_expm1_ratiof(r)) + (scale - 1.0f);
    return copysignf(em1 / (em1 + 2.0f), x);
}

/* 1 / (1 + exp(-x)) in float; the clamp of the reduction only matters where
   the result is below 2e-38 or rounds to 1. */
static inline float fm_sigmoidf(float x)
{
    float scale, r = fm_expf_reduce(-x, &scale);

    return 1.0f / (1.0f + (r * fm_expm1_ratiof(r) + 1.0f) * scale);
}

int fm_openmp_enabled(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

int fm_count_degrees(int n_dims, int layer, int n_units, const int64_t *degrees,
                     int *counts)
{
    int *row = counts + (ptrdiff_t)layer * (n_dims + 1);
    int t, k = 0;

    if (degrees == NULL) {
        for (t = 0; t <= n_dims; t++)
            row[t] = t;
        return 0;
    }
    for (k = 0; k < n_units; k++)
        if (degrees[k] < 1 || degrees[k] > n_dims)
            return FM_DEGREE_RANGE;
    for (k = 1; k < n_units; k++)
        if (degrees[k] < degrees[k - 1])
            return FM_DEGREE_ORDER;
    k = 0;
    for (t = 0; t <= n_dims; t++) {
        while (k < n_units && degrees[k] <= t)
            k++;
        row[t] = k;
    }
    return 0;
}

/* Round x to an integer in [lo, hi]. */
static int fm_clamp_round(double x, int lo, int hi)
{
    if (x < lo)
        return lo;
    if (x > hi)
        return hi;
    return (int)(x + 0.5);
}

int fm_default_block_dims(int n_dims, int n_layers, const int *widths,
                          int n_params, int has_direct, int *sub_block_dims)
{
    double n_out = (double)n_dims * n_params;
    double sources = n_dims, work = (double)n_dims * widths[0], base;
    int l, block;

    for (l = 1; l < n_layers; l++) {
        sources += widths[l - 1];
        work += (double)widths[l - 1] * widths[l];
    }
    sources += widths[n_layers - 1];
    work += widths[n_layers - 1] * n_out;
    if (has_direct) {
        sources += n_dims;
        work += n_dims * n_out;
    }
    base = n_dims * sqrt(sources / work);
    block = fm_clamp_round(FM_BLOCK_FACTOR * base, 1, n_dims);
    *sub_block_dims = fm_clamp_round(FM_SUB_BLOCK_FACTOR * base, 1, block);
    return block;
}

void fm_feature_offsets(int n_dims, int n_layers, const int *widths, int *offsets)
{
    int l;

    offsets[0] = 0;
    offsets[1] = n_dims;
    for (l = 1; l <= n_layers; l++)
        offsets[l + 1] = offsets[l] + widths[l - 1];
}

/*
 * Leading dimension (stride between features) of a tile buffer of m rows, for
 * elements of elem_size bytes: m rounded up to whole cache lines, plus a line if
 * that makes an even number. With an even stride, m = 256 floats say, features
 * fall in a few L1 sets and evict each other when a row chunk walks along them;
 * an odd stride spreads them over all sets. Rows narrower than a line (N = 1)
 * stay packed.
 */
static int fm_leading_dim(int m, size_t elem_size)
{
    int per_line = (int)(64 / elem_size), lines;

    if (m < per_line)
        return m;
    lines = (m + per_line - 1) / per_line;
    return (lines | 1) * per_line;
}

size_t fm_scratch_size(const fm_plan *plan, int tile_rows, size_t elem_size)
{
    size_t features = (size_t)plan->offsets[plan->n_layers + 1] +
                      (size_t)plan->n_dims * plan->n_params;

    return features * (size_t)fm_leading_dim(tile_rows, elem_size);
}

#define FM_REAL float
#define FM_SUFFIX(name) name##_f32
#define FM_MODEL fm_model_f32
#define FM_GEMM fm_sgemm_fn
#include "cached_sampler.c"
#undef FM_REAL
#undef FM_SUFFIX
#undef FM_MODEL
#undef FM_GEMM

#define FM_REAL double
#define FM_SUFFIX(name) name##_f64
#define FM_MODEL fm_model_f64
#define FM_GEMM fm_dgemm_fn
#include "cached_sampler.c"
#undef FM_REAL
#undef FM_SUFFIX
#undef FM_MODEL
#undef FM_GEMM

#else /* the body below is compiled once for each FM_REAL */

typedef FM_REAL FM_SUFFIX(fm_real);
#define T FM_SUFFIX(fm_real)

/*
 * Rows a chunk of the sequential phase: 256 bytes, eight AVX2 registers of
 * accumulators, enough independent chains to keep the FMA units busy. The row
 * loops have this constant trip count, so gcc unrolls and vectorises them.
 */
#define FM_ROW_CHUNK (256 / (int)sizeof(T))

/*
 * Summation order. Every hidden unit and output adds its sources in one fixed
 * order: the bias, the block's GEMMs, the sub-block's GEMMs, then, in increasing
 * degree g, the sources of degree g, where for an output the direct input of
 * degree g comes before the layer-L units of degree g. The pull loops (a target
 * sums its sources, vectorised over rows) and the push loops (a source adds
 * itself to its targets, vectorised over targets) both follow it, so they agree
 * to the bit, and a row's arithmetic does not depend on its tile beyond what
 * BLAS does.
 */

/* a[r] += sum_j w[j * w_stride] * src[j * ld + r], for r < rows <= chunk. */
FM_INLINE void FM_SUFFIX(fm_dot_rows_n)(int rows, int n, const T *w,
                                        ptrdiff_t w_stride, const T *src,
                                        ptrdiff_t ld, T *a)
{
    T acc[FM_ROW_CHUNK];
    int j, r;

    for (r = 0; r < rows; r++)
        acc[r] = a[r];
    for (j = 0; j < n; j++) {
        const T wj = w[j * w_stride];
        const T *x = src + j * ld;

        for (r = 0; r < rows; r++)
            acc[r] += wj * x[r];
    }
    for (r = 0; r < rows; r++)
        a[r] = acc[r];
}

/* fm_dot_rows_n with a constant trip count for full chunks: registers, SIMD. */
FM_INLINE void FM_SUFFIX(fm_dot_rows)(int rows, int n, const T *w,
                                      ptrdiff_t w_stride, const T *src,
                                      ptrdiff_t ld, T *a)
{
    if (rows == FM_ROW_CHUNK)
        FM_SUFFIX(fm_dot_rows_n)(FM_ROW_CHUNK, n, w, w_stride, src, ld, a);
    else
        FM_SUFFIX(fm_dot_rows_n)(rows, n, w, w_stride, src, ld, a);
}

/*
 * Output column c of dimension d, for rows r < rows <= chunk: add, for each
 * degree g in (s, d], the direct input of degree g, then the layer-L units of
 * degree g.
 */
FM_INLINE void FM_SUFFIX(fm_output_rows_n)(int rows, const fm_plan *plan,
                                           const FM_MODEL *model, int s, int d,
                                           int c, ptrdiff_t ld, const T *xs,
                                           const T *top_layer, T *o)
{
    const int D = plan->n_dims, n_out = D * plan->n_params;
    const int *last = plan->counts + (ptrdiff_t)plan->n_layers * (D + 1);
    const T *direct = model->direct_weight;
    T acc[FM_ROW_CHUNK];
    int t, k, r;

    for (r = 0; r < rows; r++)
        acc[r] = o[r];
    for (t = s; t < d; t++) {
        if (direct != NULL) {
            const T w = direct[(ptrdiff_t)t * n_out + c];
            const T *x = xs + t * ld;

            for (r = 0; r < rows; r++)
                acc[r] += w * x[r];
        }
        for (k = last[t]; k < last[t + 1]; k++) {
            const T w = model->out_weight[(ptrdiff_t)k * n_out + c];
            const T *h = top_layer + k * ld;

            for (r = 0; r < rows; r++)
                acc[r] += w * h[r];
        }
    }
    for (r = 0; r < rows; r++)
        o[r] = acc[r];
}

FM_INLINE void FM_SUFFIX(fm_output_rows)(int rows, const fm_plan *plan,
                                         const FM_MODEL *model, int s, int d, int c,
                                         ptrdiff_t ld, const T *xs,
                                         const T *top_layer, T *o)
{
    const int n_out = plan->n_dims * plan->n_params;
    const int *last = plan->counts + (ptrdiff_t)plan->n_layers * (plan->n_dims + 1);

    /* Without direct connections the sources are one run of layer-L units. */
    if (model->direct_weight == NULL)
        FM_SUFFIX(fm_dot_rows)(rows, last[d] - last[s],
                               model->out_weight + (ptrdiff_t)last[s] * n_out + c,
                               n_out, top_layer + last[s] * ld, ld, o);
    else if (rows == FM_ROW_CHUNK)
        FM_SUFFIX(fm_output_rows_n)(FM_ROW_CHUNK, plan, model, s, d, c, ld, xs,
                                    top_layer, o);
    else
        FM_SUFFIX(fm_output_rows_n)(rows, plan, model, s, d, c, ld, xs, top_layer,
                                    o);
}

/* y[k] += a * w[k] for k < n: a source pushed into contiguous targets. */
FM_INLINE void FM_SUFFIX(fm_axpy)(int n, T a, const T *w, T *y)
{
    int k;

    for (k = 0; k < n; k++)
        y[k] += a * w[k];
}

/*
 * Pending sources of a right-looking push (fm_sample_row). Adding a source
 * stores it and counts it only if it is nonzero, with no branch on the value: a
 * single row's zeros (Bernoulli inputs, ReLU units) fall at random, and a branch
 * per source mispredicts often enough to cost a third of the one-row time. The
 * flush then passes over the targets once for every four sources, loading and
 * storing them once while four weight rows stream through with loads only.
 * Sources are added in the order queued.
 */
#define FM_QUEUE_CAP 64

typedef struct {
    int n;
    T a[FM_QUEUE_CAP];
    const T *w[FM_QUEUE_CAP];
} FM_SUFFIX(fm_row_queue);

FM_INLINE void FM_SUFFIX(fm_queue_flush)(FM_SUFFIX(fm_row_queue) *q, int len, T *y)
{
    int i, u;

    for (i = 0; i + 4 <= q->n; i += 4) {
        const T a0 = q->a[i], a1 = q->a[i + 1], a2 = q->a[i + 2], a3 = q->a[i + 3];
        const T *w0 = q->w[i], *w1 = q->w[i + 1], *w2 = q->w[i + 2];
        const T *w3 = q->w[i + 3];

        for (u = 0; u < len; u++)
            y[u] = (((y[u] + a0 * w0[u]) + a1 * w1[u]) + a2 * w2[u]) + a3 * w3[u];
    }
    switch (q->n - i) {
    case 3:
        for (u = 0; u < len; u++)
            y[u] = ((y[u] + q->a[i] * q->w[i][u]) + q->a[i + 1] * q->w[i + 1][u]) +
                   q->a[i + 2] * q->w[i + 2][u];
        break;
    case 2:
        for (u = 0; u < len; u++)
            y[u] = (y[u] + q->a[i] * q->w[i][u]) + q->a[i + 1] * q->w[i + 1][u];
        break;
    case 1:
        FM_SUFFIX(fm_axpy)(len, q->a[i], q->w[i], y);
        break;
    default:
        break;
    }
    q->n = 0;
}

/* Queue source a with weight row w; zero sources take a slot but are not kept. */
FM_INLINE void FM_SUFFIX(fm_queue_add)(FM_SUFFIX(fm_row_queue) *q, T a, const T *w,
                                       int len, T *y)
{
    q->a[q->n] = a;
    q->w[q->n] = w;
    q->n += a != 0;
    if (q->n == FM_QUEUE_CAP)
        FM_SUFFIX(fm_queue_flush)(q, len, y);
}

FM_INLINE void FM_SUFFIX(fm_activate_rows)(int activation, int rows, T *a)
{
    int r;

    switch (activation) {
    case FM_RELU:
        for (r = 0; r < rows; r++)
            a[r] = a[r] > 0 ? a[r] : 0;
        break;
    case FM_TANH:
        if (sizeof(T) == sizeof(float))
            for (r = 0; r < rows; r++)
                a[r] = (T)fm_tanhf((float)a[r]);
        else
            for (r = 0; r < rows; r++)
                a[r] = (T)fm_tanh((double)a[r]);
        break;
    case FM_SIGMOID:
        if (sizeof(T) == sizeof(float))
            for (r = 0; r < rows; r++)
                a[r] = (T)fm_sigmoidf((float)a[r]);
        else
            for (r = 0; r < rows; r++)
                a[r] = (T)fm_sigmoid((double)a[r]);
        break;
    default:
        break;
    }
}

/*
 * Draw dimension d for rows r0 .. r0 + rows - 1 of the tile (rows <= chunk)
 * from its complete outputs, into the tile's inputs.
 */
FM_INLINE void FM_SUFFIX(fm_draw_dim)(const fm_plan *plan, ptrdiff_t ld, int d,
                                      int r0, int rows, const double *noise,
                                      T *scratch)
{
    const int D = plan->n_dims, P = plan->n_params, R = plan->n_uniforms;
    const T *outp = scratch + (ptrdiff_t)plan->offsets[plan->n_layers + 1] * ld;
    T *x = scratch + d * ld + r0;
    double theta[FM_ROW_CHUNK * FM_MAX_PARAMS];
    double draw[FM_ROW_CHUNK];
    int p, r;

    /* P >= 1 always; the bounds tell gcc that theta is filled and not overrun. */
    for (p = 0; p < (P > 0 ? P : 1) && p < FM_MAX_PARAMS; p++) {
        const int c = d * P + p;
        const T *o = outp + c * ld + r0;

        for (r = 0; r < rows; r++)
            theta[p * FM_ROW_CHUNK + r] = (double)o[r];
    }
    fm_draw_rows(plan->conditional, P, rows, theta, FM_ROW_CHUNK,
                 noise + (ptrdiff_t)r0 * D * R + (ptrdiff_t)d * R, (ptrdiff_t)D * R,
                 draw);
    for (r = 0; r < rows; r++)
        x[r] = (T)draw[r];
}

/*
 * Copy dimensions s..e-1 of rows r0 .. r0 + rows - 1 from the tile to `out` and
 * their parameters to `params_out` (if given). Once a block, not at each draw:
 * the rows' cache lines of `out` are then written while they sit in L1.
 */
FM_INLINE void FM_SUFFIX(fm_store_block)(const fm_plan *plan, ptrdiff_t ld, int s,
                                         int e, int r0, int rows, T *out,
                                         T *params_out, const T *scratch)
{
    const int D = plan->n_dims, n_out = D * plan->n_params;
    const int c0 = s * plan->n_params, c1 = e * plan->n_params;
    const T *outp = scratch + (ptrdiff_t)plan->offsets[plan->n_layers + 1] * ld;
    int r, j;

    for (j = s; j < e; j++) {
        const T *x = scratch + j * ld + r0;

        for (r = 0; r < rows; r++)
            out[(ptrdiff_t)(r0 + r) * D + j] = x[r];
    }
    if (params_out == NULL)
        return;
    for (j = c0; j < c1; j++) {
        const T *o = outp + j * ld + r0;

        for (r = 0; r < rows; r++)
            params_out[(ptrdiff_t)(r0 + r) * n_out + j] = o[r];
    }
}

/*
 * dst (m x n) += src (m x k) @ w (k x n), with src and dst feature-major
 * (column-major to BLAS, leading dimension ld) and w a row-major block of row
 * stride ld_w, which BLAS reads as the transpose of a column-major matrix.
 */
static void FM_SUFFIX(fm_gemm_acc)(FM_GEMM *gemm, int m, int ld, int n, int k,
                                   const T *src, const T *w, int ld_w, T *dst)
{
    char no_trans = 'N', trans = 'T';
    T one = 1;

    if (m <= 0 || n <= 0 || k <= 0)
        return;
    gemm(&no_trans, &trans, &m, &n, &k, &one, (T *)src, &ld, (T *)w, &ld_w, &one, dst,
         &ld);
}

/* a[u * ld + r] = bias[u] for the n units and m rows of a feature-major block. */
static void FM_SUFFIX(fm_fill_bias)(int m, int n, const T *bias, T *a, ptrdiff_t ld)
{
    int u, r;

    for (u = 0; u < n; u++)
        for (r = 0; r < m; r++)
            a[u * ld + r] = bias[u];
}

/*
 * Bulk phase of block [s, e): the hidden units of degree in (s, min(e, D - 1)]
 * and the outputs s..e-1 receive, through GEMMs, every source of degree in
 * (from, s], after their bias if with_bias.
 */
FM_VECTOR_CLONES static void FM_SUFFIX(fm_block_bulk)(const fm_plan *plan,
                                                      const FM_MODEL *model, int m,
                                                      int ld, int from, int s, int e,
                                                      int with_bias, T *scratch)
{
    const int D = plan->n_dims, L = plan->n_layers, P = plan->n_params;
    const int top = e < D ? e : D - 1;
    const int *cnt = plan->counts;
    int l;

    for (l = 1; l <= L; l++) {
        const int *below = cnt + (ptrdiff_t)(l - 1) * (D + 1);
        const int *here = cnt + (ptrdiff_t)l * (D + 1);
        const int width = plan->widths[l - 1];
        const int lo = here[s], hi = top > s ? here[top] : lo, j0 = below[from];
        const T *src = scratch + ((ptrdiff_t)plan->offsets[l - 1] + j0) * ld;
        T *dst = scratch + ((ptrdiff_t)plan->offsets[l] + lo) * ld;

        if (hi <= lo)
            continue;
        if (with_bias)
            FM_SUFFIX(fm_fill_bias)(m, hi - lo, model->biases[l - 1] + lo, dst, ld);
        FM_SUFFIX(fm_gemm_acc)(model->gemm, m, ld, hi - lo, below[s] - j0, src,
                               model->weights[l - 1] + (ptrdiff_t)j0 * width + lo,
                               width, dst);
    }

    {
        const int n_out = D * P, c0 = s * P, c1 = e * P;
        const int *last = cnt + (ptrdiff_t)L * (D + 1);
        const int k0 = last[from];
        T *dst = scratch + ((ptrdiff_t)plan->offsets[L + 1] + c0) * ld;

        if (with_bias)
            FM_SUFFIX(fm_fill_bias)(m, c1 - c0, model->out_bias + c0, dst, ld);
        FM_SUFFIX(fm_gemm_acc)(model->gemm, m, ld, c1 - c0, last[s] - k0,
                               scratch + ((ptrdiff_t)plan->offsets[L] + k0) * ld,
                               model->out_weight + (ptrdiff_t)k0 * n_out + c0, n_out,
                               dst);
        if (model->direct_weight != NULL)
            FM_SUFFIX(fm_gemm_acc)(model->gemm, m, ld, c1 - c0, s - from,
                                   scratch + (ptrdiff_t)from * ld,
                                   model->direct_weight + (ptrdiff_t)from * n_out + c0,
                                   n_out, dst);
    }
}

/*
 * Phase 2 of block [s, e) in pull order, for rows r0 .. r0 + rows - 1 of the
 * tile: complete output d, draw x_d, finalise the units of degree d + 1.
 */
FM_VECTOR_CLONES static void FM_SUFFIX(fm_block_pull)(
    const fm_plan *plan, const FM_MODEL *model, ptrdiff_t ld, int s, int e, int r0,
    int rows, const double *noise, T *out, T *params_out, T *scratch)
{
    const int D = plan->n_dims, L = plan->n_layers, P = plan->n_params;
    const int *cnt = plan->counts;
    const T *top_layer = scratch + (ptrdiff_t)plan->offsets[L] * ld;
    T *outp = scratch + (ptrdiff_t)plan->offsets[L + 1] * ld;
    int d, p, l, k;

    for (d = s; d < e; d++) {
        for (p = 0; p < P; p++)
            FM_SUFFIX(fm_output_rows)(rows, plan, model, s, d, d * P + p, ld,
                                      scratch + r0, top_layer + r0,
                                      outp + (d * P + p) * ld + r0);
        FM_SUFFIX(fm_draw_dim)(plan, ld, d, r0, rows, noise, scratch);
        if (d + 1 == D)
            continue;

        for (l = 1; l <= L; l++) {
            const int *below = cnt + (ptrdiff_t)(l - 1) * (D + 1);
            const int *here = cnt + (ptrdiff_t)l * (D + 1);
            const int width = plan->widths[l - 1];
            const int j0 = below[s], n_src = below[d + 1] - below[s];
            const T *src = scratch + (plan->offsets[l - 1] + j0) * ld + r0;
            const T *w = model->weights[l - 1] + (ptrdiff_t)j0 * width;

            for (k = here[d]; k < here[d + 1]; k++) {
                T *a = scratch + (plan->offsets[l] + k) * ld + r0;

                FM_SUFFIX(fm_dot_rows)(rows, n_src, w + k, width, src, ld, a);
                FM_SUFFIX(fm_activate_rows)(plan->activation, rows, a);
            }
        }
    }
    FM_SUFFIX(fm_store_block)(plan, ld, s, e, r0, rows, out, params_out, scratch);
}

/*
 * Phase 2 of block [s, e) in push order, for a tile of one row: each new value
 * (a draw, an activation) is added to its targets in the block at once, reading
 * a contiguous run of a weight row; pulling would read weight columns, a cache
 * line a multiply-add. Step d draws x_d, pushes it, then activates the units of
 * degree d + 1, layer by layer, and pushes them, so every target receives its
 * sources in the canonical order.
 *
 * With one row the time goes into the instructions around these short pushes,
 * not into waiting on the chain from a draw to the next output (drawing with no
 * dependence on the outputs was no faster), so each step is one pass over its
 * targets.
 *
 * Zero sources are pushed like any other (adding 0 * w to a finite sum changes
 * nothing but the sign of a zero): the pushes inside the block are short, and a
 * branch on a random zero costs more than the multiply-adds it saves (measured
 * on rows that differ from call to call). The long pushes past the block skip
 * zeros, without a branch.
 */
FM_VECTOR_CLONES static void FM_SUFFIX(fm_block_push)(
    const fm_plan *plan, const FM_MODEL *model, int s, int e, const double *noise,
    T *out, T *params_out, T *scratch)
{
    const int D = plan->n_dims, L = plan->n_layers, P = plan->n_params;
    const int n_out = D * P, top = e < D ? e : D - 1;
    const int *cnt = plan->counts;
    const int *first = cnt + (D + 1);
    const T *direct = model->direct_weight;
    T *outp = scratch + plan->offsets[L + 1];
    int d, l, k;

    for (d = s; d < e; d++) {
        /* targets: units of degree d + 1 .. top, outputs d + 1 .. e - 1 */
        const int c0 = (d + 1) * P, c1 = e * P;
        T x;

        FM_SUFFIX(fm_draw_dim)(plan, 1, d, 0, 1, noise, scratch);
        if (d + 1 == D)
            continue;
        x = scratch[d];

        FM_SUFFIX(fm_axpy)(first[top] - first[d], x,
                           model->weights[0] + (ptrdiff_t)d * plan->widths[0] +
                               first[d],
                           scratch + plan->offsets[1] + first[d]);
        if (direct != NULL)
            FM_SUFFIX(fm_axpy)(c1 - c0, x, direct + (ptrdiff_t)d * n_out + c0,
                               outp + c0);
        for (l = 1; l <= L; l++) {
            const int *here = cnt + (ptrdiff_t)l * (D + 1);
            const int *next = cnt + (ptrdiff_t)(l + 1) * (D + 1);
            T *h = scratch + plan->offsets[l];

            FM_SUFFIX(fm_activate_rows)(plan->activation, here[d + 1] - here[d],
                                        h + here[d]);
            for (k = here[d]; k < here[d + 1]; k++) {
                if (l == L)
                    FM_SUFFIX(fm_axpy)(c1 - c0, h[k],
                                       model->out_weight + (ptrdiff_t)k * n_out + c0,
                                       outp + c0);
                else
                    FM_SUFFIX(fm_axpy)(next[top] - next[d], h[k],
                                       model->weights[l] +
                                           (ptrdiff_t)k * plan->widths[l] + next[d],
                                       scratch + plan->offsets[l + 1] + next[d]);
            }
        }
    }
    FM_SUFFIX(fm_store_block)(plan, 1, s, e, 0, 1, out, params_out, scratch);
}

/*
 * A tile of one row, in groups of FM_ROW_GROUP dimensions: push order inside a
 * group (fm_block_push), then, right-looking, the group's sources added to every
 * later target at once (fm_row_queue). Left-looking bulk products would read
 * short column runs of the weights for a single row; this reads long row runs,
 * each weight once. The order per target stays the canonical one, so a row
 * alone matches the pull loops to the bit when no GEMM runs.
 */
FM_VECTOR_CLONES static void FM_SUFFIX(fm_sample_row)(
    const fm_plan *plan, const FM_MODEL *model, const double *noise, T *out,
    T *params_out, T *scratch)
{
    const int D = plan->n_dims, L = plan->n_layers, P = plan->n_params;
    const int n_out = D * P;
    const int *cnt = plan->counts;
    const T *direct = model->direct_weight;
    T *outp = scratch + plan->offsets[L + 1];
    FM_SUFFIX(fm_row_queue) q;
    int t0, t1, l, j, g, k;

    q.n = 0;
    FM_SUFFIX(fm_block_bulk)(plan, model, 1, 1, 0, 0, D, 1, scratch);
    for (t0 = 0; t0 < D; t0 = t1) {
        t1 = t0 + FM_ROW_GROUP < D ? t0 + FM_ROW_GROUP : D;
        FM_SUFFIX(fm_block_push)(plan, model, t0, t1, noise, out, params_out,
                                 scratch);
        if (t1 == D)
            break;

        for (l = 1; l <= L; l++) {
            /* layer l receives layer l - 1 (inputs for l = 1) of degree in
               (t0, t1], into its units of degree in (t1, D - 1] */
            const int *below = cnt + (ptrdiff_t)(l - 1) * (D + 1);
            const int *here = cnt + (ptrdiff_t)l * (D + 1);
            const int width = plan->widths[l - 1], lo = here[t1];
            const int len = here[D - 1] - lo;
            const T *src = scratch + plan->offsets[l - 1];
            T *dst = scratch + plan->offsets[l] + lo;

            if (len <= 0)
                continue;
            for (j = below[t0]; j < below[t1]; j++)
                FM_SUFFIX(fm_queue_add)(
                    &q, src[j], model->weights[l - 1] + (ptrdiff_t)j * width + lo, len,
                    dst);
            FM_SUFFIX(fm_queue_flush)(&q, len, dst);
        }

        {
            /* outputs t1 .. D - 1 receive, degree by degree, the direct input
               and the layer-L units of degree g in (t0, t1] */
            const int *last = cnt + (ptrdiff_t)L * (D + 1);
            const T *top_layer = scratch + plan->offsets[L];
            const int c0 = t1 * P, len = n_out - c0;

            for (g = t0 + 1; g <= t1; g++) {
                if (direct != NULL)
                    FM_SUFFIX(fm_queue_add)(&q, scratch[g - 1],
                                            direct + (ptrdiff_t)(g - 1) * n_out + c0,
                                            len, outp + c0);
                for (k = last[g - 1]; k < last[g]; k++)
                    FM_SUFFIX(fm_queue_add)(
                        &q, top_layer[k], model->out_weight + (ptrdiff_t)k * n_out + c0,
                        len, outp + c0);
            }
            FM_SUFFIX(fm_queue_flush)(&q, len, outp + c0);
        }
    }
}

void FM_SUFFIX(fm_sample_tile)(const fm_plan *plan, const FM_MODEL *model, int m,
                               const double *noise, T *out, T *params_out,
                               T *scratch)
{
    const int D = plan->n_dims, ld = fm_leading_dim(m, sizeof(T));
    int s1, e1, s, e, r0;

    if (m == 1) {
        FM_SUFFIX(fm_sample_row)(plan, model, noise, out, params_out, scratch);
        return;
    }
    for (s1 = 0; s1 < D; s1 = e1) {
        e1 = s1 + plan->block_dims < D ? s1 + plan->block_dims : D;
        FM_SUFFIX(fm_block_bulk)(plan, model, m, ld, 0, s1, e1, 1, scratch);

        for (s = s1; s < e1; s = e) {
            e = s + plan->sub_block_dims < e1 ? s + plan->sub_block_dims : e1;
            if (s > s1)
                FM_SUFFIX(fm_block_bulk)(plan, model, m, ld, s1, s, e, 0, scratch);
            for (r0 = 0; r0 < m; r0 += FM_ROW_CHUNK) {
                int rows = m - r0 < FM_ROW_CHUNK ? m - r0 : FM_ROW_CHUNK;

                FM_SUFFIX(fm_block_pull)(plan, model, ld, s, e, r0, rows, noise, out,
                                         params_out, scratch);
            }
        }
    }
}

#undef T

#endif /* FM_REAL */
