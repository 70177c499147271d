"""Model files: round trips, atomic saving, and refusal of every kind of bad file."""
import datetime
import io
import json
import os
import pathlib
import pickle
import stat
import zipfile
import zlib

import numpy as np
import pytest

from core import ModelFileError, Net, limits
from core import modelfile


def _assert_same_net(loaded, net):
    assert loaded is not net
    assert loaded.sizes == net.sizes
    assert (loaded.hidden, loaded.output, loaded.cost, loaded.init) == (net.hidden, net.output, net.cost, net.init)
    assert loaded.dtype == net.dtype and loaded.seed == net.seed
    assert loaded.history == net.history
    assert loaded.test_accuracy == net.test_accuracy and loaded.created == net.created
    assert len(loaded.weights) == len(net.weights)
    for a, b in zip(loaded.weights + loaded.biases, net.weights + net.biases):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert a.tobytes() == b.tobytes()  # bit-identical


# ----- round trips ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("sizes", [(12, 3), (12, 5, 3), (12, 6, 5, 3)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip_through_path_bytes_and_file_object(modelfiles, tmp_path, sizes, dtype):
    net = modelfiles.tiny_net(sizes, dtype=dtype)
    assert len(net.history) == 2 and net.history[0]["validation_accuracy"] is not None
    path = net.save(tmp_path / "net.npz")
    assert path == tmp_path / "net.npz"
    _assert_same_net(Net.load(path), net)
    _assert_same_net(Net.load(str(path)), net)
    _assert_same_net(Net.from_bytes(net.to_bytes()), net)
    _assert_same_net(Net.from_bytes(bytearray(net.to_bytes())), net)
    with open(path, "rb") as handle:
        _assert_same_net(Net.from_bytes(handle), net)
    _assert_same_net(Net.from_bytes(io.BytesIO(path.read_bytes())), net)


def test_round_trip_of_a_trained_mnist_model(small_trained_net, small_model_path, mnist):
    loaded = Net.load(small_model_path)
    _assert_same_net(loaded, small_trained_net)
    X = mnist[2].X[:200]
    np.testing.assert_array_equal(loaded.predict_proba(X), small_trained_net.predict_proba(X))


def test_class_load_returns_a_new_net_and_instance_load_fills_the_instance(modelfiles, tmp_path):
    net = modelfiles.tiny_net()
    path = net.save(tmp_path / "net.npz")
    loaded = Net.load(path)
    assert isinstance(loaded, Net) and loaded is not net
    other = Net([7, 2], hidden="relu")
    returned = other.load(path)  # the original API: load into an existing network
    assert returned is other
    _assert_same_net(other, net)


def test_a_loaded_net_can_keep_training(modelfiles):
    net = modelfiles.tiny_net()
    loaded = Net.from_bytes(net.to_bytes())
    assert all(p.flags.writeable for p in loaded.weights + loaded.biases)
    rng = np.random.default_rng(1)
    X, y = rng.random((40, 12)), rng.integers(0, 3, 40)
    result = loaded.fit((X, y), epochs=1, eta=0.5)
    assert result.status == "completed"
    assert [e["epoch"] for e in loaded.history] == [1, 2, 3]
    assert not np.array_equal(loaded.weights[0], net.weights[0])


def test_history_without_validation_and_no_test_accuracy_round_trip(tmp_path):
    net = Net([5, 2], seed=None)
    rng = np.random.default_rng(0)
    net.fit((rng.random((10, 5)), rng.integers(0, 2, 10)), epochs=1, eta=1.0)
    loaded = Net.load(net.save(tmp_path / "n.npz"))
    assert loaded.history[0]["validation_accuracy"] is None and loaded.test_accuracy is None
    assert loaded.seed is None
    _assert_same_net(loaded, net)


def test_the_file_is_a_plain_npz(modelfiles):
    net = modelfiles.tiny_net((12, 5, 3))
    metadata, arrays = modelfiles.split(net.to_bytes())
    assert metadata["format"] == "mnist-net" and metadata["format_version"] == 1
    assert metadata["sizes"] == [12, 5, 3] and metadata["dtype"] == "float32"
    assert sorted(arrays) == ["b0", "b1", "w0", "w1"]
    np.testing.assert_array_equal(arrays["w1"], net.weights[1])
    # and a file written by numpy's own np.savez (Fortran-ordered too) loads
    buffer = io.BytesIO()
    np.savez_compressed(buffer, metadata=modelfiles.metadata_array(metadata),
                        w0=np.asfortranarray(arrays["w0"]), w1=arrays["w1"], b0=arrays["b0"], b1=arrays["b1"])
    loaded = Net.from_bytes(buffer.getvalue())
    np.testing.assert_array_equal(loaded.weights[0], net.weights[0])
    assert loaded.weights[0].flags.c_contiguous


def test_save_creates_missing_folders(modelfiles, tmp_path):
    path = modelfiles.tiny_net(epochs=0).save(tmp_path / "a" / "b" / "net.npz")
    assert path.is_file()


# ----- atomic saving -------------------------------------------------------------------------------------------
def _temp_files(folder):
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("failing", ["os.replace", "os.fsync"])
def test_a_failed_save_leaves_the_old_file_intact(modelfiles, tmp_path, monkeypatch, failing):
    path = tmp_path / "net.npz"
    old = modelfiles.tiny_net(seed=1)
    old.save(path)
    before = path.read_bytes()

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing.split(".")[1], fail)
    with pytest.raises(OSError, match="No space left"):
        modelfiles.tiny_net(seed=2).save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert _temp_files(tmp_path) == []
    _assert_same_net(Net.load(path), old)


