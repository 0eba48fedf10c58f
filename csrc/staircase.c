/* Plain-C loops for the staircase products; see staircase.h. */
#include "staircase.h"

#ifdef _OPENMP
#include <omp.h>
#endif

int staircase_max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/* The float and double versions differ only in the element type. */
#define STAIRCASE_DEFINE_HELPERS(T, SUFFIX)                                   \
                                                                              \
void staircase_scale_tile_##SUFFIX(T *c, ptrdiff_t ldc, ptrdiff_t rows,       \
                                   ptrdiff_t cols, T beta)                    \
{                                                                             \
    for (ptrdiff_t i = 0; i < rows; ++i) {                                    \
        T *row = c + i * ldc;                                                 \
        if (beta == 0) {                                                      \
            for (ptrdiff_t j = 0; j < cols; ++j) row[j] = 0;                  \
        } else if (beta != 1) {                                               \
            for (ptrdiff_t j = 0; j < cols; ++j) row[j] *= beta;              \
        }                                                                     \
    }                                                                         \
}                                                                             \
                                                                              \
void staircase_zero_outside_##SUFFIX(T *out, ptrdiff_t n_in, ptrdiff_t n_out, \
                                     const ptrdiff_t *prefix, ptrdiff_t k0,   \
                                     ptrdiff_t k1)                            \
{                                                                             \
    /* Row i lies outside the staircase exactly in the columns whose prefix   \
     * is <= i. prefix is non-decreasing, so within the block those columns   \
     * are [k0, end), and end only moves right as i grows. */                 \
    ptrdiff_t end = k0;                                                       \
    for (ptrdiff_t i = prefix[k0]; i < n_in; ++i) {                           \
        while (end < k1 && prefix[end] <= i) ++end;                           \
        T *row = out + i * n_out;                                             \
        for (ptrdiff_t k = k0; k < end; ++k) row[k] = 0;                      \
    }                                                                         \
}

STAIRCASE_DEFINE_HELPERS(float, f)
STAIRCASE_DEFINE_HELPERS(double, d)
