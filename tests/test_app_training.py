"""Build & Train through the dashboard (AppTest): train, stop, continue, diverge, bad settings.

Training runs in a background thread; a test presses a button, waits for the job
(``finish_training``), then reruns the app to see the final state, as a browser would
after the polling fragment notices the end.
"""
import threading

import numpy as np
import pytest

import core.limits
from app_helpers import (app_data, chart_titled, chart_with_field, click, finish_training, go,  # noqa: F401
                         guard_real_models, history_is_finite, models_folder, new_app, no_exception, percent, run,
                         set_widgets, sidebar_accuracy, texts, wait_until, weights_finite)
from ui.session import MAX_RUNS_KEPT, Run
from ui.training_job import SERVER_QUEUE
from ui.sidebar import epochs_text

SMALL = {"cfg_train_size": 500, "cfg_epochs": 2}
# A setting that diverges at once, every time (fixed seed): deep ReLU network, SGD, eta 1000.
DIVERGING = {"cfg_layers": 2, "cfg_size_0": 100, "cfg_size_1": 100, "cfg_hidden": "relu",
             "cfg_output_cost": "softmax + cross-entropy", "cfg_init": "he", "cfg_optimizer": "sgd",
             "cfg_eta": 1000.0, "cfg_train_size": 500, "cfg_epochs": 2, "cfg_seed": 0}


def _train_page(**settings):
    at = new_app("pages/train.py")
    set_widgets(at, **settings)
    return at


def _epochs_in(frame):
    return sorted(set(int(e) for e in frame["epoch"]))


def test_train_a_new_network():
    at = _train_page(**SMALL)
    before = app_data(at).net
    click(at, "train_button")
    no_exception(at)
    data = app_data(at)
    assert data.net is not before and data.job.net is data.net
    assert data.model_name == "run-1 (trained in this session)"
    job = finish_training(at)
    no_exception(at)
    assert job.status == "completed"
    net = data.net
    assert len(net.history) == 2
    assert [e["epoch"] for e in net.history] == [1, 2]
    assert net.sizes == [784, 30, 10]

    assert any(t.startswith("Finished: 2 epochs trained") for t in texts(at.success))
    accuracy = chart_titled(at, "Accuracy")
    assert _epochs_in(accuracy) == [1, 2]
    assert set(accuracy["set"]) == {"training", "validation"}
    np.testing.assert_allclose(accuracy[accuracy.set == "validation"].sort_values("epoch")["value"],
                               [e["validation_accuracy"] for e in net.history])
    assert _epochs_in(chart_titled(at, "Cost")) == [1, 2]

    shown = sidebar_accuracy(at)
    assert shown == f"{100 * net.test_accuracy:.2f}%"
    assert 0.1 <= percent(shown) <= 1.0
    assert "2 epochs trained" in " ".join(texts(at.sidebar.markdown))

    assert "Compare runs" in texts(at.subheader)
    table = at.dataframe[0].value
    assert list(table["run"]) == ["run 1"]
    assert int(table["epochs"].iloc[0]) == 2
    assert table["validation accuracy"].iloc[0] == pytest.approx(net.history[-1]["validation_accuracy"])
    assert set(chart_with_field(at, "run")["run"]) == {"run 1"}
    # the finished network can be saved now
    assert at.button(key="save_button") is not None


def test_settings_survive_a_visit_to_another_page_and_a_second_run_is_overlaid():
    at = _train_page(cfg_train_size=500, cfg_epochs=1, cfg_eta=2.5)
    click(at, "train_button")
    finish_training(at)
    go(at, "pages/home.py")
    go(at, "pages/train.py")
    assert at.number_input(key="cfg_epochs").value == 1
    assert at.select_slider(key="cfg_train_size").value == 500
    assert at.number_input(key="cfg_eta").value == 2.5
    click(at, "train_button")
    job = finish_training(at)
    no_exception(at)
    assert job.options["epochs"] == 1 and job.options["eta"] == 2.5
    assert len(job.train[1]) == 500
    assert list(at.dataframe[0].value["run"]) == ["run 1", "run 2"]
    assert set(chart_with_field(at, "run")["run"]) == {"run 1", "run 2"}  # the new run is overlaid at once