def test_a_failed_first_save_leaves_nothing(modelfiles, tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        modelfiles.tiny_net().save(tmp_path / "net.npz")
    assert list(tmp_path.iterdir()) == []


def test_overwrite_false_refuses_an_existing_file(modelfiles, tmp_path):
    path = tmp_path / "net.npz"
    first = modelfiles.tiny_net(seed=1)
    first.save(path, overwrite=False)  # a new name is fine
    before = path.read_bytes()
    with pytest.raises(FileExistsError):
        modelfiles.tiny_net(seed=2).save(path, overwrite=False)
    assert path.read_bytes() == before
    assert _temp_files(tmp_path) == []
    modelfiles.tiny_net(seed=2).save(path)  # overwrite=True (the default) replaces it
    assert path.read_bytes() != before


def test_write_net_and_write_atomic_replace_an_existing_file_by_default(modelfiles, tmp_path):
    path = tmp_path / "net.npz"
    modelfile.write_net(modelfiles.tiny_net(seed=1, epochs=0), path)
    second = modelfiles.tiny_net(seed=2, epochs=0)
    assert modelfile.write_net(second, path) == path
    _assert_same_net(Net.load(path), second)
    modelfile.write_atomic(path, b"new bytes")
    assert path.read_bytes() == b"new bytes"


def test_the_temporary_file_is_hidden_beside_the_target(modelfiles, tmp_path, monkeypatch):
    """Mid-write the data goes to '.<name>.<random>.tmp' in the target's folder (same file system, so
    publishing is one rename; a leftover after a crash is recognisable and never taken for a model)."""
    folder = tmp_path / "models"
    path = folder / "net.npz"
    modelfiles.tiny_net(seed=1, epochs=0).save(path)
    before = path.read_bytes()
    seen = []
    real_fsync = os.fsync

    def fsync(fd):
        real_fsync(fd)
        seen.append((sorted(p.name for p in folder.iterdir()), path.read_bytes() == before))

    monkeypatch.setattr(os, "fsync", fsync)
    modelfiles.tiny_net(seed=2, epochs=0).save(path)
    monkeypatch.undo()
    assert len(seen) == 1
    names, old_file_untouched = seen[0]
    assert old_file_untouched and "net.npz" in names
    temps = [name for name in names if name != "net.npz"]
    assert len(temps) == 1
    assert temps[0].startswith(".net.npz.") and temps[0].endswith(".tmp") and len(temps[0]) > len(".net.npz..tmp")
    assert sorted(p.name for p in folder.iterdir()) == ["net.npz"]


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664), (0o077, 0o600)])
def test_saved_files_get_the_usual_permissions_for_the_umask(modelfiles, tmp_path, umask, mode):
    """Readable and writable as the umask allows (not mkstemp's private 0600), never executable."""
    old = os.umask(umask)
    try:
        path = modelfiles.tiny_net(epochs=0).save(tmp_path / "net.npz")
        modelfile.write_atomic(tmp_path / "raw.bin", b"data")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert stat.S_IMODE((tmp_path / "raw.bin").stat().st_mode) == mode


def test_saved_files_are_deflated(modelfiles):
    """Saved models count against the server's disk quota: the writer compresses every member."""
    data = modelfiles.tiny_net((12, 5, 3)).to_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_DEFLATED}
    assert len(data) < len(modelfiles.rebuild(data, zipfile.ZIP_STORED))


def test_the_metadata_records_when_the_file_was_saved_in_utc(modelfiles):
    net = modelfiles.tiny_net(epochs=0)
    start = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    data = net.to_bytes()
    end = datetime.datetime.now(datetime.timezone.utc)
    metadata, _ = modelfiles.split(data)
    saved = datetime.datetime.fromisoformat(metadata["saved"])
    assert saved.utcoffset() == datetime.timedelta(0)
    assert start <= saved <= end


def test_history_epochs_are_saved_as_whole_numbers_and_the_rest_as_floats(modelfiles):
    net = modelfiles.tiny_net(epochs=2)
    net.history[0]["train_cost"] = np.float32(0.25)  # numpy scalars from training are written as plain numbers
    with np.load(io.BytesIO(net.to_bytes()), allow_pickle=False) as archive:
        text = archive["metadata"].tobytes()
    metadata = json.loads(text)
    assert [entry["epoch"] for entry in metadata["history"]] == [1, 2]
    assert b'"epoch": 1,' in text and b'"epoch": 1.0' not in text
    for entry in metadata["history"]:
        assert all(isinstance(entry[key], float) for key in modelfile.HISTORY_KEYS if key != "epoch")
    assert metadata["history"][0]["train_cost"] == 0.25
    loaded = Net.from_bytes(net.to_bytes())
    assert [type(entry["epoch"]) for entry in loaded.history] == [int, int]


@pytest.mark.parametrize("seed", [[1, 2, 3], np.random.SeedSequence(3), True, 2**63, 2**70],
                         ids=["list", "SeedSequence", "bool", "2**63", "2**70"])
def test_a_seed_the_file_cannot_hold_is_left_out_of_it(seed):
    """NumPy takes many kinds of seed; the file holds a whole number below 2**63 (else null), so it still loads."""
    net = Net([4, 2], seed=seed)
    loaded = Net.from_bytes(net.to_bytes())
    assert loaded.seed is None
    np.testing.assert_array_equal(loaded.weights[0], net.weights[0])


@pytest.mark.parametrize("seed", [np.int64(5), np.uint32(7), 2**63 - 1])
def test_a_whole_number_seed_is_kept_as_a_plain_int(seed):
    loaded = Net.from_bytes(Net([4, 2], seed=seed).to_bytes())
    assert loaded.seed == int(seed) and type(loaded.seed) is int


def test_a_too_big_upload_is_refused_without_a_made_up_size(monkeypatch):
    """An upload is a stream: only the first limit + 1 bytes are read, so its size is not known."""
    monkeypatch.setattr(limits, "MAX_MODEL_FILE_BYTES", 1_000_000)
    with pytest.raises(ModelFileError, match=r"^the file is more than the 1 MB a model may have$"):
        Net.load(io.BytesIO(bytes(50_000_000)))


