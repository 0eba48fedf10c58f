"""Conditional distributions p(x_d | x_<d) parameterised by the network output.

A conditional says how many output parameters it reads per dimension
(``n_params``, laid out as ``out[:, d * n_params + p]``), how many random
numbers one draw consumes (``n_noise``), its log-probability in stable form,
the gradient of the negative log-probability with respect to its parameters, an
initial output bias, and its sampling rule. ``code`` names it to the compiled
sampler, whose rules in ``csrc/conditionals.h`` mirror :meth:`sample` here.

Sampling consumes uniforms; :meth:`prepare_noise` turns them into what the rule
reads (standard normals for the Gaussian parts), once, in NumPy, so the naive
and the cached sampler read exactly the same numbers.
"""

import numpy as np
from scipy.special import expit, log_softmax, logsumexp, ndtri, softmax

# Log-scales pass through B * tanh(raw / B): any output gives a finite density,
# with scales between e^-B and e^B standard deviations of the data.
LOG_SCALE_BOUND = 7.0
HALF_LOG_2PI = 0.5 * np.log(2 * np.pi)
# Uniforms are drawn in [0, 1); 0 would become an infinite normal deviate.
SMALLEST_UNIFORM = 2.0**-53


def bounded_log_scale(raw):
    """Log-scale from a raw output, and its derivative with respect to ``raw``."""
    log_scale = LOG_SCALE_BOUND * np.tanh(raw / LOG_SCALE_BOUND)
    slope = 1 - (log_scale / LOG_SCALE_BOUND) ** 2
    return log_scale, slope


def normal_deviates(u):
    """Standard normal deviates from uniforms in [0, 1)."""
    return ndtri(np.maximum(u, SMALLEST_UNIFORM))


class Bernoulli:
    """Bernoulli conditional on {0, 1}, parameterised by one logit."""

    name = "bernoulli"
    code = 0
    n_params = 1
    n_noise = 1
    binary = True

    def log_prob(self, X, out):
        """Log-probability of each entry of ``X``, shape (n_samples, n_features).

        Computed as ``x * l - softplus(l)``, which is finite for every logit.
        """
        return X * out - np.logaddexp(0, out)

    def grad(self, X, out):
        """Gradient of ``-log_prob`` with respect to the logits."""
        return expit(out) - X

    def initial_bias(self, X):
        """Logits of the marginal frequencies, kept away from 0 and 1."""
        mean = np.clip(X.mean(axis=0), 1e-3, 1 - 1e-3)
        return np.log(mean) - np.log1p(-mean)

    def prepare_noise(self, u):
        """The logits of the uniforms: ``u < expit(l)`` exactly when ``l > logit(u)``.

        Comparing logits spares the samplers an exponential per draw, which in the
        cached kernel sits on the chain from one dimension to the next.
        """
        # log(u / (1 - u)) is exact to an ulp on [0, 1); u = 0 gives -inf.
        with np.errstate(divide="ignore"):
            return np.log(u / (1.0 - u))

    def sample(self, out, noise):
        """Draw one dimension: 1 where the logit exceeds the noise, else 0.

        Parameters
        ----------
        out : ndarray of shape (n_samples, 1)
            The logit of the dimension.
        noise : ndarray of shape (n_samples, 1)
            Logits of uniforms in [0, 1) (``-inf`` for 0), from
            :meth:`prepare_noise`, so each draw is 1 with probability
            ``expit(logit)``.
        """
        return out[:, 0].astype(np.float64) > noise[:, 0]


