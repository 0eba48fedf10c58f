"""Print fastmade's speed tables, and draw them when matplotlib is installed.

Usage::

    python benchmarks/compare.py sampling [--repeats 3] [--plot sampling.png]
    python benchmarks/compare.py products [--repeats 3]

``sampling`` times, for each shape, naive sampling (one forward pass per
dimension), cached sampling (the compiled kernel) and one ``score_samples`` call
on the same number of rows, all float32 in one process, as medians of
``--repeats`` runs. A run of a short call repeats it for at least 50 ms and
takes the mean; cached sampling draws with a new seed at every call. Where
naive sampling would take longer than ``--budget`` seconds a run, its time is
measured over the first passes and scaled to all D passes (every pass is one
full forward of the same rows, so the passes cost the same); such entries are
marked ``*``. If PyTorch is installed, a PyTorch CPU MADE of the same shape is
sampled the way public implementations do it (D full passes), with the same
thread count.

``products`` times the masked products: one forward pass of a batch and one
training epoch (at least 20000 rows) with dense products (weights times masks)
and with the staircase kernel, and ``score_samples`` throughput; with PyTorch
installed, one epoch of a PyTorch MADE of the same shape (weights times masks,
Adam, the same batch size and thread count).
"""

import argparse
import itertools
import statistics
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_info

from fastmade import MADEEstimator

DIMENSIONS = (64, 256, 784)
HIDDEN = ((500,), (500, 500))
ROWS = (1, 100, 1000, 10000)
PRODUCT_HIDDEN = ((500,), (1000, 1000))
# Short calls repeat within a run until it lasts this long (see median_time).
MIN_RUN_SECONDS = 0.05
BATCHES = (100, 10000)


def median_time(function, repeats, min_seconds=0.0):
    """Median wall time of one ``function()`` call over ``repeats`` runs, in seconds.

    A run calls ``function`` until ``min_seconds`` have passed (once at least) and
    counts the mean time of its calls, so that calls of microseconds are not
    timed one by one against the clock's resolution and jitter.
    """
    times = []
    for _ in range(repeats):
        calls = 0
        start = time.perf_counter()
        while True:
            function()
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds:
                break
        times.append(elapsed / calls)
    return statistics.median(times)


def random_model(n_features, hidden, distribution="bernoulli", seed=0):
    """A MADE fitted for one epoch on random rows: real weights and masks."""
    rng = np.random.RandomState(seed)
    if distribution == "bernoulli":
        X = (rng.rand(256, n_features) < 0.3).astype(np.float32)
    else:
        X = rng.normal(size=(256, n_features)).astype(np.float32)
    est = MADEEstimator(
        hidden_layer_sizes=hidden,
        distribution=distribution,
        max_iter=1,
        early_stopping=False,
        random_state=seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X)


def naive_time(sample_passes, n_features, repeats, budget):
    """Median time of all D passes, measured in full or scaled from a prefix.

    ``sample_passes(k)`` runs the first k passes of naive sampling.
    """
    probe = median_time(lambda: sample_passes(1), 1)
    if probe * n_features <= budget:
        return median_time(lambda: sample_passes(n_features), repeats), False
    passes = max(1, min(n_features, int(budget / probe)))
    return median_time(
        lambda: sample_passes(passes), repeats
    ) * n_features / passes, True


def fastmade_naive_passes(est, n_rows):
    """Run the first k passes of fastmade's naive sampler on ``n_rows`` rows."""
    from fastmade._naive_sampler import naive_passes

    network = est._network
    noise = np.random.RandomState(0).random_sample((n_rows, network.n_features, 1))
    order = network.generation_order(0)
    return lambda passes: naive_passes(network, 0, noise, order[:passes])


def torch_naive_passes(est, n_rows):
    """The first k passes of D-pass sampling with a PyTorch MADE of the same shape."""
    import torch

    network = est._network
    masked = [
        torch.from_numpy(np.ascontiguousarray((W * M).T))
        for W, M in zip(network.weights, network.masks[0])
    ]
    biases = [torch.from_numpy(b) for b in network.biases]
    n_layers = len(biases) - 1
    direct = len(masked) > n_layers + 1

    def forward(x):
        h = x
        for layer in range(n_layers):
            h = torch.relu(torch.nn.functional.linear(h, masked[layer], biases[layer]))
        out = torch.nn.functional.linear(h, masked[n_layers], biases[n_layers])
        if direct:
            out = out + torch.nn.functional.linear(x, masked[n_layers + 1])
        return out

    def run(passes):
        x = torch.zeros(n_rows, network.n_features)
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for d in range(passes):
                p = torch.sigmoid(forward(x)[:, d])
                x[:, d] = torch.bernoulli(p, generator=generator)

    return run


