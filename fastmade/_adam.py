"""Adam, the optimiser that trains every fastmade network."""

import numpy as np


class Adam:
    """Adam updates applied in place to a list of parameter arrays.

    Parameters
    ----------
    params : list of ndarray
        The arrays to update; moments are kept in their dtype.
    learning_rate : float
    beta_1, beta_2, epsilon : float
        The usual Adam constants (Kingma and Ba, 2015).
    """

    def __init__(self, params, learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        self.params = params
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.t = 0
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]

    def step(self, grads):
        """Apply one update given the gradients, in the order of ``params``."""
        self.t += 1
        # Bias correction folded into the step size, as in the Adam paper.
        step = (
            self.learning_rate
            * np.sqrt(1 - self.beta_2**self.t)
            / (1 - self.beta_1**self.t)
        )
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= self.beta_1
            m += (1 - self.beta_1) * g
            v *= self.beta_2
            v += (1 - self.beta_2) * (g * g)
            p -= (step * m) / (np.sqrt(v) + self.epsilon)
