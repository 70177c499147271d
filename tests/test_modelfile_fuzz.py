"""Property tests: mutated model files either load as a sound network or raise ModelFileError.

Starting from the bytes of small valid model files (deflated and stored, float32 and
float64, 0 to 2 hidden layers), the tests flip, overwrite, truncate, insert, delete and
duplicate bytes, splice zip members between files, change metadata JSON values and
types, and rewrite .npy headers. For every mutant:

* the only exception ``Net.from_bytes`` may raise is ``ModelFileError``. That holds by
  construction (``read_net`` turns every exception into one), so each mutant is also given
  to the layer below that catch-all, ``modelfile._parse``: it too may raise nothing but
  ``ModelFileError`` (its own deliberate refusals; it documents no other exception), and it
  must agree with ``Net.from_bytes`` on whether the file loads;
* a mutant that loads gives a network whose parameters are finite, of the net's dtype,
  and shaped as its layer sizes say;
* nothing is ever unpickled (the pickle loaders, which numpy also uses, are replaced by
  recorders for the whole module).

Examples per run (fixed: ``derandomize=True``): 1,500 byte flips + 800 overwrites +
1,000 truncations/insertions/deletions/duplications + 800 member splices + 1,000
metadata changes + 800 .npy header changes = 5,900 mutated files.

On top of those, ``test_fresh_seed_mutations`` mutates with a NumPy generator seeded afresh
on every run (``RANDOM_EXAMPLES`` files), so each run explores new inputs. The seed is in
the failure message; replay it with ``FUZZ_SEED=<seed> python -m pytest tests/test_modelfile_fuzz.py``.
"""
import datetime
import io
import json
import os
import pickle
import re
import secrets
import types
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import ModelFileError, Net
from core import modelfile

# numpy warns when a (mutated) .npy header needs its Python 2 fallback parser
pytestmark = pytest.mark.filterwarnings("ignore:Reading `.npy` or `.npz` file required additional header parsing")

EXAMPLES = {"flips": 1500, "overwrites": 800, "edits": 1000, "splices": 800, "metadata": 1000, "headers": 800}
TOTAL_EXAMPLES = sum(EXAMPLES.values())  # 5,900


def _fuzz_settings(name):
    return settings(max_examples=EXAMPLES[name], deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


# ----- the valid starting points ----------------------------------------------------------------------------
def _trained(sizes, dtype, seed):
    net = Net(list(sizes), seed=seed, dtype=dtype, hidden="tanh" if seed % 2 else "sigmoid")
    rng = np.random.default_rng(seed)
    X, y = rng.random((30, sizes[0])), rng.integers(0, sizes[-1], 30)
    net.fit((X, y), epochs=2, eta=0.5, batch_size=10, validation=(X[:10], y[:10]))
    net.test_accuracy = 0.25
    net.created = "2026-01-01T00:00:00+00:00"  # no clock readings in the bases: the same bytes every run,
    for entry in net.history:                  # so a FUZZ_SEED (or Hypothesis example) replays exactly
        entry["seconds"] = 0.5
    return net


class _FrozenDatetime(datetime.datetime):
    @classmethod
    def now(cls, tz=None):
        return cls(2026, 1, 1, tzinfo=tz)


def _members(data):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


def _pack(members, compression):
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate member names are part of the fuzzing
        with zipfile.ZipFile(buffer, "w", compression) as archive:
            for name, content in members:
                info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))  # a fixed time, as for the bases
                info.external_attr = 0o600 << 16
                archive.writestr(info, content, compress_type=compression)
    return buffer.getvalue()


_NETS = [_trained((6, 4, 3), np.float32, 0), _trained((5, 3), np.float64, 1), _trained((4, 3, 3, 2), np.float32, 2)]
BASES = []
with pytest.MonkeyPatch.context() as _patch:  # a fixed "saved" time in the metadata
    _patch.setattr(modelfile, "_dt", types.SimpleNamespace(datetime=_FrozenDatetime, timezone=datetime.timezone))
    for _net in _NETS:
        _data = _net.to_bytes()
        BASES.append(_data)
        BASES.append(_pack(_members(_data), zipfile.ZIP_STORED))  # byte mutations then hit headers and data directly
