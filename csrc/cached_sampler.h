/*
 * Cached incremental sampling of one MADE mask member, one tile of rows at a time.
 *
 * Everything is in sorted coordinates: input j has degree j + 1, hidden units of
 * every layer are sorted by degree, so each unit reads a prefix of the layer below
 * and output dimension d reads the layer-L units of degree <= d (and, through the
 * direct connections, inputs 0..d-1). Masked-out weights are never read.
 *
 * Matrices are row-major as NumPy stores them. The tile buffers are feature-major
 * (one contiguous run of rows per unit), which BLAS sees as column-major, so a
 * row-major weight block enters a GEMM as its transpose without a copy.
 */
#ifndef FASTMADE_CACHED_SAMPLER_H
#define FASTMADE_CACHED_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#define FM_RELU 0
#define FM_TANH 1
#define FM_SIGMOID 2

/* The signatures of scipy.linalg.cython_blas sgemm and dgemm (Fortran BLAS). */
typedef void fm_sgemm_fn(char *transa, char *transb, int *m, int *n, int *k,
                         float *alpha, float *a, int *lda, float *b, int *ldb,
                         float *beta, float *c, int *ldc);
typedef void fm_dgemm_fn(char *transa, char *transb, int *m, int *n, int *k,
                         double *alpha, double *a, int *lda, double *b, int *ldb,
                         double *beta, double *c, int *ldc);

/* Shapes and degrees of a member: everything that does not depend on dtype. */
typedef struct {
    int n_dims;        /* D */
    int n_layers;      /* L >= 1 */
    const int *widths; /* n_1..n_L */
    /* (L + 1) x (D + 1) table: counts[l * (D + 1) + t] is the number of units of
       layer l (0 = inputs) with degree <= t, so the units of degree t are
       [counts[.. t - 1], counts[.. t]). Filled by fm_count_degrees. */
    const int *counts;
    /* L + 2 feature offsets within a tile: 0 for the inputs, offsets[l] for
       hidden layer l, offsets[L + 1] for the D * P outputs. Filled by
       fm_feature_offsets. */
    const int *offsets;
    int activation;     /* FM_RELU, FM_TANH or FM_SIGMOID */
    int conditional;    /* a code of conditionals.h */
    int n_params;       /* P of the conditional */
    int n_uniforms;     /* R of the conditional */
    int block_dims;     /* dimensions a block, in [1, D] */
    int sub_block_dims; /* dimensions a sub-block, in [1, block_dims] */
} fm_plan;

typedef struct {
    const float *const *weights; /* L arrays (n_{l-1}, n_l), n_0 = D */
    const float *const *biases;  /* L arrays (n_l,) */
    const float *out_weight;     /* (n_L, D * P) */
    const float *out_bias;       /* (D * P,) */
    const float *direct_weight;  /* (D, D * P), or NULL without direct connections */
    fm_sgemm_fn *gemm;
} fm_model_f32;

typedef struct {
    const double *const *weights;
    const double *const *biases;
    const double *out_weight;
    const double *out_bias;
    const double *direct_weight;
    fm_dgemm_fn *gemm;
} fm_model_f64;

/* 1 if this file was compiled with OpenMP, else 0. */
int fm_openmp_enabled(void);

/*
 * Fill row `layer` of the counts table from the degrees of that layer (layer 0,
 * the inputs, takes degrees = NULL). Return 0, or FM_DEGREE_RANGE if a degree
 * leaves [1, D], or FM_DEGREE_ORDER if the degrees decrease somewhere.
 */
#define FM_DEGREE_RANGE -1
#define FM_DEGREE_ORDER -2
int fm_count_degrees(int n_dims, int layer, int n_units, const int64_t *degrees,
                     int *counts);

/* Fill the L + 2 feature offsets of plan->offsets from the layer widths. */
void fm_feature_offsets(int n_dims, int n_layers, const int *widths, int *offsets);

/*
 * The automatic block size in dimensions, returned, and sub-block size, stored
 * (see the rule in cached_sampler.c). They depend on the shapes only.
 */
int fm_default_block_dims(int n_dims, int n_layers, const int *widths,
                          int n_params, int has_direct, int *sub_block_dims);

/*
 * Elements of elem_size bytes that a tile of up to tile_rows rows needs: each
 * feature (input, hidden unit, output parameter) holds a run of rows, padded to
 * an odd number of cache lines.
 */
size_t fm_scratch_size(const fm_plan *plan, int tile_rows, size_t elem_size);

/*
 * Sample the m rows of one tile. noise points at the tile's first row of the
 * (N, D, R) uniforms, out at its first row of (N, D), params_out at its first
 * row of (N, D * P) or is NULL. scratch holds fm_scratch_size(plan, m, size)
 * elements.
 */
void fm_sample_tile_f32(const fm_plan *plan, const fm_model_f32 *model, int m,
                        const double *noise, float *out, float *params_out,
                        float *scratch);
void fm_sample_tile_f64(const fm_plan *plan, const fm_model_f64 *model, int m,
                        const double *noise, double *out, double *params_out,
                        double *scratch);

#endif /* FASTMADE_CACHED_SAMPLER_H */
