/*
 * Sampling rules of the conditionals p(x_d | x_<d), one small inline function a
 * conditional, behind one dispatch (fm_draw_rows) that the sampling kernel calls.
 *
 * A conditional is described by its code, the number P of output parameters it
 * reads for one dimension and the number R of random numbers it consumes for
 * one draw (uniforms, or what the Python layer made of them: logits of uniforms,
 * normal deviates).
 * Adding a conditional means: a new code, a case in fm_conditional_shape, a
 * rule fm_draw_<name>, and a case in fm_draw_rows. The
 * kernel itself only ever sees P and R.
 *
 * The rules work in double whatever the network's floating type, so a draw does
 * not depend on whether the weights are float32 or float64 beyond the logits.
 */
#ifndef FASTMADE_CONDITIONALS_H
#define FASTMADE_CONDITIONALS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define FM_BERNOULLI 0
#define FM_GAUSSIAN 1
#define FM_MIXTURE 2

/* Upper bounds on mixture components and on P, for buffers on the stack. */
#define FM_MAX_COMPONENTS 16
#define FM_MAX_PARAMS (3 * FM_MAX_COMPONENTS)

/* Log-scales are FM_LOG_SCALE_BOUND * tanh(raw / bound), as in _conditionals.py. */
#define FM_LOG_SCALE_BOUND 7.0

/*
 * Store P and R of `code` (with `n_components` for a mixture) and return 0, or
 * return -1 for an unknown code or a component count out of range.
 */
static inline int fm_conditional_shape(int code, int n_components, int *n_params,
                                       int *n_uniforms)
{
    switch (code) {
    case FM_BERNOULLI:
        *n_params = 1;
        *n_uniforms = 1;
        return 0;
    case FM_GAUSSIAN:
        *n_params = 2;
        *n_uniforms = 1;
        return 0;
    case FM_MIXTURE:
        if (n_components < 1 || n_components > FM_MAX_COMPONENTS)
            return -1;
        *n_params = 3 * n_components;
        *n_uniforms = 2;
        return 0;
    default:
        return -1;
    }
}

/*
 * The helpers below are straight-line arithmetic, unlike libm's exp, an opaque
 * call that stops gcc from vectorising the row loops it sits in. They avoid ?:
 * on values: gcc turns such a select into a branch (to fold the constant arm,
 * or to skip the arm's operations, which it may not execute speculatively as
 * floating-point operations can trap), and a branch blocks vectorisation.
 */

/*
 * x with its magnitude clamped to bound >= 0. The bit patterns of non-negative
 * doubles order like their values, so the clamp is an integer min.
 */
static inline double fm_clamp_magnitude(double x, double bound)
{
    double magnitude = fabs(x);
    int64_t bits, bound_bits;

    memcpy(&bits, &magnitude, sizeof bits);
    memcpy(&bound_bits, &bound, sizeof bound_bits);
    bits = bits < bound_bits ? bits : bound_bits;
    memcpy(&magnitude, &bits, sizeof magnitude);
    return copysign(magnitude, x);
}

/*
 * Range reduction shared by fm_exp and fm_expm1_nonneg: x = k ln2 + r with
 * |r| <= ln2 / 2, after clamping x to [-708, 708] so that 2^k stays a normal
 * number. Return r and store 2^k.
 */
static inline double fm_exp_reduce(double x, double *scale)
{
    const double shift = 0x1.8p52; /* adding it rounds to an integer in low bits */
    const double log2e = 1.4426950408889634;
    const double ln2_hi = 0x1.62e42fefa3800p-1; /* 11 trailing zero bits: k*hi exact */
    const double ln2_lo = 0x1.ef35793c76730p-45;
    double kd;
    uint64_t bits;

    x = fm_clamp_magnitude(x, 708.0);
    kd = x * log2e + shift;
    memcpy(&bits, &kd, sizeof bits);
    kd -= shift;
    /* The low bits of `bits` hold k (two's complement); shifting them into the
       exponent field and adding the bias gives 2^k. */
    bits = (bits + 1023u) << 52;
    memcpy(scale, &bits, sizeof *scale);
    return (x - kd * ln2_hi) - kd * ln2_lo;
}

/*
 * (e^r - 1) / r for |r| <= ln2 / 2: Taylor to r^12 (next term < 3e-17), in
 * Estrin's scheme, whose dependency chain is 5 operations deep against 12 for
 * Horner's; the draw loops are bound by that latency.
 */
static inline double fm_expm1_ratio(double r)
{
    double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
    double q0 = (1.0 + r * (1.0 / 2)) + r2 * (1.0 / 6 + r * (1.0 / 24));
    double q1 = (1.0 / 120 + r * (1.0 / 720)) + r2 * (1.0 / 5040 + r * (1.0 / 40320));
    double q2 = (1.0 / 362880 + r * (1.0 / 3628800)) +
                r2 * (1.0 / 39916800 + r * (1.0 / 479001600));

    return (q0 + r4 * q1) + r8 * (q2 + r4 * (1.0 / 6227020800.0));
}

/* exp(x) to about 1 ulp; x is clamped to [-708, 708] (see fm_exp_reduce). */
static inline double fm_exp(double x)
{
    double scale, r = fm_exp_reduce(x, &scale);

    return (r * fm_expm1_ratio(r) + 1.0) * scale;
}

