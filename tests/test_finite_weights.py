"""Every way out of ``fit`` leaves finite weights, and a network with NaN or infinite
weights is never written to a file (our own reader would refuse it).

The diverging runs are real: a sigmoid network on 500 MNIST examples whose learning
rate jumps (step schedule) to 3e40 in epoch 2, so that the first update of that epoch
overflows the float32 weights to infinity and the next batch's cost is NaN.
"""
import math

import numpy as np
import pytest

from core import Net
from ui import model_store

SIZES = [784, 30, 10]
N_TRAIN = 500
BATCH = 10
BATCHES = N_TRAIN // BATCH  # per epoch
BLOW_UP = {"eta": 3.0, "schedule": "step", "step_size": 1, "gamma": 1e40}  # epoch 2 runs at eta 3e40

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@pytest.fixture(scope="module")
def train(mnist):
    data = mnist[0]
    return data.X[:N_TRAIN], data.y[:N_TRAIN]


def _net(seed=0):
    return Net(SIZES, seed=seed)


def _params(net):
    return [w.copy() for w in net.weights], [b.copy() for b in net.biases]


def _assert_parameters_equal(net, params):
    for got, expected in zip(net.weights + net.biases, params[0] + params[1]):
        np.testing.assert_array_equal(got, expected)


def _epoch_end_recorder(net, store):
    """A callback keeping a copy of the parameters at the end of every epoch."""
    def callback(progress):
        if progress.epoch_done:
            store.append(_params(net))
    return callback


@pytest.fixture(scope="module")
def blow_up_batch(train):
    """The (1-based, counted over the run) batch whose cost is the first non-finite one."""
    net = _net()
    asked = []
    result = net.fit(train, epochs=3, batch_size=BATCH, should_stop=lambda: asked.append(1) and False,
                     **BLOW_UP)
    assert result.status == "diverged" and result.epochs == 1, result
    batch = len(asked)  # should_stop is asked before each batch; the last one asked is the diverging one
    assert BATCHES + 1 < batch <= 2 * BATCHES  # in epoch 2, after at least one update at the huge rate
    return batch


# ----- stop pressed in the batch where the cost blows up -------------------------------------------
def test_stop_in_the_blow_up_batch_restores_the_last_good_epoch(train, blow_up_batch):
    net = _net()
    epoch_ends, asked, finite_when_stopped = [], [], []

    def should_stop():
        asked.append(1)
        if len(asked) == blow_up_batch:  # the user presses Stop just as the cost is about to be NaN
            finite_when_stopped.append(net.parameters_finite())
            return True
        return False

    result = net.fit(train, epochs=3, batch_size=BATCH, should_stop=should_stop,
                     callback=_epoch_end_recorder(net, epoch_ends), **BLOW_UP)
    assert finite_when_stopped == [False]  # the weights really had blown up when Stop was seen
    assert result.status == "diverged" and result.epochs == 1
    assert "stopped during epoch 2" in result.message
    assert "diverged" in result.message and "weights became NaN or infinite" in result.message
    assert "restored the weights from the end of epoch 1, so the network keeps the 1 epoch it finished" \
        in result.message
    assert "smaller learning rate" in result.message
    assert net.parameters_finite()
    assert len(epoch_ends) == 1 and len(net.history) == 1
    _assert_parameters_equal(net, epoch_ends[0])
    assert net.evaluate(*train)["accuracy"] > 0.3  # the restored network still works
    # and it can be saved and read back by our own reader
    loaded = Net.from_bytes(net.to_bytes())
    _assert_parameters_equal(loaded, _params(net))


def test_stop_after_a_blow_up_in_the_first_epoch_restores_the_initial_weights(train):
    net = _net()
    initial = _params(net)
    asked = []
    result = net.fit(train, epochs=2, eta=3e40, batch_size=BATCH,
                     should_stop=lambda: asked.append(1) or len(asked) == 2)  # after one update at 3e40
    assert result.status == "diverged" and result.epochs == 0
    assert "stopped during epoch 1" in result.message and "restored the weights from before training" \
        in result.message
    assert net.history == [] and net.parameters_finite()
    _assert_parameters_equal(net, initial)


def test_stop_with_finite_cost_but_infinite_weights_restores_the_epoch_start(train):
    # an infinite hidden bias saturates its sigmoid (output 1, gradient 0): the cost stays finite and the
    # bias stays infinite, so only a check of the weights themselves can catch it
    def run(stop_after):
        net = _net()
        epoch_ends, asked = [], []

        def callback(progress):
            if progress.epoch_done:
                epoch_ends.append(_params(net))
            elif progress.epoch == 2 and progress.batch == 5:
                net.biases[0][3] = np.inf
        result = net.fit(train, epochs=2, eta=3.0, batch_size=BATCH, callback=callback, progress_every=1,
                         should_stop=lambda: asked.append(1) or len(asked) == stop_after)
        return net, result, epoch_ends, asked

    # without Stop, the cost stays finite to the end of epoch 2, where the epoch-end check catches it
    net, result, epoch_ends, asked = run(stop_after=None)
    assert result.status == "diverged" and len(asked) == 2 * BATCHES
    _assert_parameters_equal(net, epoch_ends[0])
    # Stop pressed a few batches after the bias became infinite
    net, result, epoch_ends, asked = run(stop_after=BATCHES + 8)
    assert result.status == "diverged" and result.epochs == 1
    assert "stopped during epoch 2" in result.message and "keeps the 1 epoch it finished" in result.message
    assert net.parameters_finite() and len(net.history) == 1
    _assert_parameters_equal(net, epoch_ends[0])