def test_the_too_big_message_gives_sizes_in_megabytes(monkeypatch):
    """MB here are 10**6 bytes: 1,050,001 bytes are 1.050001 MB, shown as 1.1; a 1,500,001-byte limit as 2."""
    monkeypatch.setattr(limits, "MAX_MODEL_FILE_BYTES", 1_500_001)
    with pytest.raises(ModelFileError, match=r"^the file is 1\.6 MB, more than the 2 MB a model may have$"):
        Net.from_bytes(bytes(1_550_001))
    monkeypatch.setattr(limits, "MAX_MODEL_FILE_BYTES", 1_000_000)
    with pytest.raises(ModelFileError, match=r"^the file is 1\.1 MB, more than the 1 MB a model may have$"):
        Net.from_bytes(bytes(1_050_001))


# ----- refusals ----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def valid(modelfiles):
    """(net, its bytes, its metadata dict, its arrays) for a [12, 5, 3] float32 network."""
    net = modelfiles.tiny_net((12, 5, 3))
    data = net.to_bytes()
    metadata, arrays = modelfiles.split(data)
    return net, data, metadata, arrays


def _refused(data, match):
    with pytest.raises(ModelFileError, match=match):
        Net.from_bytes(data)


def test_valid_fixture_loads(valid):
    Net.from_bytes(valid[1])


@pytest.mark.parametrize("data", [b"", b"PK", b"\x00" * 100, b"hello, I am not a model", bytes(range(256)) * 4])
def test_not_a_zip(data):
    _refused(data, r"not a model file \(not a valid \.npz archive")


def test_random_bytes():
    rng = np.random.default_rng(0)
    for size in (1, 22, 100, 5000):
        _refused(rng.bytes(size), "not a model file")


def test_empty_file_on_disk(tmp_path):
    path = tmp_path / "empty.npz"
    path.write_bytes(b"")
    with pytest.raises(ModelFileError, match="not a valid .npz archive"):
        Net.load(path)


def test_missing_file_and_folder_are_named_without_their_folder(tmp_path):
    with pytest.raises(ModelFileError, match=r"no model file at 'nothing\.npz'") as missing:
        Net.load(tmp_path / "nothing.npz")
    folder = tmp_path / "models"
    folder.mkdir()
    with pytest.raises(ModelFileError, match="'models' is a folder, not a model file") as is_folder:
        Net.load(folder)
    for error in (missing, is_folder):
        assert str(tmp_path) not in str(error.value) and "/" not in str(error.value)


def test_an_unreadable_file_is_named_without_its_folder(tmp_path, monkeypatch):
    path = tmp_path / "locked.npz"
    path.write_bytes(b"PK")

    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(type(path), "open", refuse)
    with pytest.raises(ModelFileError) as error:
        Net.load(path)
    assert str(error.value) == "cannot read 'locked.npz' (Permission denied)"


def test_an_os_error_without_a_message_is_named_by_its_kind(tmp_path, monkeypatch):
    path = tmp_path / "locked.npz"
    path.write_bytes(b"PK")

    def refuse(self, *args, **kwargs):
        raise PermissionError()

    monkeypatch.setattr(type(path), "open", refuse)
    with pytest.raises(ModelFileError, match=r"^cannot read 'locked\.npz' \(PermissionError\)$"):
        Net.load(path)


def test_truncated_files(valid):
    data = valid[1]
    for cut in sorted({1, 10, 30, 100, len(data) // 4, len(data) // 2, 3 * len(data) // 4,
                       len(data) - 30, len(data) - 22, len(data) - 1}):
        with pytest.raises(ModelFileError):
            Net.from_bytes(data[:cut])


def test_truncated_uncompressed_files(valid, modelfiles):
    data = modelfiles.rebuild(valid[1], zipfile.ZIP_STORED)
    Net.from_bytes(data)
    for cut in range(0, len(data), max(1, len(data) // 40)):
        with pytest.raises(ModelFileError):
            Net.from_bytes(data[:cut])


def test_truncated_member_data(valid, modelfiles):
    metadata, arrays = valid[2], valid[3]
    raw = {"w0.npy": modelfiles.npy_bytes(arrays["w0"])[:-8]}
    data = modelfiles.build(metadata, {k: v for k, v in arrays.items() if k != "w0"}, raw_members=raw)
    _refused(data, "array w0 is truncated")


def test_missing_metadata(valid, modelfiles):
    _refused(modelfiles.build(None, valid[3]), r"not a model file \(no metadata entry\)")


def test_missing_and_extra_arrays(valid, modelfiles):
    metadata, arrays = valid[2], valid[3]
    _refused(modelfiles.build(metadata, {k: v for k, v in arrays.items() if k != "b1"}),
             r"do not match its metadata \(unexpected: none; missing: \['b1.npy'\]\)")
    _refused(modelfiles.build(metadata, {**arrays, "w2": arrays["w1"]}),
             r"do not match its metadata \(unexpected: \['w2.npy'\]; missing: none\)")
    _refused(modelfiles.build(metadata, arrays, raw_members={"readme.txt": b"hi"}), r"unexpected: \['readme.txt'\]")


def test_duplicate_members(valid, modelfiles):
    members = modelfiles.members_of(valid[1])
    _refused(modelfiles.pack(members + [members[1]]), "do not match its metadata")


@pytest.mark.parametrize("name, shape", [("w0", (5, 11)), ("w0", (4, 12)), ("w0", (12, 5)), ("w1", (3, 5, 1)),
                                         ("b0", (4,)), ("b1", (3, 1)), ("b1", ())])
def test_wrong_shapes(valid, modelfiles, name, shape):
    metadata, arrays = valid[2], dict(valid[3])
    arrays[name] = np.zeros(shape, np.float32)
    _refused(modelfiles.build(metadata, arrays), rf"array {name} has shape .*, expected")


def test_shapes_that_do_not_chain(valid, modelfiles):
    # each array is self-consistent for some network, but w1 takes 4 inputs while layer 1 has 5 neurons
    metadata, arrays = valid[2], dict(valid[3])
    arrays["w1"] = np.zeros((3, 4), np.float32)
    _refused(modelfiles.build(metadata, arrays), r"array w1 has shape \(3, 4\), expected \(3, 5\)")


def test_metadata_that_lies_about_sizes(valid, modelfiles):
    metadata, arrays = dict(valid[2]), valid[3]
    _refused(modelfiles.build({**metadata, "sizes": [12, 6, 3]}, arrays),
             r"array w0 has shape \(5, 12\), expected \(6, 12\)")
    _refused(modelfiles.build({**metadata, "sizes": [12, 5, 5, 3]}, arrays), r"missing: \['b2.npy', 'w2.npy'\]")
    _refused(modelfiles.build({**metadata, "sizes": [12, 3]}, arrays), r"unexpected: \['b1.npy', 'w1.npy'\]")


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.float16, np.float64, np.complex64, np.uint8, ">f4", np.bool_])
def test_wrong_dtypes(valid, modelfiles, dtype):
    metadata, arrays = valid[2], dict(valid[3])
    arrays["w1"] = arrays["w1"].astype(dtype)
    _refused(modelfiles.build(metadata, arrays), r"array w1 has dtype .*, expected float32")