class Gaussian:
    """Gaussian conditional: a mean and a bounded log-scale per dimension."""

    name = "gaussian"
    code = 1
    n_params = 2
    n_noise = 1
    binary = False

    def _split(self, X, out):
        out = out.reshape(X.shape[0], X.shape[1], 2)
        return out[..., 0], out[..., 1]

    def log_prob(self, X, out):
        mean, raw = self._split(X, out)
        log_scale, _ = bounded_log_scale(raw)
        z = (X - mean) * np.exp(-log_scale)
        return -0.5 * z * z - log_scale - HALF_LOG_2PI

    def grad(self, X, out):
        mean, raw = self._split(X, out)
        log_scale, slope = bounded_log_scale(raw)
        inverse_scale = np.exp(-log_scale)
        z = (X - mean) * inverse_scale
        grad = np.empty(out.shape[:1] + (X.shape[1], 2), dtype=out.dtype)
        grad[..., 0] = -z * inverse_scale
        grad[..., 1] = (1 - z * z) * slope
        return grad.reshape(out.shape)

    def initial_bias(self, X):
        """Mean 0 and scale 1: the data are standardised."""
        return np.zeros(X.shape[1] * 2)

    def prepare_noise(self, u):
        return normal_deviates(u)

    def sample(self, out, noise):
        """Draw one dimension: mean + scale * a standard normal deviate."""
        out = out.astype(np.float64)
        log_scale, _ = bounded_log_scale(out[:, 1])
        return out[:, 0] + np.exp(log_scale) * noise[:, 0]


class GaussianMixture:
    """Mixture of Gaussians per dimension: weights, means and log-scales.

    The parameters of a dimension are laid out as ``[logits (C), means (C),
    raw log-scales (C)]``; the weights are a softmax of the logits.
    """

    name = "mixture"
    code = 2
    n_noise = 2
    binary = False

    def __init__(self, n_components):
        self.n_components = n_components
        self.n_params = 3 * n_components

    def _split(self, X, out):
        out = out.reshape(X.shape[0], X.shape[1], 3, self.n_components)
        return out[..., 0, :], out[..., 1, :], out[..., 2, :]

    def _joint(self, X, out):
        """Log of weight times density per component, and what made it."""
        logits, mean, raw = self._split(X, out)
        log_scale, slope = bounded_log_scale(raw)
        inverse_scale = np.exp(-log_scale)
        z = (X[..., None] - mean) * inverse_scale
        joint = log_softmax(logits, axis=-1) - 0.5 * z * z - log_scale - HALF_LOG_2PI
        return joint, logits, z, inverse_scale, slope

    def log_prob(self, X, out):
        joint, *_ = self._joint(X, out)
        return logsumexp(joint, axis=-1)

    def grad(self, X, out):
        joint, logits, z, inverse_scale, slope = self._joint(X, out)
        responsibility = softmax(joint, axis=-1)
        grad = np.empty(joint.shape[:2] + (3, self.n_components), dtype=out.dtype)
        grad[..., 0, :] = softmax(logits, axis=-1) - responsibility
        grad[..., 1, :] = -responsibility * z * inverse_scale
        grad[..., 2, :] = responsibility * (1 - z * z) * slope
        return grad.reshape(out.shape)

    def initial_bias(self, X):
        """Equal weights, means spread over [-1, 1], unit scales."""
        bias = np.zeros((X.shape[1], 3, self.n_components))
        bias[:, 1, :] = np.linspace(-1, 1, self.n_components)
        return bias.ravel()

    def prepare_noise(self, u):
        noise = u.copy()
        noise[..., 1] = normal_deviates(u[..., 1])
        return noise

    def sample(self, out, noise):
        """Pick a component with the first uniform, then draw from it.

        The component is the first whose cumulative weight exceeds the uniform
        (the last one when rounding leaves the total just below it).
        """
        out = out.astype(np.float64).reshape(-1, 3, self.n_components)
        cumulative = np.cumsum(softmax(out[:, 0, :], axis=-1), axis=-1)
        component = (cumulative <= noise[:, :1]).sum(axis=-1)
        component = np.minimum(component, self.n_components - 1)
        rows = np.arange(out.shape[0])
        log_scale, _ = bounded_log_scale(out[rows, 2, component])
        return out[rows, 1, component] + np.exp(log_scale) * noise[:, 1]


def make_conditional(name, n_components=1):
    """The conditional called ``name``: bernoulli, gaussian or mixture."""
    if name == "bernoulli":
        return Bernoulli()
    if name == "gaussian":
        return Gaussian()
    return GaussianMixture(n_components)


DISTRIBUTIONS = ("bernoulli", "gaussian", "mixture")