BASE_MEMBERS = [_members(data) for data in BASES]
MEMBER_NAMES = sorted({name for members in BASE_MEMBERS for name, _ in members}) + ["w9.npy", "x", "metadata"]


# ----- the properties -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module", autouse=True)
def unpickling_recorder():
    """Replace pickle's loaders for this module; every call is recorded (and fails)."""
    calls = []

    def forbidden(*args, **kwargs):
        calls.append(args)
        raise AssertionError("something was unpickled")

    with pytest.MonkeyPatch.context() as patch:
        for name in ("load", "loads", "Unpickler"):
            patch.setattr(pickle, name, forbidden)
        yield calls


INNER_EXCEPTIONS = (ModelFileError,)
"""What may escape ``modelfile._parse``, the layer below ``read_net``'s catch-all: only its
deliberate refusals. Anything else (zlib.error, NotImplementedError, OverflowError, KeyError,
struct.error, ...) is an unanticipated failure that only the catch-all hides."""


def check_inner(data):
    """``modelfile._parse`` on the mutant: a net, or None after a deliberate refusal."""
    try:
        return modelfile._parse(Net, data)
    except INNER_EXCEPTIONS as error:
        assert str(error), "a refusal must say why"
        return None
    except Exception as error:  # noqa: BLE001 - the point is to name what escaped
        raise AssertionError(f"{type(error).__module__}.{type(error).__qualname__} escaped modelfile._parse "
                             f"(hidden from callers only by read_net's catch-all): {error}") from error


def check_mutant(data, calls):
    """The property every mutated file must satisfy."""
    inner = check_inner(data)
    assert calls == [], "the inner reader unpickled something"
    try:
        net = Net.from_bytes(data)
    except ModelFileError as error:
        assert str(error), "a refusal must say why"
        net = None
    assert calls == [], "the loader unpickled something"
    assert (inner is None) == (net is None), "read_net and the reader below it disagree on whether the file loads"
    if net is None:
        return
    assert len(net.weights) == len(net.biases) == len(net.sizes) - 1
    for layer, (w, b) in enumerate(zip(net.weights, net.biases)):
        assert w.shape == (net.sizes[layer + 1], net.sizes[layer])
        assert b.shape == (net.sizes[layer + 1],)
        assert w.dtype == b.dtype == net.dtype
        assert np.isfinite(w).all() and np.isfinite(b).all()
    assert net.history is not None and len(net.history) <= 10_000
    proba = net.predict_proba(np.zeros((1, net.sizes[0])))
    assert proba.shape == (1, net.sizes[-1])


def test_the_bases_load_and_the_recorder_catches_numpy_unpickling(unpickling_recorder):
    for data in BASES:
        check_mutant(data, unpickling_recorder)
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    buffer.seek(0)
    with pytest.raises(AssertionError, match="unpickled"):
        np.load(buffer, allow_pickle=True)
    assert len(unpickling_recorder) == 1
    unpickling_recorder.clear()


base_index = st.integers(0, len(BASES) - 1)


@_fuzz_settings("flips")
@given(base_index, st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), min_size=1, max_size=8))
def test_byte_flips(unpickling_recorder, index, flips):
    data = bytearray(BASES[index])
    for position, mask in flips:
        data[position % len(data)] ^= mask
    check_mutant(bytes(data), unpickling_recorder)


@_fuzz_settings("overwrites")
@given(base_index, st.integers(0, 10**6), st.binary(min_size=1, max_size=40))
def test_overwritten_ranges(unpickling_recorder, index, position, junk):
    data = bytearray(BASES[index])
    start = position % len(data)
    data[start:start + len(junk)] = junk
    check_mutant(bytes(data), unpickling_recorder)