def test_float64_arrays_need_float64_metadata(valid, modelfiles):
    metadata, arrays = valid[2], valid[3]
    wide = {k: v.astype(np.float64) for k, v in arrays.items()}
    _refused(modelfiles.build(metadata, wide), "array w0 has dtype float64, expected float32")
    loaded = Net.from_bytes(modelfiles.build({**metadata, "dtype": "float64"}, wide))
    assert loaded.dtype == np.float64
    np.testing.assert_array_equal(loaded.weights[1], arrays["w1"])


def test_structured_dtype(valid, modelfiles):
    metadata, arrays = valid[2], dict(valid[3])
    arrays["b0"] = np.zeros(5, dtype=[("a", "<f4")])
    _refused(modelfiles.build(metadata, arrays), "array b0 has dtype")


class _Payload:
    """Unpickling this writes a marker file: proof that something was unpickled."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return pathlib.Path.write_text, (pathlib.Path(self.marker), "unpickled!")


@pytest.fixture
def no_unpickling(monkeypatch):
    """Record any call of the pickle loaders (numpy unpickles through them)."""
    calls = []

    def forbidden(*args, **kwargs):
        calls.append(args)
        raise AssertionError("something was unpickled")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, forbidden)
    return calls


def test_pickled_object_arrays_are_refused_without_unpickling(valid, modelfiles, tmp_path):
    metadata, arrays = valid[2], dict(valid[3])
    marker = tmp_path / "marker.txt"
    evil = np.empty(1, dtype=object)
    evil[0] = _Payload(marker)
    for name, array in (("w0", np.array([[_Payload(marker)] * 12] * 5, dtype=object)), ("b1", evil)):
        data = modelfiles.build(metadata, {**arrays, name: array}, allow_pickle=True)
        _refused(data, rf"array {name} has dtype object, expected float32")
        path = tmp_path / f"evil-{name}.npz"
        path.write_bytes(data)
        with pytest.raises(ModelFileError, match="dtype object"):
            Net.load(path)
        assert not marker.exists()
    # the payload is live: numpy with allow_pickle=True does run it
    with np.load(io.BytesIO(data), allow_pickle=True) as archive:
        archive["b1"]
    assert marker.read_text() == "unpickled!"


def test_pickled_metadata_is_refused_without_unpickling(valid, modelfiles, tmp_path, no_unpickling):
    marker = tmp_path / "marker.txt"
    raw = {"metadata.npy": modelfiles.npy_bytes(np.array([_Payload(marker), valid[2]], dtype=object),
                                                allow_pickle=True)}
    _refused(modelfiles.build(None, valid[3], raw_members=raw), r"array metadata has dtype object, expected uint8")
    assert not marker.exists() and no_unpickling == []


def test_nan_and_infinite_weights(valid, modelfiles):
    metadata, arrays = valid[2], valid[3]
    for bad in (np.nan, np.inf, -np.inf):
        for name in ("w0", "b1"):
            changed = dict(arrays)
            changed[name] = changed[name].copy()
            changed[name].flat[-1] = bad
            _refused(modelfiles.build(metadata, changed), rf"array {name} contains NaN or infinite values")


@pytest.mark.parametrize("sizes, match", [
    ([12, 10**9, 3], r"bad layer sizes in the metadata: layer 1 has 1000000000 neurons, more than the limit"),
    ([12, 4000, 4000, 3], r"bad layer sizes in the metadata: .*parameters, more than the limit"),
    ([12, -5, 3], r"bad layer sizes in the metadata: layer 1 size must be at least 1"),
    ([12, 0, 3], r"bad layer sizes in the metadata: layer 1 size must be at least 1"),
    ([12, 5.5, 3], r"bad layer sizes in the metadata: layer 1 size must be a whole number"),
    ([12, "5", 3], r"bad layer sizes in the metadata: layer 1 size must be a whole number"),
    ([12, True, 3], r"bad layer sizes in the metadata: layer 1 size must be a whole number"),
    ([12], r"bad layer sizes in the metadata: a network needs at least"),
    ([12] + [5] * 20 + [3], r"bad layer sizes in the metadata: 20 hidden layers is more than the limit"),
    ("12,5,3", r"bad layer sizes in the metadata: layer sizes must be a list"),
    ({"0": 12}, r"bad layer sizes in the metadata: layer sizes must be a list"),
    (None, r"bad layer sizes in the metadata: layer sizes must be a list"),
])
def test_absurd_sizes_in_metadata(valid, modelfiles, sizes, match):
    _refused(modelfiles.build({**valid[2], "sizes": sizes}, valid[3]), match)


def test_absurd_sizes_checked_before_reading_arrays(valid, modelfiles, monkeypatch):
    read = []
    original = modelfile._read_npy
    monkeypatch.setattr(modelfile, "_read_npy", lambda archive, name, *rest: (read.append(name),
                                                                              original(archive, name, *rest))[1])
    _refused(modelfiles.build({**valid[2], "sizes": [12, 4096, 4096, 4096, 3]}, valid[3]), "bad layer sizes")
    assert read == ["metadata"]


@pytest.mark.parametrize("key, value, match", [
    ("format", "keras", r"not a model file of this project \(format 'keras'\)"),
    ("format", None, r"not a model file of this project \(format None\)"),
    ("format_version", 2, r"unsupported format version 2 \(this app reads 1\)"),
    ("format_version", "1", r"unsupported format version '1'"),
    ("format_version", True, r"unsupported format version True"),
    ("format_version", 1.5, r"unsupported format version 1.5"),
    ("hidden", "swish", r"bad hidden 'swish' in the metadata"),
    ("output", ["softmax"], r"bad output \['softmax'\] in the metadata"),
    ("cost", None, r"bad cost None in the metadata"),
    ("init", "zeros", r"bad init 'zeros' in the metadata"),
    ("dtype", "float16", r"bad dtype 'float16' in the metadata"),
    ("dtype", "object", r"bad dtype 'object' in the metadata"),
    ("seed", -1, "bad seed in the metadata"),
    ("seed", 2**64, "bad seed in the metadata"),
    ("seed", "0", "bad seed in the metadata"),
    ("seed", 1.5, "bad seed in the metadata"),
    ("history", {}, "bad training history in the metadata"),
    ("history", None, "bad training history in the metadata"),
    ("history", [1, 2], "bad training history entry in the metadata"),
    ("history", [{"epoch": 1}], "bad training history entry in the metadata"),
    ("test_accuracy", 1.5, "bad test accuracy in the metadata"),
    ("test_accuracy", -0.1, "bad test accuracy in the metadata"),
    ("test_accuracy", "0.9", "bad test accuracy in the metadata"),
    ("test_accuracy", True, "bad test accuracy in the metadata"),
    ("created", 12, "bad creation time in the metadata"),
    ("created", "x" * 1000, "bad creation time in the metadata"),
])
def test_bad_metadata_values(valid, modelfiles, key, value, match):
    _refused(modelfiles.build({**valid[2], key: value}, valid[3]), match)


@pytest.mark.parametrize("key, match", [
    ("format", r"not a model file of this project \(format None\)"),
    ("format_version", r"unsupported format version None"),
    ("sizes", "bad layer sizes in the metadata"),
    ("hidden", "bad hidden None in the metadata"),
    ("dtype", "bad dtype None in the metadata"),
    ("history", "bad training history in the metadata"),
    ("created", "bad creation time in the metadata"),
])
def test_missing_metadata_keys(valid, modelfiles, key, match):
    metadata = {k: v for k, v in valid[2].items() if k != key}
    _refused(modelfiles.build(metadata, valid[3]), match)


@pytest.mark.parametrize("key, value", [("train_accuracy", "high"), ("train_cost", None), ("epoch", True),
                                        ("seconds", [1]), ("eta", {"a": 1}), ("seconds", 10**400)])
def test_bad_history_values(valid, modelfiles, key, value):
    history = [dict(entry) for entry in valid[2]["history"]]
    history[1][key] = value
    _refused(modelfiles.build({**valid[2], "history": history}, valid[3]), f"bad {key} in the training history")


def test_too_long_history(valid, modelfiles, monkeypatch):
    monkeypatch.setattr(limits, "MAX_HISTORY_EPOCHS", 1)
    _refused(valid[1], "bad training history in the metadata")


@pytest.mark.parametrize("raw, match", [
    (b"", "the metadata is not valid JSON"),
    (b"\xff\xfe\x00{", "the metadata is not valid JSON"),
    (b"{'format': 'mnist-net'}", "the metadata is not valid JSON"),
    (b'{"format": "mnist-net", "sizes": [12, 5, 3], "test_accuracy": NaN}', "NaN is not allowed in metadata"),
    (b'{"format": "mnist-net", "x": Infinity}', "the metadata is not valid JSON"),
    (b"[" * 100000, "the metadata is not valid JSON"),
    (b"[1, 2, 3]", "the metadata must be a JSON object"),
    (b'"a string"', "the metadata must be a JSON object"),
    (b"null", "the metadata must be a JSON object"),
    (b"42", "the metadata must be a JSON object"),
])
def test_metadata_not_a_json_object(valid, modelfiles, raw, match):
    _refused(modelfiles.build(raw, valid[3]), match)


def test_metadata_with_wrong_array_type(valid, modelfiles):
    text = json.dumps(valid[2]).encode()
    as_int16 = np.frombuffer(text + b"\x00" * (len(text) % 2), dtype=np.int16)
    raw = {"metadata.npy": modelfiles.npy_bytes(as_int16)}
    _refused(modelfiles.build(None, valid[3], raw_members=raw), r"array metadata has dtype int16, expected uint8")
    raw = {"metadata.npy": modelfiles.npy_bytes(np.frombuffer(text, np.uint8).reshape(1, -1))}
    _refused(modelfiles.build(None, valid[3], raw_members=raw), r"array metadata must be one-dimensional")


def test_a_metadata_header_claiming_more_than_the_metadata_limit_is_refused(valid, modelfiles):
    """A small member whose .npy header claims more bytes than metadata may have: refused from the header."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False,
                                                  "shape": (modelfile.MAX_METADATA_BYTES + 1,)})
    raw = {"metadata.npy": header.getvalue() + b"{}"}
    _refused(modelfiles.build(None, valid[3], raw_members=raw), r"^array metadata is larger than expected$")