def test_stop_keeps_finished_epochs_and_continue_adds_to_the_same_network():
    at = _train_page(cfg_train_size=2000, cfg_batch_size=10, cfg_epochs=200)
    click(at, "train_button")
    data = app_data(at)
    job, net = data.job, data.net
    assert job.active and data.training
    # while training: Stop is offered, saving and loading wait
    assert not at.button(key="stop_button").disabled
    assert at.button(key="train_button").disabled and at.button(key="continue_button").disabled
    assert any("Saving is possible once training has finished" in c for c in texts(at.sidebar.caption))
    assert wait_until(lambda: len(job.snapshot().history) >= 1, timeout=30)
    run(at)
    assert any(t.startswith("Training: epoch") for t in texts(at.sidebar.info))
    assert chart_titled(at, "Accuracy") is not None  # the live chart appears after the first epoch

    click(at, "stop_button")
    finish_training(at)
    no_exception(at)
    assert job.status == "stopped"
    epochs = len(net.history)
    assert 1 <= epochs < 200
    assert [e["epoch"] for e in net.history] == list(range(1, epochs + 1))
    assert weights_finite(net) and history_is_finite(net.history)
    assert f"Stopped: you pressed Stop during epoch {epochs + 1}. The network keeps the {epochs_text(epochs)} it " \
           "finished." in texts(at.info), texts(at.info)
    assert percent(sidebar_accuracy(at)) > 0.5
    assert _epochs_in(chart_titled(at, "Accuracy")) == list(range(1, epochs + 1))

    set_widgets(at, cfg_epochs=1)
    click(at, "continue_button")
    assert app_data(at).job is not job
    continued = finish_training(at)
    no_exception(at)
    assert continued.status == "completed"
    assert app_data(at).net is net and continued.net is net
    assert len(net.history) == epochs + 1
    assert _epochs_in(chart_titled(at, "Accuracy")) == list(range(1, epochs + 2))
    table = at.dataframe[0].value
    assert list(table["run"]) == ["run 1"] and int(table["epochs"].iloc[0]) == epochs + 1


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # overflow in the training thread, by design
def test_diverging_learning_rate_is_reported_and_nothing_is_nan():
    at = _train_page(**DIVERGING)
    click(at, "train_button")
    job = finish_training(at)
    no_exception(at)
    assert job.status == "diverged", job.message
    assert any("diverged" in t for t in texts(at.error)), texts(at.error)
    net = app_data(at).net
    assert net.history == [] and weights_finite(net)  # back to the weights from before training

    # a good first epoch, then the absurd learning rate: the good epoch is kept
    set_widgets(at, cfg_eta=0.05, cfg_epochs=1)
    click(at, "train_button")
    assert finish_training(at).status == "completed"
    net = app_data(at).net
    good = [w.copy() for w in net.weights]
    set_widgets(at, cfg_eta=1000.0, cfg_epochs=2)
    click(at, "continue_button")
    job = finish_training(at)
    no_exception(at)
    assert job.status == "diverged", job.message
    assert any("diverged" in t and "epoch 1" in t for t in texts(at.error)), texts(at.error)
    assert len(net.history) == 1 and history_is_finite(net.history)
    assert all(np.array_equal(a, b) for a, b in zip(good, net.weights))
    assert percent(sidebar_accuracy(at)) > 0.5
    for title in ("Accuracy", "Cost"):
        frame = chart_titled(at, title)
        assert _epochs_in(frame) == [1] and not frame.isna().any().any()
    runs = chart_with_field(at, "run")
    assert not runs.isna().any().any() and np.isfinite(runs["accuracy"]).all()


def test_too_many_parameters_is_refused_with_a_message():
    at = run(_train_page(cfg_layers=2, cfg_size_0=4096, cfg_size_1=4096))
    metric = {m.label: m.value for m in at.main.metric}["Parameters"]
    assert int(metric.replace(",", "")) > core.limits.MAX_PARAMETERS
    before = app_data(at).net
    click(at, "train_button")
    no_exception(at)
    assert any("cannot be trained" in t and "parameters" in t for t in texts(at.error)), texts(at.error)
    data = app_data(at)
    assert data.job is None and data.net is before and data.runs == []


def test_parameter_limit_is_read_when_training(monkeypatch):
    at = _train_page(**SMALL)  # the session's default network is loaded under the normal limit
    monkeypatch.setattr(core.limits, "MAX_PARAMETERS", 1000)
    click(at, "train_button")
    no_exception(at)
    assert any("more than the limit of 1,000" in t for t in texts(at.error)), texts(at.error)
    assert app_data(at).job is None


def test_a_batch_larger_than_the_training_set_is_refused_before_anything_starts():
    at = _train_page(cfg_train_size=500, cfg_batch_size=1024, cfg_epochs=1)
    before = app_data(at).net
    for button in ("train_button", "continue_button"):
        click(at, button)
        no_exception(at)
        assert any("mini-batch size (1024) is larger than the training set (500 examples)" in t
                   for t in texts(at.error)), texts(at.error)
        data = app_data(at)
        assert data.job is None and data.net is before and data.runs == []


