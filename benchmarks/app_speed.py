"""Speed of the dashboard's own work, compared with core alone in the same run.

    python benchmarks/app_speed.py            # add --no-browser to skip the start-up timing

Prints:
* epoch time of training through the page's TrainingJob (background thread,
  progress callback, a 2 Hz poll of its snapshot as the page's fragment does)
  against the same Net.fit called directly, and their ratio;
* the Draw page's prediction latency (preprocess + forward + saliency);
* seconds from `streamlit run` to the first page showing its model (Chromium).
"""
import argparse
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # tests/drawn_digits.py: synthetic drawings

from core import Net, load_mnist  # noqa: E402
from drawn_digits import render_digit  # noqa: E402
from ui.drawing import read_digit  # noqa: E402
from ui.training_job import TrainingJob, TrainingQueue, wait_for  # noqa: E402

SETTINGS = {"epochs": 1, "eta": 3.0, "batch_size": 10}


def direct_epoch(train, validation):
    net = Net([784, 30, 10], seed=0)
    net.fit(train, validation=validation, **SETTINGS)
    return net.history[-1]["seconds"]


def page_epoch(train, validation, test):
    net = Net([784, 30, 10], seed=0)
    job = TrainingJob(net, train, validation, test, dict(SETTINGS, progress_every=100), queue=TrainingQueue(1))
    job.start()
    while job.active:  # what the page's fragment does while training runs
        job.snapshot()
        time.sleep(0.5)
    wait_for(job)
    return net.history[-1]["seconds"]


def training_overhead(repeats):
    train, validation, test = load_mnist()
    direct, page = [], []
    for _ in range(repeats):  # interleaved, so both see the same machine load
        direct.append(direct_epoch(train, validation))
        page.append(page_epoch(train, validation, test))
    d, p = min(direct), min(page)
    print(f"[784, 30, 10], mini-batch 10, one epoch of 50,000: core {d:.3f} s, through the page's job {p:.3f} s, "
          f"ratio {p / d:.3f} (target <= 1.10)")


def prediction_latency(repeats=50):
    net = Net.load(ROOT / "data" / "models" / "default.npz")
    canvas = render_digit(7, np.random.default_rng(0))
    read_digit(net, canvas)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        read_digit(net, canvas)
        times.append(time.perf_counter() - started)
    print(f"Draw page prediction (280x280 canvas -> to_mnist -> forward -> saliency) with {net.sizes}: "
          f"median {1000 * statistics.median(times):.1f} ms, max {1000 * max(times):.1f} ms (target < 100 ms)")


def startup_time(port=8765):
    from playwright.sync_api import sync_playwright

    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.headless", "true",
                               "--server.port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        healthy = time.perf_counter() - started
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=flags)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/")
            page.get_by_text("Test accuracy").first.wait_for(timeout=60_000)
            ready = time.perf_counter() - started
            browser.close()
    finally:
        server.terminate()
        server.wait(10)
    print(f"start-up: server healthy after {healthy:.1f} s, first page with its model after {ready:.1f} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    training_overhead(args.repeats)
    prediction_latency()
    if not args.no_browser:
        startup_time()


if __name__ == "__main__":
    main()