def test_bad_npy_headers(valid, modelfiles):
    metadata, arrays = valid[2], valid[3]
    others = {k: v for k, v in arrays.items() if k != "w0"}
    good = modelfiles.npy_bytes(arrays["w0"])
    for raw, match in [
        (b"not an npy file at all", "array w0 cannot be read"),
        (good[:6] + b"\x07\x00" + good[8:], r"array w0 (cannot be read|has an unknown .npy version)"),
        (good.replace(b"'descr': '<f4'", b"'descr': '|O8'"), r"array w0 has dtype object"),
        (good.replace(b"(5, 12)", b"(5, -12)"), r"array w0 has shape \(5, -12\), expected \(5, 12\)"),
        (good.replace(b"'fortran_order': False", b"'fortran_order': 2    "), "array w0 cannot be read"),
        (good.replace(b"'descr'", b"'dtype'"), "array w0 cannot be read"),
        (good.replace(b"{'descr'", b"__import__('os').system('true') or {'descr'"), "array w0 cannot be read"),
    ]:
        _refused(modelfiles.build(metadata, others, raw_members={"w0.npy": raw}), match)


@pytest.mark.parametrize("key, value", [("seed", 2**63 - 1), ("seed", 0), ("test_accuracy", 0), ("test_accuracy", 1.0),
                                        ("created", "x" * 64)])