def test_runs_keep_unique_numbers_after_the_oldest_are_dropped():
    at = _train_page(cfg_train_size=500, cfg_epochs=1)
    data = app_data(at)
    for number in range(1, MAX_RUNS_KEPT + 1):
        data.add_run(Run(f"run {number}", "earlier", [{"epoch": 1, "train_accuracy": 0.5}]))
    click(at, "train_button")
    finish_training(at)
    click(at, "train_button")
    finish_training(at)
    no_exception(at)
    labels = [r.label for r in app_data(at).runs]
    assert len(labels) == MAX_RUNS_KEPT and len(set(labels)) == MAX_RUNS_KEPT
    assert labels[-2:] == [f"run {MAX_RUNS_KEPT + 1}", f"run {MAX_RUNS_KEPT + 2}"]
    assert app_data(at).model_name == f"run-{MAX_RUNS_KEPT + 2} (trained in this session)"


def test_one_training_at_a_time_per_session():
    at = _train_page(cfg_train_size=2000, cfg_epochs=50)
    click(at, "train_button")
    first = app_data(at).job
    assert first is not None and first.active
    at.run(timeout=30)
    assert at.button(key="train_button").disabled and at.button(key="continue_button").disabled
    assert not at.button(key="stop_button").disabled
    assert app_data(at).job is first
    first.stop()
    finish_training(at)
    no_exception(at)
    assert not at.button(key="train_button").disabled


# ----- comparing runs ---------------------------------------------------------------------------

def _overlay(at):
    """(chips in the "Runs to overlay" picker, runs plotted in the runs chart)."""
    chips = at.multiselect(key="compare_choice").value
    plotted = set(chart_with_field(at, "run")["run"]) if chips else set()
    return chips, plotted


def test_the_runs_picker_and_chart_agree_new_runs_join_and_removals_are_kept():
    at = _train_page(cfg_train_size=500, cfg_epochs=1)
    for number in (1, 2, 3):
        click(at, "train_button")
        finish_training(at)
        chips, plotted = _overlay(at)
        assert set(chips) == plotted == {f"run {n}" for n in range(1, number + 1)}
        assert at.multiselect(key="compare_choice").options == [f"run {n}" for n in range(1, number + 1)]

    at.multiselect(key="compare_choice").unselect("run 2")
    run(at)
    assert set(_overlay(at)[0]) == _overlay(at)[1] == {"run 1", "run 3"}
    click(at, "train_button")  # a new run joins the chart, the removed one stays off
    finish_training(at)
    go(at, "pages/draw.py")
    go(at, "pages/train.py")  # and a visit to another page forgets nothing
    chips, plotted = _overlay(at)
    assert set(chips) == plotted == {"run 1", "run 3", "run 4"}

    at.multiselect(key="compare_choice").select("run 2")
    run(at)
    chips, plotted = _overlay(at)
    assert set(chips) == plotted == {"run 1", "run 2", "run 3", "run 4"}
    for label in ("run 1", "run 2", "run 3", "run 4"):
        at.multiselect(key="compare_choice").unselect(label)
        run(at)
    assert _overlay(at) == ([], set())
    no_exception(at)


def test_the_runs_table_describes_the_trained_network_and_each_stretch_of_training():
    at = _train_page(cfg_train_size=1000, cfg_epochs=1, cfg_eta=0.05)  # the form says 784-30-10 sigmoid
    default = app_data(at).net
    pretrained = len(default.history)
    click(at, "continue_button")
    finish_training(at)
    set_widgets(at, cfg_optimizer="adam", cfg_eta=0.001, cfg_train_size=500, cfg_epochs=2)
    click(at, "continue_button")
    finish_training(at)
    set_widgets(at, cfg_optimizer="sgd", cfg_eta=3.0, cfg_epochs=1)
    click(at, "train_button")
    finish_training(at)
    no_exception(at)

    table = at.dataframe[0].value
    assert list(table["run"]) == ["run 1 (default continued)", "run 2"]
    continued, new = table.iloc[0], table.iloc[1]
    assert continued["network"] == "784→512→256→10, relu, softmax + cross-entropy"
    assert continued["training"] == (
        f"epochs 1–{pretrained}: earlier training; epoch {pretrained + 1}: sgd η 0.05, batch 10, 1,000 examples; "
        f"epochs {pretrained + 2}–{pretrained + 3}: adam η 0.001, batch 10, 500 examples")
    assert int(continued["epochs"]) == pretrained + 3 == len(default.history)
    assert new["network"] == "784→30→10, sigmoid, sigmoid + quadratic"
    assert new["training"] == "epoch 1: sgd η 3, batch 10, 500 examples"


# ----- a training that waits in the queue -------------------------------------------------------

