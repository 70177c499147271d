"""The caps of core/limits.py: overridable from the environment, refused when not a positive
whole number, and the model-file cap derived from the biggest legal model."""
import numpy as np
import pytest

from core import Net, limits
from core.validation import check_sizes, parameter_count


@pytest.mark.parametrize("raw, value", [(None, 17), ("5", 5), (" 12 ", 12), ("1", 1)])
def test_a_cap_comes_from_its_nn_variable_or_its_default(monkeypatch, raw, value):
    monkeypatch.delenv("NN_SOME_CAP", raising=False)
    monkeypatch.setenv("nn_SOME_CAP", "99")  # only the upper-case NN_ prefix counts
    if raw is not None:
        monkeypatch.setenv("NN_SOME_CAP", raw)
    assert limits._env_int("SOME_CAP", 17) == value


@pytest.mark.parametrize("raw, message", [
    ("many", "environment variable NN_SOME_CAP must be an integer, got 'many'"),
    ("2.5", "environment variable NN_SOME_CAP must be an integer, got '2.5'"),
    ("0", "environment variable NN_SOME_CAP must be positive, got 0"),
    ("-3", "environment variable NN_SOME_CAP must be positive, got -3"),
])
def test_a_cap_that_is_not_a_positive_whole_number_is_refused_by_name(monkeypatch, raw, message):
    monkeypatch.setenv("NN_SOME_CAP", raw)
    with pytest.raises(ValueError) as raised:
        limits._env_int("SOME_CAP", 17)
    assert str(raised.value) == message


def test_the_model_file_cap_is_every_parameter_in_float64_plus_metadata_and_headroom():
    """As documented: 8 bytes a parameter plus the metadata, 1/1000 for deflate's worst case, 64 KiB of
    headers; and a real model file (float64, metadata near its cap) fits it."""
    for parameters, metadata in [(0, 0), (1, 0), (7_940, 1_000), (4_000_000, 4 * 1024 * 1024)]:
        content = 8 * parameters + metadata
        assert limits.largest_model_file_bytes(parameters, metadata) == content + content // 1000 + 65_536
    net = Net([784, 10, 10], dtype=np.float64, seed=0)
    net.history = [{"epoch": e, "train_accuracy": 0.5, "train_cost": 1.0, "seconds": 1.0, "eta": 0.1}
                   for e in range(1, 501)]
    data = net.to_bytes()
    metadata_size = len(data) - 8 * parameter_count(net.sizes)  # an upper bound of the metadata member
    assert len(data) <= limits.largest_model_file_bytes(parameter_count(net.sizes), metadata_size)
    assert limits.MAX_MODEL_FILE_BYTES == limits.largest_model_file_bytes(limits.MAX_PARAMETERS,
                                                                          limits.MAX_METADATA_BYTES)


def test_layer_size_limits_are_inclusive():
    assert check_sizes([784, 1, 10]) == [784, 1, 10]
    assert check_sizes([784, limits.MAX_LAYER_SIZE, 10]) == [784, limits.MAX_LAYER_SIZE, 10]
    with pytest.raises(ValueError, match="layer 1 size must be at least 1, got 0"):
        check_sizes([784, 0, 10])
    with pytest.raises(ValueError, match=f"layer 1 has {limits.MAX_LAYER_SIZE + 1} neurons, more than the limit"):
        check_sizes([784, limits.MAX_LAYER_SIZE + 1, 10])
