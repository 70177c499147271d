"""Training through the direct BLAS call (core._gemm) gives what NumPy's matmul gives.

NumPy's wheels ship OpenBLAS, so wherever NumPy runs on OpenBLAS the direct path must be
found and pass its check: a broken fast path fails here (it would silently make training
slower). Only a NumPy on another BLAS skips, and never on CI, whose NumPy is the wheel.
"""
import os

import numpy as np
import pytest

import core.backprop
from core import Net
from core._gemm import find_gemm
from core.blas import _controller


def _on_ci():
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _direct_gemm_or_fail():
    if find_gemm() is not None:
        return
    if os.environ.get("CORE_DIRECT_GEMM", "1") == "0":
        pytest.skip("the direct BLAS call is switched off (CORE_DIRECT_GEMM=0)")
    openblas = _controller().select(internal_api="openblas").info()
    if openblas:
        pytest.fail(f"NumPy runs on OpenBLAS ({openblas[0]['filepath']}) but the direct gemm was not found "
                    "or failed its check against np.matmul")
    if _on_ci():
        pytest.fail("no OpenBLAS behind NumPy on CI, whose NumPy wheel ships it")
    pytest.skip("no OpenBLAS found behind NumPy: training uses np.matmul only")


def test_the_direct_gemm_is_found_where_numpy_runs_on_openblas():
    _direct_gemm_or_fail()
    assert find_gemm() is not None


@pytest.fixture(scope="module")
def subset(mnist):
    train, _, _ = mnist
    return train.X[:3000], train.y[:3000]


@pytest.mark.parametrize("hidden,optimizer", [("sigmoid", "sgd"), ("relu", "momentum"), ("tanh", "adam")])
def test_direct_gemm_training_matches_numpy(subset, monkeypatch, hidden, optimizer):
    _direct_gemm_or_fail()
    settings = dict(epochs=1, eta=0.5 if optimizer != "adam" else 0.001, batch_size=100, optimizer=optimizer,
                    weight_decay=1.0)
    # 300 hidden units x 100 examples is above the size where the direct call is used
    direct = Net([784, 300, 10], hidden=hidden, init="xavier", seed=3)
    assert core.backprop.Backprop(direct, 100)._gemm is not core.backprop._no_gemm
    direct.fit(subset, **settings)
    monkeypatch.setattr(core.backprop, "find_gemm", lambda: None)
    plain = Net([784, 300, 10], hidden=hidden, init="xavier", seed=3)
    plain.fit(subset, **settings)
    for a, b in zip(direct.weights + direct.biases, plain.weights + plain.biases):
        np.testing.assert_allclose(a, b, rtol=2e-3, atol=2e-5)
    assert direct.history[0]["train_accuracy"] == pytest.approx(plain.history[0]["train_accuracy"], abs=0.01)