class _SlotHolder:
    """Another session's training, holding one of the server's slots."""

    def __init__(self):
        self.stop_requested = threading.Event()


@pytest.fixture
def fill_server():
    """Call to take every training slot of the server, so that a new training waits in the queue."""
    holders = []

    def fill():
        holders.extend(_SlotHolder() for _ in range(SERVER_QUEUE.slots))
        for holder in holders:
            assert SERVER_QUEUE.acquire(holder)

    yield fill
    for holder in holders:
        SERVER_QUEUE.release(holder)


def _state(at):
    """What a run that never started must leave as it was."""
    data = app_data(at)
    table = at.dataframe[0].value if len(at.dataframe) else None
    return data.net, data.model_name, len(data.net.history), [r.label for r in data.runs], data.runs_added, table


@pytest.mark.parametrize("button, trained_first", [("train_button", True), ("continue_button", False)])
def test_stopping_a_training_that_never_started_leaves_everything_as_it_was(fill_server, button, trained_first):
    at = _train_page(cfg_train_size=500, cfg_epochs=1)
    if trained_first:  # a first run while the server is free: it is in the runs table
        click(at, "train_button")
        finish_training(at)
    data = app_data(at)
    weights = [w.copy() for w in data.net.weights]
    net, name, epochs, runs, added, table = _state(at)

    fill_server()
    click(at, button)
    job = data.job
    assert job.status == "queued" and data.training
    assert any("Waiting for a free training slot" in t for t in texts(at.info)), texts(at.info)
    click(at, "stop_button")
    assert finish_training(at).status == "cancelled"
    no_exception(at)

    after = _state(at)
    assert after[:5] == (net, name, epochs, runs, added)
    assert (table is None and after[5] is None) or after[5].equals(table)
    assert all(np.array_equal(a, b) for a, b in zip(weights, data.net.weights))
    assert name in texts(at.sidebar.caption)
    assert any(t.startswith("Cancelled before it started") for t in texts(at.info)), texts(at.info)
    assert data.checkpoint is None  # nothing to undo: no copy of the weights kept


# ----- a training that does not learn -----------------------------------------------------------

COLLAPSING = {"cfg_hidden": "sigmoid", "cfg_output_cost": "sigmoid + quadratic", "cfg_optimizer": "sgd",
              "cfg_eta": 1000.0}


def _failed_to_learn(at):
    return [t for t in texts(at.error) if t.startswith("This run failed to learn")]


def test_a_run_that_learns_nothing_says_so_and_can_be_undone():
    at = _train_page(cfg_train_size=500, cfg_epochs=2, cfg_eta=3.0)
    click(at, "train_button")
    finish_training(at)
    data = app_data(at)
    healthy, name = data.net, data.model_name
    assert any(t.startswith("Finished: 2 epochs trained") for t in texts(at.success))
    assert not _failed_to_learn(at) and data.checkpoint is None  # nothing to undo: no copy kept
    assert not _has_button(at, "restore_button")
    weights = [w.copy() for w in healthy.weights + healthy.biases]
    accuracy = healthy.test_accuracy

    # continued at an absurd learning rate: the weights saturate and it guesses
    set_widgets(at, **COLLAPSING)
    click(at, "continue_button")
    finish_training(at)
    no_exception(at)
    assert not [t for t in texts(at.success) if t.startswith("Finished")]
    [message] = _failed_to_learn(at)
    assert "is what guessing scores (10%)" in message and "η 1000 is most likely too high for sgd" in message
    assert len(healthy.history) == 4
    click(at, "restore_button")
    no_exception(at)
    assert data.net is healthy and data.model_name == name and len(healthy.history) == 2
    assert all(np.array_equal(a, b) for a, b in zip(weights, healthy.weights + healthy.biases))
    assert healthy.test_accuracy == accuracy and sidebar_accuracy(at) == f"{100 * accuracy:.2f}%"
    assert "Restored the network from before the run." in texts(at.sidebar.success)
    assert not _has_button(at, "restore_button") and data.checkpoint is None
    assert at.dataframe[0].value["training"].iloc[0] == "epochs 1–2: sgd η 3, batch 10, 500 examples"

    # a new network at that learning rate: restoring brings back the previous network
    click(at, "train_button")
    finish_training(at)
    assert _failed_to_learn(at) and data.net is not healthy
    click(at, "restore_button")
    no_exception(at)
    assert data.net is healthy and data.model_name == name
    assert all(np.array_equal(a, b) for a, b in zip(weights, healthy.weights + healthy.biases))
    assert list(at.dataframe[0].value["run"]) == ["run 1", "run 2"]  # the failed run stays comparable


def _has_button(at, key):
    return any(b.key == key for b in at.button)
