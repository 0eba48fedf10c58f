"""Drawing samples: random numbers, mask members and chunks.

Both samplers, naive and cached, consume random numbers in one layout, so for the
same ``random_state`` they return the same samples:

1. ``rng = sklearn.utils.check_random_state(random_state)`` (for ``None``, a
   generator seeded from the operating system);
2. with more than one mask member, ``rng.randint(n_masks, size=n_samples)``
   draws the member of every row;
3. then, chunk after chunk of rows, ``rng.random_sample((rows, D, R))`` draws
   the uniforms, where ``[n, i, r]`` is random number r of the i-th dimension
   that row n's member generates and R is the conditional's ``n_noise``;
4. the conditional's ``prepare_noise`` turns them into what its sampling rule
   reads (normal deviates for the Gaussian parts).

Uniforms are drawn one after the other, so the chunk size does not change the
samples.
"""

import numpy as np
from ._chunks import row_chunks
from ._random import make_rng


def sample_network(network, n_samples, random_state, sample_member):
    """Draw ``n_samples`` rows from ``network`` in canonical order.

    Parameters
    ----------
    network : MADENetwork
    n_samples : int
    random_state : int, RandomState instance or None
    sample_member : callable
        ``sample_member(network, member, noise) -> Xc`` draws the rows of one
        member (the naive reference or the cached kernel).

    Returns
    -------
    Xc : ndarray of shape (n_samples, n_features), in the network's dtype
    """
    rng = make_rng(random_state)
    n_features = network.n_features
    n_noise = network.conditional.n_noise
    if network.n_masks > 1:
        members = rng.randint(network.n_masks, size=n_samples)
    else:
        members = np.zeros(n_samples, dtype=np.intp)

    Xc = np.empty((n_samples, n_features), dtype=network.dtype)
    # Noise, samples and the sampler's scratch stay within the working memory.
    row_bytes = 8 * n_features * (n_noise + 2)
    for rows in row_chunks(n_samples, row_bytes):
        uniforms = rng.random_sample((rows.stop - rows.start, n_features, n_noise))
        noise = network.conditional.prepare_noise(uniforms)
        chunk_members = members[rows]
        for member in np.unique(chunk_members):
            picked = np.flatnonzero(chunk_members == member)
            Xc[rows.start + picked] = sample_member(network, member, noise[picked])
    return Xc
