"""Random number generators that never touch NumPy's global state."""

import numpy as np
from sklearn.utils import check_random_state


def make_rng(random_state):
    """A RandomState for ``random_state``, as scikit-learn reads it, except None.

    ``None`` gives a fresh generator seeded from the operating system instead of
    NumPy's global one, so fastmade never advances the global state.
    """
    if random_state is None:
        return np.random.RandomState(np.random.SeedSequence().generate_state(4))
    return check_random_state(random_state)
