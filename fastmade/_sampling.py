"""Drawing samples: random numbers, mask members and chunks.

Both samplers, naive and cached, consume random numbers in one layout, so for the
same ``random_state`` they return the same samples:

1. ``rng = sklearn.utils.check_random_state(random_state)`` (for ``None``, a
   generator seeded from the operating system);
2. chunk after chunk of rows, ``rng.random_sample((rows, D * R))`` draws the
   uniforms, where R is the conditional's ``n_noise``: read as (rows, D, R),
   ``[n, i, r]`` is random number r of the i-th dimension that row n's member
   generates. With more than one mask member, every row has one more uniform u
   in front, and its member is ``floor(n_masks * u)``;
3. the conditional's ``prepare_noise`` turns the uniforms into what its
   sampling rule reads: their logits for Bernoulli, normal deviates for the
   Gaussian parts.

One generator draws all the numbers, row after row, so the chunk size does not
change the random numbers, and memory holds the output and one chunk. It may
change the samples by rounding: a member's rows meet the kernel in batches
whose size follows the chunks, and the kernel's products may round a row
differently in batches of other sizes (see ``_cached_sampler.sample_member``),
which moves a real value by an ulp or so, and flips a 0/1 draw only when its
random number lies within rounding of its threshold.
"""

import numpy as np

from ._chunks import row_chunks
from ._random import seeded_rng


def row_uniforms(network):
    """Uniforms a row draws: D * R, plus one that picks its member if K > 1."""
    return network.n_features * network.conditional.n_noise + (network.n_masks > 1)


def sample_row_bytes(network):
    """Scratch bytes a row of a chunk: its random numbers, draws and samples."""
    return 8 * (row_uniforms(network) + 3 * network.n_features)


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
    n_masks = network.n_masks
    n_features = network.n_features
    n_noise = network.conditional.n_noise
    n_uniforms = row_uniforms(network)

    X = np.empty((n_samples, n_features))
    with seeded_rng(random_state) as rng:
        for rows in row_chunks(n_samples, sample_row_bytes(network)):
            n_rows = rows.stop - rows.start
            uniforms = rng.random_sample((n_rows, n_uniforms))
            noise = network.conditional.prepare_noise(
                uniforms[:, n_uniforms - n_features * n_noise :].reshape(
                    n_rows, n_features, n_noise
                )
            )

            if n_masks == 1:
                Zc = sample_member(network, 0, noise)
            else:
                # u < 1, but n_masks * u may round up to n_masks.
                members = np.minimum(
                    (uniforms[:, 0] * n_masks).astype(np.intp), n_masks - 1
                )
                Zc = np.empty((n_rows, n_features), dtype=network.dtype)
                for member in np.unique(members):
                    picked = np.flatnonzero(members == member)
                    Zc[picked] = sample_member(network, member, noise[picked])
            network.unstandardize(Zc, X[rows])
    return X
