"""The slow views (Evaluate's 10,000 predictions, Imagine's pictures) share a small server-wide
budget, and while a network trains they are computed at most once per epoch, not on every rerun."""
import threading
import time

import pytest

from app_helpers import (app_data, click, finish_training, go, guard_real_models, models_folder,  # noqa: F401
                         new_app, no_exception, run, set_widgets, wait_until)
from core import Net, limits
from ui import slow_views


def test_slow_views_are_computed_a_few_at_a_time_server_wide():
    inside, most = 0, 0
    lock = threading.Lock()

    def slow():
        nonlocal inside, most
        with lock:
            inside += 1
            most = max(most, inside)
        time.sleep(0.1)
        with lock:
            inside -= 1

    visitors = [threading.Thread(target=slow_views.within_budget, args=(slow,)) for _ in range(6)]
    for visitor in visitors:
        visitor.start()
    for visitor in visitors:
        visitor.join(10)
    assert most == limits.MAX_CONCURRENT_SLOW_VIEWS


@pytest.fixture
def counted_test_predictions(monkeypatch):
    """How many times any network predicted the whole test set."""
    calls = []
    predict_proba = Net.predict_proba

    def counting(net, X, *args, **kwargs):
        if len(X) == 10_000:
            calls.append(net)
        return predict_proba(net, X, *args, **kwargs)

    monkeypatch.setattr(Net, "predict_proba", counting)
    return calls


def test_evaluate_while_training_computes_once_per_epoch_not_per_rerun(counted_test_predictions):
    at = new_app("pages/train.py")  # a run whose epochs take seconds: 800 hidden neurons, 50,000 examples
    set_widgets(at, cfg_size_0=800, cfg_train_size=50_000, cfg_epochs=40)
    click(at, "train_button")
    data = app_data(at)
    try:
        wait_until(lambda: data.job.snapshot().status == "running")
        epochs_before = len(data.net.history)
        go(at, "pages/evaluate.py")
        for digit in ("3", "5", "any", "8"):  # a visitor looks through the mistakes
            at.selectbox(key="filter_true").set_value(digit)
            run(at)
            no_exception(at)
        epochs_passed = len(data.net.history) - epochs_before
        computed = list(counted_test_predictions)
        assert data.training
    finally:
        data.job.stop()
        finish_training(at)
    assert 1 <= len(computed) <= 1 + epochs_passed, (len(computed), epochs_passed)
    assert all(net is not data.net for net in computed)  # the trainer's published copies, never the live arrays

    go(at, "pages/evaluate.py")  # training over: the figures of the final network, computed once more
    assert counted_test_predictions[-1] is data.net