def test_metadata_values_at_the_edge_of_their_range_load(valid, modelfiles, key, value):
    loaded = Net.from_bytes(modelfiles.build({**valid[2], key: value}, valid[3]))
    assert getattr(loaded, key) == value


@pytest.mark.parametrize("key, value, match", [("seed", 2**63, "bad seed in the metadata"),
                                               ("created", "x" * 65, "bad creation time in the metadata")])
def test_metadata_values_just_past_their_range_are_refused(valid, modelfiles, key, value, match):
    _refused(modelfiles.build({**valid[2], key: value}, valid[3]), match)


def test_a_history_as_long_as_the_limit_loads(valid, monkeypatch):
    monkeypatch.setattr(limits, "MAX_HISTORY_EPOCHS", len(valid[0].history))
    assert Net.from_bytes(valid[1]).history == valid[0].history


@pytest.mark.parametrize("changes, bad", [({"validation_cost": "low"}, "validation_cost"),
                                          ({"validation_accuracy": None, "validation_cost": None, "eta": "fast"},
                                           "eta")])
def test_only_a_missing_validation_value_may_be_null(valid, modelfiles, changes, bad):
    """null stands for "no validation set"; anything else there, or after it, is still checked."""
    history = [dict(entry) for entry in valid[2]["history"]]
    history[0].update(changes)
    _refused(modelfiles.build({**valid[2], "history": history}, valid[3]), f"bad {bad} in the training history")


@pytest.mark.parametrize("version", [(2, 0), (3, 0)])
def test_npy_format_versions_2_and_3_load(valid, modelfiles, version):
    members = {}
    for name, array in valid[3].items():
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, array, version=version)
        members[name + ".npy"] = buffer.getvalue()
    loaded = Net.from_bytes(modelfiles.build(valid[2], {}, raw_members=members))
    np.testing.assert_array_equal(loaded.weights[0], valid[3]["w0"])


def _npy_with_header_of(array, total):
    """A version 1.0 .npy of ``array`` whose header (magic, length and text) is ``total`` bytes, padded with spaces."""
    text = repr({"descr": array.dtype.str, "fortran_order": False, "shape": array.shape}).encode()
    text = text + b" " * (total - 10 - len(text) - 1) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text + array.tobytes()


def test_npy_headers_up_to_1024_bytes_are_read(valid, modelfiles):
    others = {k: v for k, v in valid[3].items() if k != "b1"}
    b1 = valid[3]["b1"]
    for total in (128, 1024):
        data = modelfiles.build(valid[2], others, raw_members={"b1.npy": _npy_with_header_of(b1, total)})
        np.testing.assert_array_equal(Net.from_bytes(data).biases[1], b1)
    data = modelfiles.build(valid[2], others, raw_members={"b1.npy": _npy_with_header_of(b1, 1025)})
    _refused(data, "array b1 is larger than expected")


def test_a_zip_directory_of_up_to_19_entries_of_256_bytes_is_parsed(monkeypatch):
    """The bound is on the directory's size: one 46-byte entry with a 4818-byte name is 19 x 256 bytes exactly."""
    assert modelfile.max_members() == 19
    for name_length, match in ((4818, r"not a model file \(no metadata entry\)"),
                               (4819, r"not a model file \(its zip directory is far larger than a model's\)")):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("x" * name_length, b"")
        _refused(buffer.getvalue(), match)


def test_anything_unexpected_while_building_the_net_is_a_model_file_error(valid):
    class Broken(Net):
        def __init__(self, *args, **kwargs):
            raise RuntimeError("no memory for the layers")

    with pytest.raises(ModelFileError, match=r"^not a usable model file \(RuntimeError: no memory for the layers\)$"):
        modelfile.read_net(Broken, valid[1])


# ----- size limits and zip bombs ----------------------------------------------------------------------------------
def test_files_over_the_size_limit_are_refused_before_reading(valid, tmp_path, monkeypatch):
    data = valid[1]
    path = tmp_path / "net.npz"
    path.write_bytes(data)
    monkeypatch.setattr(limits, "MAX_MODEL_FILE_BYTES", len(data) - 1)
    for source in (path, data, io.BytesIO(data)):
        with pytest.raises(ModelFileError, match=r"the file is (.* MB, )?more than the .* MB a model may have"):
            Net.from_bytes(source) if not isinstance(source, pathlib.Path) else Net.load(source)
    with pytest.raises(ModelFileError, match=rf"^the file is {len(data) / 1e6:.1f} MB, more than"):
        Net.load(path)  # a file's size is known before reading it, so the message gives it
    monkeypatch.setattr(limits, "MAX_MODEL_FILE_BYTES", len(data))
    for source in (path, data, io.BytesIO(data)):  # exactly the limit is allowed, whatever the source
        Net.from_bytes(source) if not isinstance(source, pathlib.Path) else Net.load(source)


class _EndlessStream(io.RawIOBase):
    """A stream that never ends (a pipe, a socket): asked for everything, it would never return."""

    def __init__(self):
        self.asked = []

    def readable(self):
        return True

    def read(self, size=-1):
        if size is None or size < 0:
            raise AssertionError("asked an endless stream for everything it holds")
        self.asked.append(size)
        return bytes(size)


