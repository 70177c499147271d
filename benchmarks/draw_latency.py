"""Mouse-up to prediction on the Draw page, as a person sees it in Chromium.

    python benchmarks/draw_latency.py              # 40 digits, about a minute
    python benchmarks/draw_latency.py --digits 100
    python benchmarks/draw_latency.py --while-training 5   # while 5 other sessions train

Starts the dashboard (``streamlit run dashboard.py`` on a free port), opens the Draw page
in headless Chromium and draws digits with the mouse, in one or several strokes (the
templates of ``tests/drawn_digits.py``), clearing the canvas between digits. For the last
stroke of each digit it measures, inside the page, from the ``pointerup`` event to the
first animation frame in which the new reading is on screen (the "What the network sees"
image replaced by the reading of the whole drawing and loaded, with its prediction).

The canvas component waits 200 ms after the last mouse-up before it sends the drawing
(its own debounce, so that a quick next stroke joins the same update); that wait is part
of every figure. Prints median, 90th percentile and maximum, and the server's CPU time.

``--while-training N``: first N other browser sessions press "Train a new network" on
Build & Train, each a run of many minutes (``browser_helpers.prepare_long_training``); the
server runs ``MAX_CONCURRENT_TRAININGS`` of them at once and queues the others. Their tabs
run in the same headless Chromium, on the same machine as the server.
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "browser")]

from app_server import CHROMIUM, CHROMIUM_ARGS, StreamlitServer  # noqa: E402
from browser_helpers import (measure_reading_latency as measure, open_page, prepare_long_training,  # noqa: E402
                             start_training)
from core import limits  # noqa: E402
from drawn_digits import STROKES  # noqa: E402

VIEWPORT = {"width": 1400, "height": 1000}


def drawings(count):
    """(digit, style, seed) in turn over every digit and every template style."""
    styles = [(digit, style) for digit in STROKES for style in range(len(STROKES[digit]))]
    return [(*styles[i % len(styles)], i // len(styles)) for i in range(count)]


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main_():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--digits", type=int, default=40)
    most = limits.MAX_CONCURRENT_TRAININGS + limits.MAX_QUEUED_TRAININGS
    parser.add_argument("--while-training", type=int, default=0, metavar="N", choices=range(most + 1),
                        help=f"draw while N (at most {most}) other sessions train")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    server = StreamlitServer(ROOT / "test-artifacts").start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            trainers = [browser.new_page(viewport=VIEWPORT) for _ in range(args.while_training)]  # a context each
            for trainer in trainers:
                prepare_long_training(trainer, server.url)
            page = browser.new_page(viewport=VIEWPORT)
            open_page(page, server.url, "draw")
            measure(page, 7, 0, 99)  # warm-up: the first reading loads the model's arrays
            for trainer in trainers:
                start_training(trainer)
            cpu_before, started = server.cpu_seconds(), time.monotonic()
            latencies = [measure(page, *drawing) for drawing in drawings(args.digits)]
            cpu, wall = server.cpu_seconds() - cpu_before, time.monotonic() - started
            browser.close()
    finally:
        server.stop()
    training = ""
    if args.while_training:
        running = min(args.while_training, limits.MAX_CONCURRENT_TRAININGS)
        training = f", while {args.while_training} other sessions train ({running} at a time)"
    print(f"Draw page, mouse-up to prediction on screen, {len(latencies)} digits "
          f"(default model, Chromium{training}): "
          f"median {statistics.median(latencies):.0f} ms, 90th percentile {percentile(latencies, 0.9):.0f} ms, "
          f"max {max(latencies):.0f} ms (targets: median <= 300 ms, 90th percentile <= 500 ms; "
          f"200 ms of each is the canvas's own debounce)")
    print(f"server CPU{' (the trainings included)' if args.while_training else ''}: {cpu:.1f} s over {wall:.0f} s "
          f"of drawing ({cpu / len(latencies) * 1000:.0f} ms a digit)")


if __name__ == "__main__":
    main_()
