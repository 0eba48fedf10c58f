"""Drawing samples: random numbers, mask members and chunks.

Both samplers, naive and cached, consume random numbers in one layout, so for the
same ``random_state`` they return the same samples:

1. ``rng = sklearn.utils.check_random_state(random_state)`` (for ``None``, a
   generator seeded from the operating system);
2. with more than one mask member, ``rng.randint(2**31)`` seeds a second
   generator, which draws the member of every row with ``randint(n_masks)``;
3. chunk after chunk of rows, ``rng.random_sample((rows, D, R))`` draws the
   uniforms, where ``[n, i, r]`` is random number r of the i-th dimension that
   row n's member generates and R is the conditional's ``n_noise``, and the
   member generator draws the chunk's members;
4. the conditional's ``prepare_noise`` turns the uniforms into what its
   sampling rule reads (normal deviates for the Gaussian parts).

Each generator draws its numbers one after the other, so the chunk size does
not change the samples, and memory holds the output and one chunk.
"""

import numpy as np

from ._chunks import row_chunks
from ._random import make_rng


def sample_network(network, n_samples, random_state, sample_member):
    """Draw ``n_samples`` rows from ``network`` in the units and order of the data.

    Parameters
    ----------
    network : MADENetwork
    n_samples : int
    random_state : int, RandomState instance or None
    sample_member : callable
        ``sample_member(network, member, noise) -> Zc`` draws the rows of one
        member in canonical order and standardised units (the naive reference
        or the cached kernel).

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float64
    """
    rng = make_rng(random_state)
    member_rng = None
    if network.n_masks > 1:
        member_rng = np.random.RandomState(rng.randint(2**31))
    n_features = network.n_features
    n_noise = network.conditional.n_noise
    columns = network.orderings[0]

    X = np.empty((n_samples, n_features))
    # Noise, samples and the sampler's scratch of one chunk stay in the budget.
    row_bytes = 8 * n_features * (n_noise + 3)
    for rows in row_chunks(n_samples, row_bytes):
        n_rows = rows.stop - rows.start
        uniforms = rng.random_sample((n_rows, n_features, n_noise))
        noise = network.conditional.prepare_noise(uniforms)
        if member_rng is None:
            members = np.zeros(n_rows, dtype=np.intp)
        else:
            members = member_rng.randint(network.n_masks, size=n_rows)

        Zc = np.empty((n_rows, n_features), dtype=network.dtype)
        for member in np.unique(members):
            picked = np.flatnonzero(members == member)
            Zc[picked] = sample_member(network, member, noise[picked])
        X[rows][:, columns] = network.unstandardize(Zc)
    return X