def test_a_stream_is_read_no_further_than_one_byte_past_the_limit(monkeypatch):
    monkeypatch.setattr(limits, "MAX_MODEL_FILE_BYTES", 1_000_000)
    stream = _EndlessStream()
    with pytest.raises(ModelFileError, match=r"^the file is more than the 1 MB a model may have$"):
        Net.from_bytes(stream)
    assert stream.asked == [1_000_001]


def test_a_file_that_never_ends_is_read_no_further_than_one_byte_past_the_limit(tmp_path, monkeypatch):
    """A device or a FIFO reports size 0 and never ends."""
    monkeypatch.setattr(limits, "MAX_MODEL_FILE_BYTES", 1_000_000)
    path = tmp_path / "fifo.npz"
    path.write_bytes(b"")
    stream = _EndlessStream()
    monkeypatch.setattr(type(path), "open", lambda self, *args, **kwargs: stream)
    with pytest.raises(ModelFileError, match=r"^the file is 1\.0 MB, more than the 1 MB a model may have$"):
        Net.load(path)
    assert stream.asked == [1_000_001]


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_an_endless_file_is_read_only_up_to_the_limit(monkeypatch):
    monkeypatch.setattr(limits, "MAX_MODEL_FILE_BYTES", 1 << 20)
    with pytest.raises(ModelFileError, match="more than the 1 MB a model may have"):
        Net.load("/dev/zero")  # reports size 0 and never ends


class _DecompressionMeter:
    """Counts every byte zipfile decompresses (wraps zlib.decompressobj)."""

    def __init__(self, monkeypatch):
        self.total = 0
        real = zlib.decompressobj
        meter = self

        class Counting:
            def __init__(self, *args, **kwargs):
                self._inner = real(*args, **kwargs)

            def decompress(self, data, max_length=0):
                out = self._inner.decompress(data, max_length)
                meter.total += len(out)
                return out

            def __getattr__(self, name):
                return getattr(self._inner, name)

        monkeypatch.setattr(zlib, "decompressobj", Counting)


def _bomb_file(valid, modelfiles, name, payload, claimed_size, crc=0, metadata=None):
    """A model file whose member ``name`` holds ``payload`` (raw deflate) and claims ``claimed_size``."""
    metadata = valid[2] if metadata is None else metadata
    members = []
    for member_name, content in modelfiles.members_of(modelfiles.build(metadata, valid[3])):
        if member_name == name + ".npy":
            members.append({"name": member_name, "payload": payload, "method": zipfile.ZIP_DEFLATED,
                            "crc": crc, "file_size": claimed_size})
        else:
            members.append({"name": member_name, "payload": modelfiles.deflate(content),
                            "method": zipfile.ZIP_DEFLATED, "crc": zlib.crc32(content), "file_size": len(content)})
    return modelfiles.raw_zip(members)


BOMB_MB = 400


def _check_is_a_bomb(payload):
    """The stream really inflates to far more than 10 MB (checked without inflating it all)."""
    inflater = zlib.decompressobj(-15)
    assert len(inflater.decompress(payload, 10 << 20)) == 10 << 20 and not inflater.eof


def test_honest_files_built_by_hand_load(valid, modelfiles):
    good = modelfiles.npy_bytes(valid[3]["w0"])
    data = _bomb_file(valid, modelfiles, "w0", modelfiles.deflate(good), len(good), zlib.crc32(good))
    Net.from_bytes(data)  # the hand-made zip writer itself is sound


@pytest.mark.parametrize("member", ["w0", "metadata"])
def test_zip_bomb_claiming_a_small_size_is_refused_without_inflating_it(valid, modelfiles, monkeypatch, member):
    payload = modelfiles.deflate_bomb(b"", BOMB_MB)  # nothing but zeros: not even a .npy header
    _check_is_a_bomb(payload)
    data = _bomb_file(valid, modelfiles, member, payload, claimed_size=1000)
    meter = _DecompressionMeter(monkeypatch)
    _refused(data, rf"array {member} cannot be read")
    assert meter.total < 1 << 20


def test_zip_bomb_behind_a_valid_npy_prefix_is_not_inflated(valid, modelfiles, monkeypatch):
    good = modelfiles.npy_bytes(valid[3]["w0"])
    payload = modelfiles.deflate_bomb(good, BOMB_MB)
    _check_is_a_bomb(payload)
    meter = _DecompressionMeter(monkeypatch)
    # claims exactly the .npy's size, with a CRC for something else: refused, having read only the claimed bytes
    _refused(_bomb_file(valid, modelfiles, "w0", payload, len(good), crc=12345), "array w0 cannot be read")
    assert meter.total < 1 << 20
    # with the CRC of the claimed bytes, the trailing stream is simply never read
    loaded = Net.from_bytes(_bomb_file(valid, modelfiles, "w0", payload, len(good), crc=zlib.crc32(good)))
    np.testing.assert_array_equal(loaded.weights[0], valid[3]["w0"])
    assert len(good) <= meter.total < 2 << 20  # the meter sees what zipfile inflates


@pytest.mark.parametrize("member", ["w0", "b1", "metadata"])
def test_zip_bomb_claiming_a_huge_size_is_refused_before_inflating(valid, modelfiles, monkeypatch, member):
    payload = modelfiles.deflate_bomb(b"", BOMB_MB)
    data = _bomb_file(valid, modelfiles, member, payload, claimed_size=BOMB_MB << 20)
    meter = _DecompressionMeter(monkeypatch)
    _refused(data, rf"array {member} is larger than expected")
    assert meter.total < 1 << 20


def test_npy_header_claiming_a_huge_metadata_array(valid, modelfiles, monkeypatch):
    header = modelfiles.npy_bytes(np.zeros(0, np.uint8)).replace(b"(0,)", b"(999999999,)")
    payload = modelfiles.deflate_bomb(header, BOMB_MB)
    data = _bomb_file(valid, modelfiles, "metadata", payload, claimed_size=len(header) + 1000)
    meter = _DecompressionMeter(monkeypatch)
    _refused(data, "array metadata (is larger than expected|cannot be read)")
    assert meter.total < 1 << 20


