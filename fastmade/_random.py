"""Random number generators that never touch NumPy's global state."""

import numbers
import threading

import numpy as np
from sklearn.utils import check_random_state

# One generator per thread that calls can reseed: building a RandomState from an
# int spends about 0.1 ms hashing OS entropy it then throws away, as long as a
# whole one-row draw. Only call-scoped users may take it (see seeded_rng).
_local = threading.local()


def make_rng(random_state):
    """A RandomState for ``random_state``, as scikit-learn reads it, except None.

    ``None`` gives a fresh generator seeded from the operating system instead of
    NumPy's global one, so fastmade never advances the global state.
    """
    if random_state is None:
        return np.random.RandomState(np.random.SeedSequence().generate_state(4))
    return check_random_state(random_state)


def seeded_rng(random_state):
    """:func:`make_rng` for callers that drop the generator before they return.

    An integer seed reseeds this thread's reusable generator, which then draws
    exactly what ``RandomState(seed)`` would. The caller must not keep it, nor
    call anything that draws from it in between, since the next integer seed on
    this thread starts it over.
    """
    if isinstance(random_state, numbers.Integral):
        rng = getattr(_local, "rng", None)
        if rng is None:
            rng = _local.rng = np.random.RandomState(0)
        rng.seed(random_state)
        return rng
    return make_rng(random_state)