edit = st.one_of(
    st.tuples(st.just("truncate"), st.integers(0, 10**6)),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("delete"), st.integers(0, 10**6), st.integers(1, 200)),
    st.tuples(st.just("duplicate"), st.integers(0, 10**6), st.integers(1, 400), st.integers(0, 10**6)),
)


@_fuzz_settings("edits")
@given(base_index, st.lists(edit, min_size=1, max_size=3))
def test_truncations_insertions_deletions_duplications(unpickling_recorder, index, edits):
    data = BASES[index]
    for operation, *args in edits:
        position = args[0] % (len(data) + 1)
        if operation == "truncate":
            data = data[:position]
        elif operation == "insert":
            data = data[:position] + args[1] + data[position:]
        elif operation == "delete":
            data = data[:position] + data[position + args[1]:]
        else:
            piece = data[position:position + args[1]]
            target = args[2] % (len(data) + 1)
            data = data[:target] + piece + data[target:]
    check_mutant(data, unpickling_recorder)


member_choice = st.tuples(base_index, st.integers(0, 20), st.one_of(st.none(), st.sampled_from(MEMBER_NAMES)))


@_fuzz_settings("splices")
@given(st.lists(member_choice, min_size=0, max_size=8), st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
def test_spliced_members(unpickling_recorder, choices, compression):
    members = []
    for index, member, rename in choices:
        name, content = BASE_MEMBERS[index][member % len(BASE_MEMBERS[index])]
        members.append((rename or name, content))
    check_mutant(_pack(members, compression), unpickling_recorder)


HUGE_INTS = [2**1024, -2**1024, 10**400]  # valid JSON, but too large for a float
json_scalars = (st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.integers(-3, 12)
                | st.sampled_from(HUGE_INTS)
                | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=6)
                | st.sampled_from(["mnist-net", "float32", "float64", "sigmoid", "softmax", "relu", "quadratic",
                                   "normal"]))
json_values = json_scalars | st.lists(json_scalars, max_size=4) | st.dictionaries(
    st.sampled_from(["epoch", "eta", "a", ""]), json_scalars, max_size=3)
METADATA_KEYS = ["format", "format_version", "sizes", "hidden", "output", "cost", "init", "dtype", "seed",
                 "history", "test_accuracy", "created", "saved"]
metadata_change = st.one_of(
    st.tuples(st.just("set"), st.sampled_from(METADATA_KEYS) | st.text(max_size=6), json_values),
    st.tuples(st.just("delete"), st.sampled_from(METADATA_KEYS)),
    st.tuples(st.just("size"), st.integers(0, 5), st.integers(-2, 5000) | json_values),
    st.tuples(st.just("history"), st.integers(0, 3), st.sampled_from(
        ["epoch", "train_accuracy", "train_cost", "validation_accuracy", "validation_cost", "seconds", "eta", "x"]),
        json_values),
)


def _apply_metadata_change(metadata, change):
    kind = change[0]
    if kind == "set":
        metadata[change[1]] = change[2]
    elif kind == "delete":
        metadata.pop(change[1], None)
    elif kind == "size" and isinstance(metadata.get("sizes"), list):
        sizes = metadata["sizes"]
        if change[1] < len(sizes):
            sizes[change[1]] = change[2]
        else:
            sizes.append(change[2])
    elif kind == "history" and isinstance(metadata.get("history"), list) and metadata["history"]:
        entry = metadata["history"][change[1] % len(metadata["history"])]
        if isinstance(entry, dict):
            entry[change[2]] = change[3]


