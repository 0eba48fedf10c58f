/* Plain-C loops for the staircase products of fastmade/_staircase.pyx.
 *
 * The matrix products themselves go through BLAS from the Cython layer; these
 * helpers cover what BLAS cannot: writing beta * C over a tile that no column
 * of the staircase reads, and writing the exact zeros that lie outside the
 * staircase of a weight gradient.
 *
 * Matrices are row-major. A staircase of shape (n_in, n_out) is described by
 * `prefix`, non-decreasing with values in [0, n_in]: column k may be non-zero
 * only in rows [0, prefix[k]).
 */
#ifndef FASTMADE_STAIRCASE_H
#define FASTMADE_STAIRCASE_H

#include <stddef.h>

/* Number of threads an OpenMP parallel region would use; 1 in a serial build. */
int staircase_max_threads(void);

/* c[i, j] = beta * c[i, j] for the rows x cols tile at c (row stride ldc).
 * beta == 0 writes zeros without reading c, as BLAS does, so NaN in an
 * uninitialised output does not survive. */
void staircase_scale_tile_f(float *c, ptrdiff_t ldc, ptrdiff_t rows,
                            ptrdiff_t cols, float beta);
void staircase_scale_tile_d(double *c, ptrdiff_t ldc, ptrdiff_t rows,
                            ptrdiff_t cols, double beta);

/* out[i, k] = 0 for every i >= prefix[k], k in [k0, k1), on an (n_in, n_out)
 * matrix: the part of a column block that lies outside the staircase. */
void staircase_zero_outside_f(float *out, ptrdiff_t n_in, ptrdiff_t n_out,
                              const ptrdiff_t *prefix, ptrdiff_t k0,
                              ptrdiff_t k1);
void staircase_zero_outside_d(double *out, ptrdiff_t n_in, ptrdiff_t n_out,
                              const ptrdiff_t *prefix, ptrdiff_t k0,
                              ptrdiff_t k1);

#endif /* FASTMADE_STAIRCASE_H */
