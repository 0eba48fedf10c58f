"""Standardisation of real-valued columns before the network sees them.

The network models ``z = (x - shift) / scale``; the density of ``x`` is that of
``z`` times ``1 / prod(scale)``, so log-likelihoods in the user's units subtract
``sum(log(scale))``. Binary data is modelled as it is.
"""

import numpy as np


def standardization(X, distribution):
    """Per-column shift and scale of ``X``, or ``(None, None)`` for binary data.

    A constant column gets scale 1 instead of 0, so nothing is divided by zero;
    its conditional then learns the narrowest scale the model allows.
    """
    if distribution == "bernoulli":
        return None, None
    # Moments of X / max|X| cannot overflow, whatever the magnitude of X.
    magnitude = np.abs(X).max(axis=0)
    magnitude[magnitude == 0] = 1.0
    unit = X / magnitude
    shift = unit.mean(axis=0) * magnitude
    scale = unit.std(axis=0) * magnitude
    constant = scale <= 1e-12 * np.maximum(1.0, np.abs(shift))
    scale[constant] = 1.0
    return shift, scale