@_fuzz_settings("metadata")
@given(base_index, st.lists(metadata_change, min_size=1, max_size=4), st.booleans())
def test_metadata_changes(unpickling_recorder, index, changes, as_text_edit):
    members = dict(BASE_MEMBERS[index])
    header, body = _split_npy(members["metadata.npy"])
    metadata = json.loads(body)
    for change in changes:
        _apply_metadata_change(metadata, change)
    text = json.dumps(metadata).encode()
    if as_text_edit:  # also break the JSON text itself now and then
        text = text[: len(text) * len(changes) // 5]
    array = np.frombuffer(text, dtype=np.uint8)
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    members["metadata.npy"] = buffer.getvalue()
    check_mutant(_pack(members.items(), zipfile.ZIP_DEFLATED), unpickling_recorder)


def _split_npy(content):
    """(header bytes including the magic, data bytes) of a version 1.0 .npy."""
    header_length = int.from_bytes(content[8:10], "little")
    return content[:10 + header_length], content[10 + header_length:]


descriptions = st.sampled_from(["'<f4'", "'<f8'", "'>f4'", "'|u1'", "'|O'", "'<i4'", "'<f2'", "'|V8'", "'<c8'",
                                "[('a', '<f4')]", "'S4'", "'<U1'", "'|b1'", "'<M8[s]'", "'nonsense'", "None", "7"])
shapes = st.one_of(
    st.lists(st.integers(-3, 12), max_size=3).map(lambda s: repr(tuple(s))),
    st.lists(st.integers(-2**63, 2**64), min_size=1, max_size=3).map(lambda s: repr(tuple(s))),
    st.sampled_from(["()", "(1,)", "[4, 6]", "'(4, 6)'", "(4.0, 6)", "(None,)", "((),)"]),
)
orders = st.sampled_from(["False", "True", "0", "1", "None", "'False'"])


@_fuzz_settings("headers")
@given(base_index, st.integers(0, 20), descriptions, shapes, orders, st.booleans(), st.integers(0, 255))
def test_npy_header_changes(unpickling_recorder, index, member, descr, shape, order, keep_length, version):
    members = list(BASE_MEMBERS[index])
    name, content = members[member % len(members)]
    header, body = _split_npy(content)
    text = header[10:].decode("latin1")
    text = re.sub(r"'descr': [^,]+,", f"'descr': {descr},", text)
    text = re.sub(r"'fortran_order': \w+", f"'fortran_order': {order}", text)
    text = re.sub(r"'shape': \([^)]*\)", f"'shape': {shape}", text)
    encoded = text.encode("latin1")
    if keep_length:  # a header of the original length, padded or cut
        encoded = encoded[:len(header) - 10].ljust(len(header) - 10, b" ")
    magic = header[:6] + (bytes([version, 0]) if version < 4 else header[6:8])
    new = magic + len(encoded).to_bytes(2, "little") + encoded + body
    members[member % len(members)] = (name, new)
    check_mutant(_pack(members, zipfile.ZIP_STORED), unpickling_recorder)


# ----- a fresh seed every run ---------------------------------------------------------------------------------
RANDOM_EXAMPLES = 3000
RANDOM_JSON_VALUES = [None, True, False, 0, 1, -1, 3, 4, 5000, 2**63, 0.5, 1.5, -0.0, 1e308, "", "x", "mnist-net",
                      "float64", "softmax", [], [4, 3], [4.0, 3], {}, {"epoch": 1}, *HUGE_INTS]


def _fuzz_seed():
    """``FUZZ_SEED`` from the environment (to replay a failure), else a fresh 64-bit seed."""
    raw = os.environ.get("FUZZ_SEED")
    return int(raw, 0) if raw else secrets.randbits(64)


def _random_byte_mutant(rng):
    index = int(rng.integers(len(BASES)))
    data = bytearray(BASES[index])
    steps = []
    for _ in range(int(rng.integers(1, 5))):
        operation = ("flip", "overwrite", "truncate", "insert", "delete", "duplicate")[int(rng.integers(6))]
        position = int(rng.integers(len(data) + 1))
        if operation == "flip" and data:
            position %= len(data)
            mask = int(rng.integers(1, 256))
            data[position] ^= mask
            steps.append(f"flip byte {position} with {mask:#04x}")
        elif operation == "overwrite":
            junk = rng.bytes(int(rng.integers(1, 41)))
            data[position:position + len(junk)] = junk
            steps.append(f"overwrite at {position} with {junk.hex()}")
        elif operation == "truncate":
            del data[position:]
            steps.append(f"truncate to {position}")
        elif operation == "insert":
            junk = rng.bytes(int(rng.integers(1, 65)))
            data[position:position] = junk
            steps.append(f"insert {junk.hex()} at {position}")
        elif operation == "delete":
            length = int(rng.integers(1, 201))
            del data[position:position + length]
            steps.append(f"delete {length} bytes at {position}")
        else:
            length, target = int(rng.integers(1, 401)), int(rng.integers(len(data) + 1))
            data[target:target] = data[position:position + length]
            steps.append(f"copy {length} bytes from {position} to {target}")
    return bytes(data), f"base {index}: " + "; ".join(steps)


HISTORY_KEYS_AND_JUNK = list(modelfile.HISTORY_KEYS) + ["x"]


def _short(value):
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}... ({len(text)} characters)"


