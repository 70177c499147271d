"""Build & Train through the dashboard (AppTest): train, stop, continue, diverge, bad settings.

Training runs in a background thread; a test presses a button, waits for the job
(``finish_training``), then reruns the app to see the final state, as a browser would
after the polling fragment notices the end.
"""
import numpy as np
import pytest

import core.limits
from app_helpers import (app_data, chart_titled, chart_with_field, click, finish_training, go,  # noqa: F401
                         guard_real_models, history_is_finite, models_folder, new_app, no_exception, percent, run,
                         set_widgets, sidebar_accuracy, texts, wait_until, weights_finite)
from ui.session import MAX_RUNS_KEPT, Run
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
    assert any(t.startswith("Stopped:") and f"keeps the {epochs_text(epochs)} it finished" in t for t in texts(at.info))
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
