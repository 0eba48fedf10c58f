"""Conditional distributions p(x_d | x_<d) parameterised by the network output.

A conditional is a small class of static functions: how many output parameters
it takes per dimension (``n_params``), how many random numbers it consumes per
dimension when sampling (``n_noise``), its log-probability in stable form, the
gradient of the negative log-probability with respect to its parameters, an
initial output bias, and its sampling rule. ``code`` names it to the compiled
sampler.
"""

import numpy as np
from scipy.special import expit


class Bernoulli:
    """Bernoulli conditional on {0, 1}, parameterised by one logit."""

    name = "bernoulli"
    code = 0
    n_params = 1
    n_noise = 1

    @staticmethod
    def log_prob(X, out):
        """Log-probability of each entry of ``X``, shape (n_samples, n_features).

        Computed as ``x * l - softplus(l)``, which is finite for every logit.
        """
        return X * out - np.logaddexp(0, out)

    @staticmethod
    def grad(X, out):
        """Gradient of ``-log_prob`` with respect to the logits."""
        return expit(out) - X

    @staticmethod
    def initial_bias(X):
        """Logits of the marginal frequencies, kept away from 0 and 1."""
        mean = np.clip(X.mean(axis=0), 1e-3, 1 - 1e-3)
        return np.log(mean) - np.log1p(-mean)

    @staticmethod
    def sample(out, noise):
        """Draw one dimension: 1 where the uniform lies below p(x = 1).

        Parameters
        ----------
        out : ndarray of shape (n_samples, 1)
            The logit of the dimension.
        noise : ndarray of shape (n_samples, 1)
            Uniforms in [0, 1).
        """
        return noise[:, 0] < expit(out[:, 0].astype(np.float64))


CONDITIONALS = {"bernoulli": Bernoulli}
