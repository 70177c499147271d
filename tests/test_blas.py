"""The BLAS thread count is one setting for the whole process: overlapping trainings must share it
and leave it as they found it, whichever ends first."""
import subprocess
import sys
from pathlib import Path

import pytest

from core.blas import ThreadChoice, current_threads

ROOT = Path(__file__).resolve().parent.parent
SMALL = (10, [784, 30, 10])  # a mini-batch too small for several threads: each training asks for one


@pytest.fixture
def server_threads():
    """The thread count the process runs with before any training (left as the process set it:
    OpenBLAS treats a count set from the main thread differently from one set by a training thread)."""
    threads = current_threads()
    if threads < 2:
        pytest.skip("BLAS runs on one thread here: there is no setting to lose")
    yield threads
    assert current_threads() == threads


@pytest.mark.parametrize("first_to_end", ["first started", "last started"])
def test_overlapping_trainings_leave_the_setting_as_they_found_it(server_threads, first_to_end):
    a, b = ThreadChoice(*SMALL), ThreadChoice(*SMALL)
    a.__enter__()
    assert current_threads() == 1
    b.__enter__()
    assert current_threads() == 1
    ending = [a, b] if first_to_end == "first started" else [b, a]
    ending[0].__exit__(None, None, None)
    assert current_threads() == 1  # the other one still trains on its one thread
    ending[1].__exit__(None, None, None)
    assert current_threads() == server_threads


def test_overlapping_trainings_share_the_cores_one_thread_each(server_threads):
    big = (100, [784, 800, 10])  # alone, a training of this size may use every thread
    alone = ThreadChoice(*big)
    with alone:
        alone._use(server_threads)
        assert current_threads() == server_threads
        with ThreadChoice(*SMALL):
            assert current_threads() == 1
            alone._use(server_threads)
            assert current_threads() == 1  # asked for all, but two trainings share the cores
        assert current_threads() == server_threads  # alone again: its own choice holds
    assert current_threads() == server_threads


OVERLAPPING_TRAININGS = """
import threading
import numpy as np
from core import Net
from core.blas import current_threads

before = current_threads()
rng = np.random.default_rng(0)
data = (rng.random((600, 784), dtype=np.float32), rng.integers(0, 10, 600))
both_inside, first_done, errors = threading.Barrier(2, timeout=30), threading.Event(), []

def training(seed, wait_for_first):
    reported = []
    def on_progress(progress):
        if not reported:
            reported.append(progress)
            both_inside.wait()
            if wait_for_first:
                first_done.wait(30)
    try:
        Net([784, 30, 10], seed=seed).fit(data, 1, eta=3.0, batch_size=10, callback=on_progress, progress_every=5)
    except Exception as error:
        errors.append(repr(error))
    finally:
        if not wait_for_first:
            first_done.set()

threads = [threading.Thread(target=training, args=(0, False)), threading.Thread(target=training, args=(1, True))]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join(60)
print(before, current_threads(), errors or "")
"""


def test_two_real_trainings_in_threads_restore_the_server_setting():
    """Two ``Net.fit`` calls in threads of a fresh process, as on the server (whose main thread never
    sets a thread count), that really overlap: each waits for the other inside its first progress
    report, and the first started ends first."""
    result = subprocess.run([sys.executable, "-c", OVERLAPPING_TRAININGS], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    before, after, *errors = result.stdout.split()
    assert not errors, errors
    if int(before) < 2:
        pytest.skip("BLAS runs on one thread here: there is no setting to lose")
    assert after == before, f"the server was left on {after} BLAS threads instead of {before}"