def _first_history_entry(metadata):
    history = metadata.get("history")
    return history[0] if isinstance(history, list) and history and isinstance(history[0], dict) else None


def _random_metadata_mutant(rng):
    index = int(rng.integers(len(BASES)))
    members = dict(BASE_MEMBERS[index])
    metadata = json.loads(_split_npy(members["metadata.npy"])[1])
    steps = []
    for _ in range(int(rng.integers(1, 4))):
        value = RANDOM_JSON_VALUES[int(rng.integers(len(RANDOM_JSON_VALUES)))]
        where = int(rng.integers(4))
        if where == 0:
            key = METADATA_KEYS[int(rng.integers(len(METADATA_KEYS)))]
            metadata[key] = value
            steps.append(f"metadata[{key!r}] = {_short(value)}")
        elif where == 1:
            key = METADATA_KEYS[int(rng.integers(len(METADATA_KEYS)))]
            metadata.pop(key, None)
            steps.append(f"del metadata[{key!r}]")
        elif where == 2 and _first_history_entry(metadata) is not None:
            key = HISTORY_KEYS_AND_JUNK[int(rng.integers(len(HISTORY_KEYS_AND_JUNK)))]
            metadata["history"][0][key] = value
            steps.append(f"history[0][{key!r}] = {_short(value)}")
        elif isinstance(metadata.get("sizes"), list) and metadata["sizes"]:
            position = int(rng.integers(len(metadata["sizes"])))
            metadata["sizes"][position] = value
            steps.append(f"sizes[{position}] = {_short(value)}")
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.frombuffer(json.dumps(metadata).encode(), dtype=np.uint8),
                              allow_pickle=False)
    members["metadata.npy"] = buffer.getvalue()
    compression = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)[int(rng.integers(2))]
    return _pack(members.items(), compression), f"base {index}: " + "; ".join(steps)


def test_fresh_seed_mutations(unpickling_recorder):
    """Byte-level and metadata mutants from a generator seeded afresh each run (or by FUZZ_SEED)."""
    seed = _fuzz_seed()
    print(f"FUZZ_SEED={seed}")  # pytest shows this output when the test fails
    rng = np.random.default_rng(seed)
    failures = {}
    for example in range(RANDOM_EXAMPLES):
        data, description = (_random_metadata_mutant if example % 4 == 3 else _random_byte_mutant)(rng)
        try:
            check_mutant(data, unpickling_recorder)
        except AssertionError as error:
            unpickling_recorder.clear()
            kind = str(error).split(":")[0]
            failures.setdefault(kind, []).append(f"example {example} ({description}): {error}")
    summary = "\n".join(f"{len(found)} x {kind}\n    first: {found[0]}" for kind, found in failures.items())
    assert not failures, (f"{sum(map(len, failures.values()))} of {RANDOM_EXAMPLES} mutants failed; replay with "
                          f"FUZZ_SEED={seed} python -m pytest tests/test_modelfile_fuzz.py -k fresh_seed\n{summary}")