def _zip_claiming_entries(entries, members=("a",), comment=b"", comment_length=None):
    """A small zip whose end record claims ``entries`` entries (2 bytes each for this disk and in all)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in members:
            archive.writestr(name, b"")
        archive.comment = comment
    data = bytearray(buffer.getvalue())
    end = len(data) - len(comment) - 22
    assert data[end:end + 4] == b"PK\x05\x06"
    data[end + 8:end + 12] = entries if isinstance(entries, bytes) else entries.to_bytes(2, "little") * 2
    if comment_length is not None:
        data[end + 20:end + 22] = comment_length.to_bytes(2, "little")
    return bytes(data)


@pytest.mark.parametrize("data, count", [
    (_zip_claiming_entries(b"PK\x05\x06"), "19,280"),  # the end record's own fields spell its signature
    (_zip_claiming_entries(b"PK\x05\x06", members=()), "19,280"),  # ... and it is the whole file
    (_zip_claiming_entries(100, comment=b"a comment"), "100"),
    (_zip_claiming_entries(100, members=(), comment=b"a comment"), "100"),  # the end record at offset 0
    (_zip_claiming_entries(100, comment=b"c" * 65535), "100"),  # the longest comment a zip can have
    (_zip_claiming_entries(100, comment_length=5), "100"),  # a comment length but no comment
], ids=["signature_in_fields", "only_an_end_record", "comment", "record_at_offset_0", "longest_comment", "missing_comment"])
def test_the_entry_count_is_checked_wherever_zipfile_finds_the_end_record(data, count):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:  # zipfile itself opens each of them
        assert len(archive.namelist()) <= 1
    _refused(data, rf"the file holds {count} entries; a model file has at most 19\)$")


@pytest.mark.parametrize("data", [b"\xff" * 98 + b"\x00\x00", b"some junk" + b"PK\x05\x06", b"x" * 9 + b"PK\x05\x06" * 3,
                                  _zip_claiming_entries(100) + b"\x01" * 65537],
                         ids=["ends_with_zeros", "ends_with_the_signature", "signatures_near_the_end",
                              "end_record_further_back_than_a_comment_reaches"])
def test_a_file_with_no_whole_end_record_is_not_a_zip(data):
    _refused(data, r"not a model file \(not a valid \.npz archive")


def test_a_stray_end_signature_inside_a_member_is_not_taken_for_the_end_record():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("a", b"PK\x05\x06" + b"\xff" * 18)  # would claim 65,535 entries
        archive.comment = b"a comment"  # the end record is then found by searching back from the end
    _refused(buffer.getvalue(), r"not a model file \(no metadata entry\)")


def test_a_zip64_archive_is_refused_however_short():
    locator = b"PK\x06\x07" + bytes(16)
    _refused(locator + b"PK\x05\x06" + bytes(18), r"not a model file \(a zip64 archive")


def test_many_members_are_refused(valid, modelfiles):
    members = modelfiles.members_of(valid[1]) + [(f"x{i}.npy", b"") for i in range(2000)]
    _refused(modelfiles.pack(members, zipfile.ZIP_STORED), "do not match its metadata")


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED], ids=["stored", "deflated"])
def test_a_member_whose_data_ends_before_its_declared_size_is_truncated(valid, modelfiles, method):
    """The zip headers declare the whole .npy (and the CRC matches what is there), but 8 bytes of data are missing."""
    members = []
    for name, content in modelfiles.members_of(valid[1]):
        body = content[:-8] if name == "w0.npy" else content
        members.append({"name": name, "payload": body if method == zipfile.ZIP_STORED else modelfiles.deflate(body),
                        "method": method, "crc": zlib.crc32(body), "file_size": len(content)})
    _refused(modelfiles.raw_zip(members), r"^array w0 is truncated$")


def _with_metadata(**changes):
    return lambda valid, modelfiles: modelfiles.build({**valid[2], **changes}, valid[3])


def _one_entry_zip(name_length):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("x" * name_length, b"")
    return buffer.getvalue()


@pytest.mark.parametrize("make, message", [
    (lambda valid, modelfiles: modelfiles.build(None, valid[3]), "not a model file (no metadata entry)"),
    (lambda valid, modelfiles: modelfiles.build(b"[1, 2, 3]", valid[3]), "the metadata must be a JSON object"),
    (_with_metadata(seed=-1), "bad seed in the metadata"),
    (_with_metadata(test_accuracy=1.5), "bad test accuracy in the metadata"),
    (_with_metadata(created=12), "bad creation time in the metadata"),
    (_with_metadata(history={}), "bad training history in the metadata"),
    (_with_metadata(history=[1]), "bad training history entry in the metadata"),
    (lambda valid, modelfiles: modelfiles.build(valid[2], valid[3], compression=zipfile.ZIP_BZIP2),
     "array metadata is compressed in a way model files never are (only stored or deflated arrays are read)"),
    (lambda valid, modelfiles: b"PK\x06\x07" + bytes(16) + b"PK\x05\x06" + bytes(18),
     "not a model file (a zip64 archive: its directory is far larger than a model's)"),
    (lambda valid, modelfiles: _one_entry_zip(5000), "not a model file (its zip directory is far larger than a model's)"),
    (lambda valid, modelfiles: io.StringIO("text, not bytes"), "a model file must be read as bytes"),
], ids=["no_metadata", "metadata_not_an_object", "seed", "test_accuracy", "created", "history", "history_entry",
        "bzip2", "zip64", "big_directory", "text_stream"])
def test_each_refusal_says_exactly_why(valid, modelfiles, make, message):
    with pytest.raises(ModelFileError) as refused:
        Net.from_bytes(make(valid, modelfiles))
    assert str(refused.value) == message
