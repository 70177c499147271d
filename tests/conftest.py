"""Shared fixtures: MNIST (loaded once per test session), a small trained model file, and
``modelfiles``: helpers to take model files apart and build (possibly broken) ones."""
import io
import json
import struct
import sys
import types
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core import Net, load_mnist  # noqa: E402

SMALL_MODEL_SIZES = [784, 30, 10]
SMALL_MODEL_TRAIN_SIZE = 2000


@pytest.fixture(scope="session")
def project_root():
    return ROOT


@pytest.fixture(scope="session")
def mnist():
    """(train, validation, test) as returned by core.load_mnist()."""
    return load_mnist()


@pytest.fixture(scope="session")
def small_trained_net(mnist):
    """A [784, 30, 10] sigmoid network trained for one epoch on 2,000 examples (test accuracy included)."""
    train, validation, test = mnist
    net = Net(SMALL_MODEL_SIZES, init="xavier", seed=1234)
    result = net.fit((train.X[:SMALL_MODEL_TRAIN_SIZE], train.y[:SMALL_MODEL_TRAIN_SIZE]), epochs=1, eta=3.0,
                     batch_size=10, validation=(validation.X[:1000], validation.y[:1000]))
    assert result.status == "completed"
    net.test_accuracy = net.evaluate(test.X[:1000], test.y[:1000])["accuracy"]
    return net


@pytest.fixture(scope="session")
def small_model_path(small_trained_net, tmp_path_factory):
    """Path of ``small_trained_net`` saved in a session temporary folder (never in data/models/)."""
    path = tmp_path_factory.mktemp("models") / "small.npz"
    small_trained_net.save(path)
    return path


@pytest.fixture
def rng():
    return np.random.default_rng(20240601)


# ----- model-file helpers (exposed through the ``modelfiles`` fixture) ----------------------------


def tiny_net(sizes=(12, 5, 3), dtype=np.float32, seed=0, epochs=2):
    """A small network with a real training history (random data, no MNIST needed)."""
    net = Net(list(sizes), seed=seed, dtype=dtype)
    if epochs:
        rng = np.random.default_rng(seed)
        X, y = rng.random((40, sizes[0])), rng.integers(0, sizes[-1], 40)
        net.fit((X, y), epochs=epochs, eta=0.5, batch_size=8, validation=(X[:10], y[:10]))
        net.test_accuracy = 0.5
    return net


def split(data):
    """(metadata dict, {name: array}) of a model file's bytes, read with numpy (no pickles)."""
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    metadata = json.loads(arrays.pop("metadata").tobytes())
    return metadata, arrays


def npy_bytes(array, allow_pickle=False):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def metadata_array(metadata):
    """The metadata member's array: JSON of a dict, or raw bytes/str as given."""
    if isinstance(metadata, dict):
        metadata = json.dumps(metadata)
    if isinstance(metadata, str):
        metadata = metadata.encode()
    return np.frombuffer(metadata, dtype=np.uint8)


def build(metadata, arrays, compression=zipfile.ZIP_DEFLATED, allow_pickle=False, raw_members=None):
    """A model file with these members (``metadata`` None leaves that member out).

    ``raw_members`` maps member names to bytes stored as they are.
    """
    members = {}
    if metadata is not None:
        members["metadata.npy"] = npy_bytes(metadata_array(metadata))
    for name, array in arrays.items():
        members[name + ".npy"] = npy_bytes(array, allow_pickle)
    members.update(raw_members or {})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def rebuild(data, compression=zipfile.ZIP_DEFLATED):
    """The same members re-packed (e.g. uncompressed), byte content unchanged."""
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        members = [(info.filename, source.read(info)) for info in source.infolist()]
    return pack(members, compression)


def pack(members, compression=zipfile.ZIP_DEFLATED):
    """A zip of (name, bytes) pairs (duplicates allowed) with correct sizes and CRCs."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names
        with zipfile.ZipFile(buffer, "w", compression) as archive:
            for name, content in members:
                archive.writestr(name, content)
    return buffer.getvalue()


def members_of(data):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


def raw_zip(members):
    """A zip written by hand so that headers can lie.

    Each member is a dict with ``name``, ``payload`` (the stored or deflated bytes),
    ``method`` (zipfile.ZIP_STORED or ZIP_DEFLATED), ``crc`` and ``file_size``
    (the claimed uncompressed size).
    """
    out = io.BytesIO()
    central = []
    for member in members:
        name = member["name"].encode()
        offset = out.tell()
        out.write(struct.pack("<4s2B4HL2L2H", b"PK\003\004", 20, 0, 0, member["method"], 0, 0x21,
                              member["crc"], len(member["payload"]), member["file_size"], len(name), 0))
        out.write(name)
        out.write(member["payload"])
        central.append(struct.pack("<4s4B4HL2L5H2L", b"PK\001\002", 20, 3, 20, 0, 0, member["method"], 0, 0x21,
                                   member["crc"], len(member["payload"]), member["file_size"], len(name), 0, 0,
                                   0, 0, 0, offset) + name)
    start = out.tell()
    for record in central:
        out.write(record)
    size = out.tell() - start
    out.write(struct.pack("<4s4H2LH", b"PK\005\006", 0, 0, len(central), len(central), size, start, 0))
    return out.getvalue()


def deflate(data):
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def deflate_bomb(prefix, megabytes):
    """A raw deflate stream of ``prefix`` followed by ``megabytes`` MB of zeros, built cheaply.

    A full flush makes each 1 MB block of zeros independent of what came before, so one
    compressed block can be repeated: ~1 KB of stream per MB of output.
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH)
    block_compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = block_compressor.compress(bytes(1 << 20)) + block_compressor.flush(zlib.Z_FULL_FLUSH)
    final = zlib.compressobj(9, zlib.DEFLATED, -15).flush()  # an empty final block
    return head + block * megabytes + final


@pytest.fixture(scope="session")
def modelfiles():
    """Helpers to build and take apart model files: ``modelfiles.build(...)`` etc."""
    return types.SimpleNamespace(tiny_net=tiny_net, split=split, npy_bytes=npy_bytes, metadata_array=metadata_array,
                                 build=build, rebuild=rebuild, pack=pack, members_of=members_of, raw_zip=raw_zip,
                                 deflate=deflate, deflate_bomb=deflate_bomb)
