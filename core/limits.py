"""Every cap that protects a shared instance, in one place.

Each value can be overridden with an environment variable of the same name
prefixed by ``NN_`` (e.g. ``NN_MAX_PARAMETERS=2000000``), so a host can size
the app to its machine without touching code.
"""
import os


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get("NN_" + name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"environment variable NN_{name} must be an integer, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"environment variable NN_{name} must be positive, got {value}")
    return value


MAX_LAYER_SIZE = _env_int("MAX_LAYER_SIZE", 4096)
"""Largest number of neurons in any one layer."""

MAX_HIDDEN_LAYERS = _env_int("MAX_HIDDEN_LAYERS", 8)
"""Largest number of hidden layers."""

MAX_PARAMETERS = _env_int("MAX_PARAMETERS", 4_000_000)
"""Largest total number of weights and biases in one network."""

MAX_TRAINING_EXAMPLES = _env_int("MAX_TRAINING_EXAMPLES", 50_000)
"""Largest training set one run may use."""

MAX_EPOCHS = _env_int("MAX_EPOCHS", 200)
"""Largest number of epochs one training run may ask for."""

MAX_MODEL_FILE_BYTES = _env_int("MAX_MODEL_FILE_BYTES", 64 * 1024 * 1024)
"""Largest model file (compressed or not) the loader will open."""

MAX_HISTORY_EPOCHS = _env_int("MAX_HISTORY_EPOCHS", 10_000)
"""Longest training history a model file may carry."""

MAX_IMAGE_PIXELS = _env_int("MAX_IMAGE_PIXELS", 100_000_000)
"""Largest image (width x height) accepted for prediction."""

MAX_CONCURRENT_TRAININGS = _env_int("MAX_CONCURRENT_TRAININGS", 2)
"""Trainings that may run at once on one server; the rest wait in a queue."""
