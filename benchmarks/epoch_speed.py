"""Time one training epoch of core against PyTorch on the CPU, and related figures.

    python benchmarks/epoch_speed.py              # everything, best of 3 epochs each
    python benchmarks/epoch_speed.py --repeats 5 --no-book

For each network ([784, 30, 10] at mini-batch 10, [784, 100, 10] and [784, 800, 10]
at mini-batch 100; sigmoid layers, quadratic cost, float32, plain SGD) it times one
epoch over the 50,000 MNIST training images with

* core: ``Net.fit(train, epochs=1, ...)``, the wall time of the whole call;
* PyTorch (if installed): the same network (nn.Linear + sigmoid, cost
  ½‖a − y‖² averaged over the batch, torch.optim.SGD) in a DataLoader-free loop
  over tensors shuffled once per epoch, at 1 thread and at all threads; the
  faster setting is the one compared;
* optionally the book's SGD loop for [784, 30, 10] with ``core.reference``'s
  backpropagation (the book's notation, matrix-based over each mini-batch) on a
  5,000-image subset, scaled x10.

The implementations run interleaved, epoch by epoch, and each figure is the
minimum over the repeats, since other processes share the machine. It also
prints the float32 GEMM peak (1024x1024 np.matmul, 1 thread and all threads),
the fraction of that peak each core epoch reaches (forward and backward
matrix-product FLOPs only), and the single-image prediction latency of
``Net.predict_proba``. It prints figures only and checks nothing.
"""
import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core import Net, load_mnist, reference  # noqa: E402
from core.blas import MIN_MULTIPLY_ADDS_FOR_THREADS, multiply_adds  # noqa: E402

CONFIGS = [([784, 30, 10], 10), ([784, 100, 10], 100), ([784, 800, 10], 100)]
ETA = 3.0
ALL_THREADS = os.cpu_count() or 1

try:
    import torch
except ImportError:
    torch = None


# ----- measurements -----------------------------------------------------------------------------
def gemm_peak(threads, n=1024, reps=10, rounds=5):
    """Best float32 np.matmul rate on n x n matrices, in GFLOP/s."""
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
    out = np.empty_like(a)
    with threadpool_limits(threads, user_api="blas"):
        np.matmul(a, b, out=out)
        best = float("inf")
        for _ in range(rounds):
            start = time.perf_counter()
            for _ in range(reps):
                np.matmul(a, b, out=out)
            best = min(best, (time.perf_counter() - start) / reps)
    return 2 * n**3 / best / 1e9


def epoch_flops(sizes, n):
    """Matrix-product FLOPs of one epoch: forward, weight gradients, deltas below the top layer."""
    products = [n_in * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    return 2 * n * (2 * sum(products) + sum(products[1:]))


def core_threads(sizes, batch_size):
    """1, or ALL_THREADS when core may use them (it then picks 1 or all by timing batches)."""
    return ALL_THREADS if multiply_adds(batch_size, sizes) >= MIN_MULTIPLY_ADDS_FOR_THREADS else 1


def core_epoch(net, train, batch_size):
    start = time.perf_counter()
    net.fit(train, epochs=1, eta=ETA, batch_size=batch_size)
    return time.perf_counter() - start


class TorchRun:
    """The same network in PyTorch, trained by a plain, well-written loop."""

    def __init__(self, sizes, X, Y):
        layers = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            layers += [torch.nn.Linear(n_in, n_out), torch.nn.Sigmoid()]
        self.model = torch.nn.Sequential(*layers)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=ETA)
        self.X, self.Y = X, Y
        self.generator = torch.Generator().manual_seed(0)

    def epoch(self, batch_size, threads):
        torch.set_num_threads(threads)
        model, optimizer = self.model, self.optimizer
        mse = torch.nn.functional.mse_loss
        n = len(self.X)
        start = time.perf_counter()
        order = torch.randperm(n, generator=self.generator)
        X, Y = self.X[order], self.Y[order]  # one shuffle per epoch
        for lo in range(0, n, batch_size):
            xb, yb = X[lo:lo + batch_size], Y[lo:lo + batch_size]
            loss = mse(model(xb), yb, reduction="sum") * (0.5 / len(xb))  # ½‖a − y‖², batch mean
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        return time.perf_counter() - start

    def latency_us(self, x, calls):
        torch.set_num_threads(1)
        times = []
        with torch.inference_mode():
            for _ in range(calls):
                start = time.perf_counter()
                self.model(x)
                times.append(time.perf_counter() - start)
        return 1e6 * statistics.median(times)


def book_epoch(train, subset=5000, batch_size=10, eta=ETA, seed=0):
    """The book's SGD (``update_mini_batch``) on [784, 30, 10] in float64, its gradients from
    ``core.reference``: backpropagation written as the book writes it, matrix-based over each mini-batch
    (the book's chapter-2 exercise). Timed on ``subset`` images, scaled to 50,000."""
    net = Net([784, 30, 10], seed=seed, dtype=np.float64)
    X, y = train.X[:subset].astype(np.float64), train.y[:subset]
    order = np.random.default_rng(seed).permutation(subset)
    start = time.perf_counter()
    with threadpool_limits(1, user_api="blas"):
        for k in range(0, subset, batch_size):
            batch = order[k:k + batch_size]
            nabla_w, nabla_b = reference.backprop(net, X[batch], y[batch])
            for parameter, gradient in zip(net.weights + net.biases, nabla_w + nabla_b):
                parameter -= eta * gradient
    return (time.perf_counter() - start) * len(train.X) / subset


def core_latency_us(net, x, calls):
    net.predict_proba(x)
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        net.predict_proba(x)
        times.append(time.perf_counter() - start)
    return 1e6 * statistics.median(times)


