"""The shipped pre-trained model reads MNIST and mouse-drawn digits well."""
from pathlib import Path

import numpy as np
import pytest

from core import Net, load_mnist
from core.drawn_digits import drawn_digit_set

DEFAULT = Path(__file__).resolve().parent.parent / "data" / "models" / "default.npz"


@pytest.fixture(scope="module")
def default_net():
    return Net.load(DEFAULT)


def test_default_model_reaches_98_percent_on_mnist_test(default_net):
    _, _, test = load_mnist()
    accuracy = default_net.evaluate(test)["accuracy"]
    assert accuracy >= 0.98
    assert default_net.test_accuracy == pytest.approx(accuracy, abs=1e-6)


def test_default_model_reads_95_percent_of_mouse_drawn_digits(default_net):
    images, labels = drawn_digit_set(n_per_digit=100, seed=1)
    predicted = default_net.predict(images.reshape(len(images), -1))
    assert (predicted == labels).mean() >= 0.95
    per_digit = [(predicted[labels == d] == d).mean() for d in range(10)]
    assert min(per_digit) >= 0.7, per_digit  # the weakest: a 1 drawn with a flag and a base


def test_default_model_records_how_it_was_trained(default_net):
    assert default_net.sizes[0] == 784 and default_net.sizes[-1] == 10
    assert len(default_net.history) >= 10
    assert all(np.isfinite(entry["validation_accuracy"]) for entry in default_net.history)
