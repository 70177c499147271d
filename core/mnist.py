"""MNIST from the four standard IDX ``.gz`` files in ``data/mnist/``, checked and cached.

``load_mnist()`` returns ``train, validation, test``: the first 50,000 training
images, the last 10,000 training images, and the 10,000 test images, each an
``(X, y)`` pair with X float32 (n, 784) in [0, 1] and y int64 labels.
"""
import functools
import gzip
import hashlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "mnist"
TRAIN_SIZE = 50_000

FILES = {
    "train-images-idx3-ubyte.gz": "0b367032e93c5d0cea0925647cfdb18614af8ee15f83e6f2fc2ad904a6835971",
    "train-labels-idx1-ubyte.gz": "1787548bbe0bff1ec2ecdc0ef292b02df999e2d1a6002d27500982c652b17203",
    "t10k-images-idx3-ubyte.gz": "1a1a05eab793c14bb050b398624a11b0ffd1a2953baed553b1b9bd079e2a20be",
    "t10k-labels-idx1-ubyte.gz": "b91679a0acfe4ba0e50a2437a903084cba1f5f92592b016a25a7dfd00455798b",
}


class Dataset(NamedTuple):
    X: np.ndarray  # (n, 784) float32 in [0, 1]
    y: np.ndarray  # (n,) int64 labels


class MnistError(OSError):
    """A missing or corrupt MNIST file; the message names it."""


def _read_checked(path, expected_sha256):
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise MnistError(f"MNIST file {path} is missing; the four IDX .gz files belong in {path.parent}") from None
    digest = hashlib.sha256(raw).hexdigest()
    if digest != expected_sha256:
        raise MnistError(f"MNIST file {path} is corrupt: its SHA-256 is {digest}, expected {expected_sha256}")
    return gzip.decompress(raw)


def _parse_idx(data, path, dims):
    """Parse an IDX file of unsigned bytes with ``dims`` dimensions."""
    magic = int.from_bytes(data[:4], "big")
    if magic != 0x0800 + dims:
        raise MnistError(f"MNIST file {path} is not an IDX file with {dims} dimensions")
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def _load_pair(directory, images_name, labels_name):
    images = _parse_idx(_read_checked(directory / images_name, FILES[images_name]), images_name, 3)
    labels = _parse_idx(_read_checked(directory / labels_name, FILES[labels_name]), labels_name, 1)
    X = images.reshape(len(images), -1).astype(np.float32) / np.float32(255.0)
    return X, labels.astype(np.int64)


@functools.lru_cache(maxsize=4)
def _load(directory):
    X, y = _load_pair(directory, "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
    X_test, y_test = _load_pair(directory, "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
    for array in (X, y, X_test, y_test):
        array.flags.writeable = False  # shared by every caller: nobody may change it
    return (Dataset(X[:TRAIN_SIZE], y[:TRAIN_SIZE]), Dataset(X[TRAIN_SIZE:], y[TRAIN_SIZE:]),
            Dataset(X_test, y_test))


def load_mnist(directory=None):
    """``train, validation, test`` datasets, loaded once per process and cached."""
    return _load(Path(directory) if directory is not None else DATA_DIR)