/*
 * exp(y) - 1 for y >= 0, to a few ulp, small y included: with y = k ln2 + r it
 * is 2^k (e^r - 1) + (2^k - 1), a sum of two non-negative terms when k >= 0.
 */
static inline double fm_expm1_nonneg(double y)
{
    double scale, r = fm_exp_reduce(y, &scale);

    return scale * (r * fm_expm1_ratio(r)) + (scale - 1.0);
}

/*
 * 1 / (1 + exp(-x)), to a few ulp for either sign of x (no cancellation); the
 * clamp in fm_exp only matters below x = -708, where the result is below 4e-308.
 */
static inline double fm_sigmoid(double x)
{
    return 1.0 / (1.0 + fm_exp(-x));
}

/*
 * tanh(x) = (e^{2|x|} - 1) / (e^{2|x|} + 1) with the sign of x, to a few ulp;
 * expm1 keeps small |x| accurate. Above |x| = 20 it is 1 in double.
 */
static inline double fm_tanh(double x)
{
    double em1 = fm_expm1_nonneg(2.0 * fabs(fm_clamp_magnitude(x, 20.0)));

    return copysign(em1 / (em1 + 2.0), x);
}

/*
 * The rules: parameter p of the row is theta[p * theta_stride], uniform q is
 * u[q]; the result is the draw.
 */

/*
 * Bernoulli with one logit: 1 if logit > u[0], else 0, where u[0] is the logit
 * of a uniform (the Python layer's prepare_noise), so that the draw is 1 with
 * probability sigmoid(logit) and costs one comparison. A NaN logit draws 0.
 */
static inline double fm_draw_bernoulli(const double *theta, ptrdiff_t theta_stride,
                                       const double *u)
{
    (void)theta_stride;
    return isgreater(theta[0], u[0]) ? 1.0 : 0.0;
}

/*
 * Scale of a Gaussian from its raw output, within [e^-B, e^B]. The inline exp
 * and tanh (a few ulp from libm's) keep the row loops of the draw vectorised.
 */
static inline double fm_bounded_scale(double raw)
{
    return fm_exp(FM_LOG_SCALE_BOUND * fm_tanh(raw / FM_LOG_SCALE_BOUND));
}

/*
 * Gaussian with a mean and a raw log-scale. u[0] is already a standard normal
 * deviate: the Python layer turns uniforms into deviates for both samplers.
 */
static inline double fm_draw_gaussian(const double *theta, ptrdiff_t theta_stride,
                                      const double *u)
{
    return theta[0] + fm_bounded_scale(theta[theta_stride]) * u[0];
}

/*
 * Mixture of n Gaussians with parameters [logits (n), means (n), raw log-scales
 * (n)]; u[0] is a uniform that picks the component, u[1] a normal deviate. The
 * component is the count of cumulative weights <= u[0], capped at n - 1: the
 * rule, and the order of operations, of the NumPy reference.
 */
static inline double fm_draw_mixture(const double *theta, ptrdiff_t theta_stride,
                                     const double *u, int n)
{
    double weight[FM_MAX_COMPONENTS];
    double top = theta[0], total = 0.0, cumulative = 0.0;
    int c, component = 0;

    for (c = 1; c < n; c++)
        top = fmax(top, theta[c * theta_stride]);
    for (c = 0; c < n; c++) {
        weight[c] = fm_exp(theta[c * theta_stride] - top);
        total += weight[c];
    }
    for (c = 0; c < n; c++) {
        cumulative += weight[c] / total;
        component += cumulative <= u[0];
    }
    component = component < n ? component : n - 1;
    return theta[(n + component) * theta_stride] +
           fm_bounded_scale(theta[(2 * n + component) * theta_stride]) * u[1];
}

/*
 * Draw one dimension for `rows` rows: x[r] from the parameters theta[r + p *
 * theta_stride] (p < n_params) and the random numbers u[r * u_stride + q]. The
 * switch sits outside the row loop, so each case is a loop that gcc can
 * vectorise. It is always inlined: left out of line, gcc compiles it once for
 * baseline x86-64, not for the AVX2 and AVX-512 copies of its callers, and a
 * one-row draw pays a call.
 */
#if defined(__GNUC__)
#define FM_DRAW_INLINE static inline __attribute__((always_inline))
#else
#define FM_DRAW_INLINE static inline
#endif
FM_DRAW_INLINE void fm_draw_rows(int code, int n_params, int rows, const double *theta,
                                ptrdiff_t theta_stride, const double *u,
                                ptrdiff_t u_stride, double *x)
{
    int r;

    switch (code) {
    case FM_BERNOULLI:
        for (r = 0; r < rows; r++)
            x[r] = fm_draw_bernoulli(theta + r, theta_stride, u + r * u_stride);
        break;
    case FM_GAUSSIAN:
        for (r = 0; r < rows; r++)
            x[r] = fm_draw_gaussian(theta + r, theta_stride, u + r * u_stride);
        break;
    case FM_MIXTURE:
        for (r = 0; r < rows; r++)
            x[r] = fm_draw_mixture(theta + r, theta_stride, u + r * u_stride,
                                   n_params / 3);
        break;
    default: /* unreachable: the wrapper rejects unknown codes */
        for (r = 0; r < rows; r++)
            x[r] = 0.0;
        break;
    }
}

#endif /* FASTMADE_CONDITIONALS_H */