def print_header(header):
    """Print a markdown table's header line and its rule."""
    print(header)
    print("|" + "---|" * (header.count("|") - 1))


def torch_or_none():
    """PyTorch on as many threads as fastmade's BLAS, or None without it."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(max(lib["num_threads"] for lib in threadpool_info()))
    return torch


def sampling_table(repeats, budget, dimensions, hidden_sizes, rows, distribution):
    """Rows of the sampling table, printed as they are measured."""
    # The PyTorch baseline is a Bernoulli MADE.
    torch = torch_or_none() if distribution == "bernoulli" else None

    header = "| D | hidden | N | naive (s) | cached (s) | speedup | cached / score |"
    if torch is not None:
        header += " PyTorch naive (s) | speedup vs PyTorch |"
    print_header(header)
    table = []
    for n_features in dimensions:
        for hidden in hidden_sizes:
            est = random_model(n_features, hidden, distribution)
            for n_rows in rows:
                X = est.sample(n_rows, random_state=0)
                est.sample(n_rows, random_state=0)  # warm the sorted copies
                # A new seed each call: the same rows again and again would let
                # the CPU learn their branches, which fresh draws never allow.
                seeds = itertools.count()
                cached = median_time(
                    lambda: est.sample(n_rows, random_state=next(seeds)),
                    repeats,
                    MIN_RUN_SECONDS,
                )
                score = median_time(
                    lambda: est.score_samples(X), repeats, MIN_RUN_SECONDS
                )
                naive, scaled = naive_time(
                    fastmade_naive_passes(est, n_rows), n_features, repeats, budget
                )
                row = dict(
                    D=n_features,
                    hidden=hidden,
                    N=n_rows,
                    naive=naive,
                    scaled=scaled,
                    cached=cached,
                    score=score,
                )
                line = (
                    f"| {n_features} | {hidden} | {n_rows} | "
                    f"{naive:.4g}{'*' if scaled else ''} | {cached:.4g} | "
                    f"{naive / cached:.0f} | {cached / score:.2f} |"
                )
                if torch is not None:
                    row["torch"], row["torch_scaled"] = naive_time(
                        torch_naive_passes(est, n_rows), n_features, repeats, budget
                    )
                    line += (
                        f" {row['torch']:.4g}{'*' if row['torch_scaled'] else ''} |"
                        f" {row['torch'] / cached:.0f} |"
                    )
                print(line, flush=True)
                table.append(row)
    return table


def epoch_rows(batch_size):
    """Rows of the timed epoch: a few minibatches, at least 20000 rows."""
    return max(20000, 2 * batch_size)


def time_epoch(est, X, repeats):
    """Median time of one training epoch of ``est`` on ``X`` (no early stopping)."""
    est.set_params(max_iter=1, early_stopping=False, warm_start=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X[:2])  # build the network once, outside the timing
        est.set_params(warm_start=True)
        return median_time(lambda: est.fit(X), repeats)


def time_forward(network, kind, X, repeats):
    """Median time of one member-0 forward pass with the given products."""
    from fastmade._network import forward
    from fastmade._products import MemberProducts

    network.masked_product = kind

    def run():
        member = MemberProducts(network, 0, kind)
        forward(member.products, member.biases, member.inputs(X), network.activation)

    return median_time(run, repeats)


def torch_epoch(est, X, batch_size, repeats):
    """Median time of one epoch of a PyTorch MADE of the same shape.

    Weights times masks in every step, Adam, the same batch size and threads.
    """
    import torch

    network = est._network
    weights = [
        torch.nn.Parameter(torch.from_numpy(W.T.copy())) for W in network.weights
    ]
    biases = [torch.nn.Parameter(torch.from_numpy(b.copy())) for b in network.biases]
    masks = [torch.from_numpy(M.T.copy()) for M in network.masks[0]]
    n_layers = len(biases) - 1
    direct = len(weights) > n_layers + 1
    optimiser = torch.optim.Adam(weights + biases, lr=1e-3)
    data = torch.from_numpy(X.astype(np.float32))
    linear = torch.nn.functional.linear

    def run():
        for start in range(0, len(data), batch_size):
            x = data[start : start + batch_size]
            h = x
            for layer in range(n_layers):
                h = torch.relu(linear(h, weights[layer] * masks[layer], biases[layer]))
            out = linear(h, weights[n_layers] * masks[n_layers], biases[n_layers])
            if direct:
                out = out + linear(x, weights[-1] * masks[-1])
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                out, x, reduction="sum"
            ) / len(x)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()

    return median_time(run, repeats)


def products_table(repeats, dimensions, hidden_sizes, batches):
    """Rows of the masked-product table, printed as they are measured."""
    torch = torch_or_none()

    header = (
        "| D | hidden | batch | forward dense (s) | forward staircase (s) | speedup |"
        " epoch dense (s) | epoch staircase (s) | speedup | score rows/s |"
    )
    if torch is not None:
        header += " epoch PyTorch (s) | staircase vs PyTorch |"
    print_header(header)
    table = []
    for n_features in dimensions:
        for hidden in hidden_sizes:
            for batch in batches:
                rng = np.random.RandomState(0)
                X = (rng.rand(epoch_rows(batch), n_features) < 0.3).astype(np.float32)
                epochs = {}
                for kind in ("dense", "staircase"):
                    est = MADEEstimator(
                        hidden_layer_sizes=hidden,
                        batch_size=batch,
                        masked_product=kind,
                        random_state=0,
                    )
                    epochs[kind] = time_epoch(est, X, repeats)
                network = est._network
                forwards = {
                    kind: time_forward(network, kind, X[:batch], repeats)
                    for kind in ("dense", "staircase")
                }
                network.masked_product = "staircase"
                score = median_time(lambda: est.score_samples(X), repeats)
                row = dict(
                    D=n_features,
                    hidden=hidden,
                    batch=batch,
                    **{f"forward_{k}": v for k, v in forwards.items()},
                    **{f"epoch_{k}": v for k, v in epochs.items()},
                    rows_per_second=len(X) / score,
                )
                line = (
                    f"| {n_features} | {hidden} | {batch} | "
                    f"{forwards['dense']:.4g} | {forwards['staircase']:.4g} | "
                    f"{forwards['dense'] / forwards['staircase']:.2f} | "
                    f"{epochs['dense']:.4g} | {epochs['staircase']:.4g} | "
                    f"{epochs['dense'] / epochs['staircase']:.2f} | "
                    f"{row['rows_per_second']:.3g} |"
                )
                if torch is not None:
                    row["epoch_torch"] = torch_epoch(est, X, batch, repeats)
                    line += (
                        f" {row['epoch_torch']:.4g} |"
                        f" {row['epoch_torch'] / epochs['staircase']:.2f} |"
                    )
                print(line, flush=True)
                table.append(row)
    return table


def plot_sampling(table, path):
    """Speedup of cached over naive sampling against N, one line per shape."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    shapes = sorted({(row["D"], row["hidden"]) for row in table})
    for n_features, hidden in shapes:
        rows = [r for r in table if (r["D"], r["hidden"]) == (n_features, hidden)]
        ax.plot(
            [r["N"] for r in rows],
            [r["naive"] / r["cached"] for r in rows],
            marker="o",
            label=f"D={n_features}, hidden={hidden}",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("samples drawn (N)")
    ax.set_ylabel("naive time / cached time")
    ax.set_title("fastmade: cached against naive sampling, float32")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table", choices=["sampling", "products"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--budget",
        type=float,
        default=20.0,
        help="seconds a naive run may take before it is scaled",
    )
    parser.add_argument("--dimensions", type=int, nargs="+", default=DIMENSIONS)
    parser.add_argument("--rows", type=int, nargs="+", default=ROWS)
    parser.add_argument("--batches", type=int, nargs="+", default=BATCHES)
    parser.add_argument("--plot", help="write the figure to this PNG file")
    parser.add_argument(
        "--distribution",
        choices=["bernoulli", "gaussian"],
        default="bernoulli",
        help="conditionals of the sampled models (sampling table)",
    )
    args = parser.parse_args()

    blas = [(lib["internal_api"], lib["num_threads"]) for lib in threadpool_info()]
    print(f"BLAS and OpenMP pools (api, threads): {blas}\n")
    if args.table == "products":
        products_table(args.repeats, args.dimensions, PRODUCT_HIDDEN, args.batches)
        return
    table = sampling_table(
        args.repeats, args.budget, args.dimensions, HIDDEN, args.rows, args.distribution
    )
    if args.plot:
        try:
            plot_sampling(table, args.plot)
        except ImportError:
            print("matplotlib is not installed: no plot")


if __name__ == "__main__":
    main()
