"""MNIST loading: shapes, types, ranges, caching, and clear errors for missing or corrupt files."""
import gzip
import shutil

import numpy as np
import pytest

from core import Dataset, MnistError, load_mnist
from core import mnist as mnist_module

FILE_NAMES = sorted(mnist_module.FILES)


def test_shapes_dtypes_and_ranges(mnist):
    train, validation, test = mnist
    for dataset, n in ((train, 50_000), (validation, 10_000), (test, 10_000)):
        assert isinstance(dataset, Dataset)
        assert dataset.X.shape == (n, 784) and dataset.y.shape == (n,)
        assert dataset.X.dtype == np.float32 and dataset.y.dtype == np.int64
        assert dataset.X.min() == 0.0 and dataset.X.max() == 1.0
        assert set(np.unique(dataset.y)) == set(range(10))
        counts = np.bincount(dataset.y, minlength=10)
        assert counts.min() > n // 20  # every digit is well represented
        X, y = dataset  # unpacks as an (X, y) pair


def test_images_look_like_digits(mnist):
    train = mnist[0]
    images = train.X[:1000].reshape(-1, 28, 28)
    ink = images.sum(axis=(1, 2))
    assert (ink > 20).all()  # no blank images
    # MNIST digits are centred in a 20x20 box: the outer 2-pixel border is almost empty
    border = images.copy()
    border[:, 2:-2, 2:-2] = 0
    assert border.sum() < 0.01 * images.sum()
    # the first training labels of the standard MNIST files
    np.testing.assert_array_equal(train.y[:10], [5, 0, 4, 1, 9, 2, 1, 3, 1, 4])
    np.testing.assert_array_equal(mnist[2].y[:10], [7, 2, 1, 0, 4, 1, 4, 9, 5, 9])


def test_train_and_validation_split_the_training_file(mnist):
    raw = gzip.decompress((mnist_module.DATA_DIR / "train-labels-idx1-ubyte.gz").read_bytes())
    labels = np.frombuffer(raw, dtype=np.uint8, offset=8)
    assert len(labels) == 60_000
    train, validation, _ = mnist
    np.testing.assert_array_equal(train.y, labels[:50_000])
    np.testing.assert_array_equal(validation.y, labels[50_000:])
    raw = gzip.decompress((mnist_module.DATA_DIR / "train-images-idx3-ubyte.gz").read_bytes())
    last = np.frombuffer(raw, dtype=np.uint8, offset=16 + 59_999 * 784)
    np.testing.assert_allclose(validation.X[-1], last / 255.0, atol=1e-7)


def test_cached_and_read_only(mnist):
    again = load_mnist()
    assert again is load_mnist()
    for first, second in zip(mnist, again):
        assert first.X is second.X and first.y is second.y
    with pytest.raises(ValueError, match="read-only"):
        again[0].X[0, 0] = 0.5
    with pytest.raises(ValueError, match="read-only"):
        again[0].y[0] = 3


@pytest.fixture
def mnist_copy(tmp_path):
    for name in FILE_NAMES:
        shutil.copyfile(mnist_module.DATA_DIR / name, tmp_path / name)
    return tmp_path


@pytest.mark.parametrize("name", FILE_NAMES)
def test_a_corrupt_file_is_named(mnist_copy, name):
    path = mnist_copy / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(MnistError, match=rf"MNIST file .*{name} is corrupt: its SHA-256 is [0-9a-f]{{64}}, "
                                         rf"expected {mnist_module.FILES[name]}"):
        load_mnist(mnist_copy)


@pytest.mark.parametrize("name", ["train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"])
def test_a_missing_file_is_named(mnist_copy, name):
    (mnist_copy / name).unlink()
    with pytest.raises(MnistError, match=rf"MNIST file .*{name} is missing; the four IDX .gz files belong in"):
        load_mnist(mnist_copy)


def test_a_good_copy_elsewhere_loads(mnist_copy, mnist):
    copy = load_mnist(str(mnist_copy))
    for dataset, n in zip(copy, (50_000, 10_000, 10_000)):
        assert dataset.X.shape == (n, 784) and dataset.X.dtype == np.float32
        assert dataset.y.shape == (n,) and dataset.y.dtype == np.int64
    np.testing.assert_array_equal(copy[2].y, mnist[2].y)
    np.testing.assert_array_equal(copy[1].X[:50], mnist[1].X[:50])


def test_an_idx_file_with_the_wrong_number_of_dimensions_is_named():
    """The IDX header's magic number says how many dimensions follow (3 for images, 1 for labels)."""
    labels = (0x0801).to_bytes(4, "big") + (3).to_bytes(4, "big") + bytes([7, 2, 1])
    np.testing.assert_array_equal(mnist_module._parse_idx(labels, "labels.gz", 1), [7, 2, 1])
    with pytest.raises(MnistError, match=r"^MNIST file labels.gz is not an IDX file with 3 dimensions$"):
        mnist_module._parse_idx(labels, "labels.gz", 3)


def test_mnist_error_is_an_os_error():
    assert issubclass(MnistError, OSError)