def test_a_plain_stop_still_keeps_the_partial_epoch(train):
    net = _net()
    epoch_ends, asked = [], []
    result = net.fit(train, epochs=3, eta=3.0, batch_size=BATCH, callback=_epoch_end_recorder(net, epoch_ends),
                     should_stop=lambda: asked.append(1) or len(asked) > BATCHES + BATCHES // 2)
    assert result.status == "stopped" and result.epochs == 1
    assert result.message == "stopped during epoch 2; the weights keep what was learned so far"
    assert net.parameters_finite() and len(net.history) == 1
    assert not np.array_equal(net.weights[0], epoch_ends[0][0][0])  # not rolled back


# ----- an exception from the callback after the weights blew up ------------------------------------
@pytest.mark.parametrize("error", [RuntimeError("the progress display went away"), KeyboardInterrupt()])
def test_an_exception_from_the_callback_restores_finite_weights_and_propagates(train, blow_up_batch, error):
    net = _net()
    epoch_ends, finite_when_raised = [], []

    def callback(progress):
        if progress.epoch_done:
            epoch_ends.append(_params(net))
        elif (progress.epoch - 1) * BATCHES + progress.batch == blow_up_batch - 1:
            finite_when_raised.append(net.parameters_finite())  # after the update that overflowed
            raise error

    with pytest.raises(type(error)) as raised:
        net.fit(train, epochs=3, batch_size=BATCH, callback=callback, progress_every=1, **BLOW_UP)
    assert raised.value is error
    assert finite_when_raised == [False]
    assert net.parameters_finite()
    assert len(epoch_ends) == 1 and len(net.history) == 1
    _assert_parameters_equal(net, epoch_ends[0])


def test_an_exception_with_finite_weights_keeps_them(train):
    net = _net()
    epoch_ends = []

    def callback(progress):
        if progress.epoch_done:
            epoch_ends.append(_params(net))
        elif progress.epoch == 2 and progress.batch == 10:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        net.fit(train, epochs=3, eta=3.0, batch_size=BATCH, callback=callback, progress_every=1)
    assert net.parameters_finite() and len(net.history) == 1
    assert not np.array_equal(net.weights[0], epoch_ends[0][0][0])  # the finite partial epoch is kept


def test_fit_refuses_a_network_that_already_has_non_finite_weights(train):
    net = _net()
    net.weights[1][0, 0] = np.nan
    with pytest.raises(ValueError, match=r"non-finite weights \(NaN or infinity\) and cannot be trained"):
        net.fit(train, epochs=1, eta=3.0, batch_size=BATCH)
    assert net.history == []


# ----- saving refuses non-finite weights --------------------------------------------------------------
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", ["weights", "biases"])
def test_saving_refuses_non_finite_weights_and_writes_nothing(modelfiles, tmp_path, bad, where):
    net = modelfiles.tiny_net()
    getattr(net, where)[-1].flat[0] = bad
    message = r"the network has non-finite weights \(NaN or infinity\) and cannot be saved"
    with pytest.raises(ValueError, match=message):
        net.to_bytes()
    path = tmp_path / "net.npz"
    for overwrite in (True, False):
        with pytest.raises(ValueError, match=message):
            net.save(path, overwrite=overwrite)
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file left either


def test_saving_a_non_finite_network_leaves_an_existing_file_unchanged(modelfiles, tmp_path):
    good = modelfiles.tiny_net()
    path = good.save(tmp_path / "net.npz")
    before = path.read_bytes()
    broken = modelfiles.tiny_net()
    broken.weights[0][0, 0] = np.nan
    with pytest.raises(ValueError, match="non-finite weights"):
        broken.save(path, overwrite=True)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.npz"]


def test_the_app_save_path_reports_non_finite_weights_as_a_value_error(modelfiles, tmp_path):
    # ui/sidebar.py shows a ValueError from save_model as an error message
    net = modelfiles.tiny_net()
    net.biases[0][0] = np.inf
    with pytest.raises(ValueError, match="non-finite weights"):
        model_store.save_model(net, "broken", folder=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_saving_refuses_a_non_finite_history(modelfiles, tmp_path):
    net = modelfiles.tiny_net()
    net.history[-1]["train_cost"] = float("inf")
    with pytest.raises(ValueError, match="NaN or infinite value and cannot be saved"):
        net.save(tmp_path / "net.npz")
    assert list(tmp_path.iterdir()) == []


# ----- completed runs are unchanged ---------------------------------------------------------------------
def test_a_completed_run_is_unchanged_and_finite(train, tmp_path):
    net = _net()
    result = net.fit(train, epochs=2, eta=3.0, batch_size=BATCH)
    assert result.status == "completed" and result.epochs == 2 and result.message == ""
    assert [entry["epoch"] for entry in net.history] == [1, 2]
    assert all(value is None or math.isfinite(value) for entry in net.history for value in entry.values())
    assert net.history[-1]["train_accuracy"] > max(net.history[0]["train_accuracy"], 0.3)  # it learns
    assert net.parameters_finite()
    # the exit checks change nothing: the same run watched by a callback and a never-true should_stop
    twin = _net()
    twin.fit(train, epochs=2, eta=3.0, batch_size=BATCH, callback=lambda p: None, progress_every=7,
             should_stop=lambda: False)
    _assert_parameters_equal(twin, _params(net))
    loaded = Net.load(net.save(tmp_path / "net.npz"))
    _assert_parameters_equal(loaded, _params(net))