# ----- report -----------------------------------------------------------------------------------
def describe_machine():
    blas = ", ".join(f"{i['internal_api']} {i['version']} ({i['num_threads']} threads, {i.get('architecture')})"
                     for i in threadpool_info() if i["user_api"] == "blas")
    print(f"date {datetime.date.today().isoformat()}, {platform.processor() or platform.machine()}, "
          f"{ALL_THREADS} logical CPUs, Python {platform.python_version()}, NumPy {np.__version__}, BLAS {blas}")
    print(f"PyTorch {torch.__version__}" if torch is not None else "PyTorch not installed: column skipped")
    try:
        load = os.getloadavg()
        print(f"load average at start {load[0]:.2f} (other processes share the machine: figures are minima)")
    except OSError:
        pass


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="epochs timed per implementation (best is kept)")
    parser.add_argument("--no-book", action="store_true", help="skip the book's SGD loop on core.reference")
    parser.add_argument("--latency-calls", type=int, default=2000)
    args = parser.parse_args(argv)

    describe_machine()
    peak = {1: gemm_peak(1), ALL_THREADS: gemm_peak(ALL_THREADS)}

    train = load_mnist()[0]
    n = len(train.X)
    if torch is not None:
        X_t = torch.from_numpy(np.array(train.X))
        Y_t = torch.nn.functional.one_hot(torch.from_numpy(np.array(train.y)), 10).float()

    rows = []
    for sizes, batch_size in CONFIGS:
        net = Net(sizes, seed=0)
        run = TorchRun(sizes, X_t, Y_t) if torch is not None else None
        thread_options = sorted({1, ALL_THREADS})
        core_times, torch_times = [], {t: [] for t in thread_options}
        core_epoch(net, (train.X[:1000], train.y[:1000]), batch_size)  # warm-up
        for _ in range(args.repeats):  # interleaved, so load changes hit both alike
            core_times.append(core_epoch(net, train, batch_size))
            if run is not None:
                for threads in thread_options:
                    torch_times[threads].append(run.epoch(batch_size, threads))
        row = {"sizes": sizes, "batch": batch_size, "core": min(core_times),
               "core_threads": core_threads(sizes, batch_size),
               "flops": epoch_flops(sizes, n)}
        if run is not None:
            best_threads = min(thread_options, key=lambda t: min(torch_times[t]))
            row.update(torch=min(torch_times[best_threads]), torch_threads=best_threads,
                       torch_all={t: min(v) for t, v in torch_times.items()})
        x = train.X[0]
        row["latency"] = core_latency_us(net, x, args.latency_calls)
        if run is not None:
            row["torch_latency"] = run.latency_us(torch.from_numpy(np.array(x)).reshape(1, -1), args.latency_calls)
        rows.append(row)
        print(f"  measured {sizes} at mini-batch {batch_size}", flush=True)

    book = None if args.no_book else min(book_epoch(train) for _ in range(2))
    for threads in peak:  # measured again at the end: the best of both is the machine's peak
        peak[threads] = max(peak[threads], gemm_peak(threads))
    print(f"\nfloat32 GEMM peak (1024x1024 np.matmul, best at start and end): {peak[1]:.0f} GFLOP/s on 1 thread, "
          f"{peak[ALL_THREADS]:.0f} GFLOP/s on {ALL_THREADS} threads")

    print()
    header = (f"{'network':<15}{'batch':>6}{'core s':>9}{'PyTorch s':>11}{'core/PT':>9}"
              f"{'core GFLOP/s':>14}{'of peak':>11}{'latency us':>12}{'PT latency us':>15}")
    print(header)
    print("-" * len(header))
    for row in rows:
        rate = row["flops"] / row["core"] / 1e9
        fraction = rate / peak[row["core_threads"]]
        if "torch" in row:
            torch_cell = f"{row['torch']:>8.3f}/{row['torch_threads']}t"
            ratio = f"{row['core'] / row['torch']:>9.2f}"
            torch_latency = f"{row['torch_latency']:>15.1f}"
        else:
            torch_cell, ratio, torch_latency = f"{'-':>11}", f"{'-':>9}", f"{'-':>15}"
        print(f"{str(row['sizes']):<15}{row['batch']:>6}{row['core']:>9.3f}{torch_cell:>11}{ratio}"
              f"{rate:>14.1f}{fraction:>7.0%}/{row['core_threads']}t{row['latency']:>12.1f}{torch_latency}")
    print("\ncore s: wall time of Net.fit(train, epochs=1) on 50,000 images (best of "
          f"{args.repeats}); core uses 1 BLAS thread when a batch's forward products are under "
          f"{MIN_MULTIPLY_ADDS_FOR_THREADS / 1e6:g}M multiply-adds, else 1 or {ALL_THREADS}, by timing batches.")
    print("PyTorch s: best epoch at its best thread count (/Nt); core/PT below 1 means core is faster.")
    print("of peak: core's matrix-product GFLOP/s (forward, weight gradients, deltas) over the GEMM peak "
          "at the threads core may use (/Nt).")
    print("latency: median of Net.predict_proba on one 784-vector (PT: model(x) under inference_mode, 1 thread).")
    if "torch_all" in rows[0]:
        print("PyTorch by thread count: " + "; ".join(
            f"{r['sizes']}@{r['batch']}: " + ", ".join(f"{t}t {s:.3f} s" for t, s in r["torch_all"].items())
            for r in rows))
    if book is not None:
        print(f"book's SGD loop on core.reference, [784, 30, 10] at mini-batch 10: {book:.2f} s per 50,000 images "
              "(5,000 timed, x10; float64 as in the book)")


if __name__ == "__main__":
    main()
