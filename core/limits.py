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

MAX_METADATA_BYTES = _env_int("MAX_METADATA_BYTES", 4 * 1024 * 1024)
"""Largest metadata member (JSON, training history included) of a model file."""


def largest_model_file_bytes(parameters: int, metadata_bytes: int) -> int:
    """Size of the biggest legal model file: every parameter in float64 and the largest metadata,
    stored or deflated (deflating random floats can add up to 1/1000), plus .npy and zip headers."""
    content = parameters * 8 + metadata_bytes
    return content + content // 1000 + 64 * 1024


MAX_MODEL_FILE_BYTES = _env_int("MAX_MODEL_FILE_BYTES", largest_model_file_bytes(MAX_PARAMETERS, MAX_METADATA_BYTES))
"""Largest model file (compressed or not) the loader will open: by default, the biggest legal model
(about 36 MB). ``server.maxUploadSize`` in .streamlit/config.toml must be at least this (in MiB)."""

MAX_HISTORY_EPOCHS = _env_int("MAX_HISTORY_EPOCHS", 10_000)
"""Longest training history a model file may carry."""

MAX_IMAGE_PIXELS = _env_int("MAX_IMAGE_PIXELS", 100_000_000)
"""Largest image (width x height) accepted for prediction."""

MAX_PICTURE_BYTES = _env_int("MAX_PICTURE_BYTES", 48 * 1024 * 1024)
"""Largest uploaded picture once decoded (big JPEGs are decoded reduced first): 12 megapixels in
colour, 48 in grey. Reading and showing it takes up to about twice that."""

MAX_PICTURE_UPLOAD_MB = _env_int("MAX_PICTURE_UPLOAD_MB", 32)
"""Largest picture file (MiB) the Draw page's uploader takes (a 48-megapixel camera JPEG is ~20 MB)."""

MAX_CONCURRENT_TRAININGS = _env_int("MAX_CONCURRENT_TRAININGS", 2)
"""Trainings that may run at once on one server; the rest wait in a queue."""

MAX_CONCURRENT_SLOW_VIEWS = _env_int("MAX_CONCURRENT_SLOW_VIEWS", 1)
"""Slow views (Imagine's pictures, Evaluate's 10,000 predictions) computed at once on one server."""

MAX_QUEUED_TRAININGS = _env_int("MAX_QUEUED_TRAININGS", 4)
"""Trainings that may wait for a slot at once; beyond them the server refuses new ones as busy."""

MAX_RUN_WORK = _env_int("MAX_RUN_WORK", 10 * MAX_TRAINING_EXAMPLES * MAX_PARAMETERS)
"""Largest work of one training run, counted as epochs x training examples x parameters: by default
ten epochs of the largest network on the largest training set (about a quarter of an hour on 2 cores)."""

DISCONNECTED_TRAINING_SECONDS = _env_int("DISCONNECTED_TRAINING_SECONDS", 90)
"""A training whose browser session has had no open tab for this long is stopped. Longer than a
page switch or a network blip, and well under three minutes."""

MAX_MODELS_PER_SESSION = _env_int("MAX_MODELS_PER_SESSION", 10)
"""Models one browser session may keep saved on the server (private and published)."""

MAX_SAVED_MODELS = _env_int("MAX_SAVED_MODELS", 200)
"""Model files the server keeps in all; beyond it the oldest unpublished ones are removed."""

MAX_SAVED_MODEL_BYTES = _env_int("MAX_SAVED_MODEL_BYTES", 1024 ** 3)
"""Bytes of model files the server keeps in all; beyond it the oldest unpublished ones are removed."""
