"""Random number generators that never touch NumPy's global state."""

import numbers
import threading

import numpy as np
from sklearn.utils import check_random_state

# One generator per thread that calls can reseed: building a RandomState from an
# int spends about 0.1 ms hashing OS entropy it then throws away, longer than a
# whole one-row draw. seeded_rng lends it to one block at a time.
_local = threading.local()


def make_rng(random_state):
    """A RandomState for ``random_state``, as scikit-learn reads it, except None.

    ``None`` gives a fresh generator seeded from the operating system instead of
    NumPy's global one, so fastmade never advances the global state.
    """
    if random_state is None:
        return np.random.RandomState(np.random.SeedSequence().generate_state(4))
    return check_random_state(random_state)


class seeded_rng:
    """:func:`make_rng` for one ``with`` block, faster for integer seeds.

    An integer seed reseeds this thread's reusable generator, which then draws
    exactly what ``RandomState(seed)`` would, and lends it to the block. Should
    the block be entered again before it ends (code run by a profiler, a signal
    handler or a garbage-collection callback may sample too), the inner block
    gets a new generator, so the outer one's numbers stay as they were.
    """

    __slots__ = ("random_state", "lent")

    def __init__(self, random_state):
        self.random_state = random_state
        self.lent = False

    def __enter__(self):
        if isinstance(self.random_state, numbers.Integral) and not getattr(
            _local, "lent", False
        ):
            rng = getattr(_local, "rng", None)
            if rng is None:
                rng = _local.rng = np.random.RandomState(0)
            rng.seed(self.random_state)
            _local.lent = self.lent = True
            return rng
        return make_rng(self.random_state)

    def __exit__(self, *exc_info):
        if self.lent:
            _local.lent = self.lent = False
