"""The model file format, and its safe reader and atomic writer.

A model file is an uncompressed or deflated ``.npz`` (a zip of ``.npy`` arrays) holding
exactly these members:

* ``metadata``: uint8 array, the UTF-8 bytes of a JSON object::

      {"format": "mnist-net", "format_version": 1,
       "sizes": [784, 30, 10], "hidden": "sigmoid", "output": "sigmoid",
       "cost": "quadratic", "init": "normal", "dtype": "float32", "seed": 0,
       "history": [{"epoch": 1, "train_accuracy": 0.9, "train_cost": 0.1,
                    "validation_accuracy": 0.91, "validation_cost": 0.09,
                    "seconds": 0.3, "eta": 3.0}, ...],
       "test_accuracy": 0.95, "created": "2026-01-01T00:00:00+00:00",
       "saved": "2026-01-01T00:05:00+00:00"}

* ``w0`` .. ``w{L-1}``: weights, shape (sizes[l+1], sizes[l]), dtype as in metadata;
* ``b0`` .. ``b{L-1}``: biases, shape (sizes[l+1],).

The reader never unpickles: it parses each ``.npy`` header itself, checks name,
dtype and shape against the metadata before reading the data, refuses anything
else, and checks every value is finite. Every problem is a ``ModelFileError``.
"""
import datetime as _dt
import io
import json
import math
import os
import struct
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np

from . import limits
from .activations import COSTS, HIDDEN, OUTPUTS
from .validation import INITS, check_sizes

MODELS_DIR = Path(__file__).resolve().parent.parent / "data" / "models"
DEFAULT_MODEL = MODELS_DIR / "default.npz"  # the shipped pre-trained network

FORMAT = "mnist-net"
FORMAT_VERSION = 1
_SEED_END = 2**63  # seeds are kept as int64-sized whole numbers
MAX_METADATA_BYTES = limits.MAX_METADATA_BYTES
HISTORY_KEYS = ("epoch", "train_accuracy", "train_cost", "validation_accuracy", "validation_cost", "seconds", "eta")
DTYPES = {"float32": np.dtype("<f4"), "float64": np.dtype("<f8")}


class ModelFileError(ValueError):
    """A model file that cannot be used; the message says why."""


# ----- writing ------------------------------------------------------------------------------
NON_FINITE_WEIGHTS = ("the network has non-finite weights (NaN or infinity) and cannot be saved: "
                      "train it again or restore it")


def net_to_bytes(net):
    """The model file's bytes; ValueError (before anything is written) for what the reader would refuse."""
    if not all(np.isfinite(p).all() for p in list(net.weights) + list(net.biases)):
        raise ValueError(NON_FINITE_WEIGHTS)
    metadata = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "sizes": net.sizes,
        "hidden": net.hidden, "output": net.output, "cost": net.cost, "init": net.init,
        "dtype": net.dtype.name, "seed": _saved_seed(net.seed),
        "history": [_clean_history_entry(e) for e in net.history],
        "test_accuracy": net.test_accuracy, "created": net.created,
        "saved": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    try:
        text = json.dumps(metadata, allow_nan=False)
    except ValueError:  # the reader refuses NaN and infinity in the metadata too
        raise ValueError("the network's training history or test accuracy has a NaN or infinite value "
                         "and cannot be saved") from None
    arrays = {"metadata": np.frombuffer(text.encode(), dtype=np.uint8)}
    for layer, (w, b) in enumerate(zip(net.weights, net.biases)):
        arrays[f"w{layer}"] = w.astype(DTYPES[net.dtype.name], copy=False)
        arrays[f"b{layer}"] = b.astype(DTYPES[net.dtype.name], copy=False)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            with archive.open(name + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def _clean_history_entry(entry):
    return {key: (None if entry.get(key) is None else float(entry[key]) if key != "epoch" else int(entry[key]))
            for key in HISTORY_KEYS}


def write_net(net, path, overwrite=True):
    """Write atomically; with overwrite=False an existing file raises FileExistsError.

    A network the reader would refuse (NaN or infinite weights) raises ValueError before
    anything, even a temporary file, is written.
    """
    write_atomic(Path(path), net_to_bytes(net), overwrite)
    return Path(path)


def write_atomic(path, data, overwrite=True):
    """Write bytes to a temporary file beside ``path``, then publish it in one step.

    A crash mid-write leaves any old file intact. With overwrite=False the file is
    published with a hard link, which fails if the name exists, so two writers can
    never both believe they created it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)  # mkstemp makes 0600; saved models are shared files
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if overwrite:
            os.replace(temp, path)
        else:
            os.link(temp, path)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


# ----- reading ------------------------------------------------------------------------------
def read_net(net_class, source):
    """Build a ``net_class`` from a path, bytes or binary file; raise ModelFileError if unusable."""
    data = _read_source(source)
    try:
        return _parse(net_class, data)
    except ModelFileError:
        raise
    except Exception as error:  # a malformed archive can trip zipfile/numpy in many ways
        raise ModelFileError(f"not a usable model file ({type(error).__name__}: {error})") from None


def _parse(net_class, data):
    _check_directory(data)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError) as error:
        raise ModelFileError(f"not a model file (not a valid .npz archive: {error})") from None
    with archive:
        metadata = _read_metadata(archive)
        sizes = metadata["sizes"]
        expected = {"metadata.npy"} | {f"{kind}{l}.npy" for l in range(len(sizes) - 1) for kind in "wb"}
        names = set(archive.namelist())
        if names != expected or len(archive.namelist()) != len(names):
            extra, missing = sorted(names - expected), sorted(expected - names)
            raise ModelFileError(f"the arrays in the file do not match its metadata (unexpected: {extra or 'none'}; "
                                 f"missing: {missing or 'none'})")
        dtype = DTYPES[metadata["dtype"]]
        weights = [_read_array(archive, f"w{l}", (n_out, n_in), dtype)
                   for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]))]
        biases = [_read_array(archive, f"b{l}", (n_out,), dtype) for l, n_out in enumerate(sizes[1:])]
    net = net_class(sizes, hidden=metadata["hidden"], output=metadata["output"], cost=metadata["cost"],
                    init=metadata["init"], seed=metadata.get("seed"), dtype=dtype.newbyteorder("="))
    net.weights, net.biases = weights, biases
    net.history = metadata["history"]
    net.test_accuracy = metadata.get("test_accuracy")  # optional, like the seed (see _check_metadata)
    net.created = metadata["created"]
    return net


def _is_file_seed(seed):
    """A seed a model file may hold: a whole number (not a bool) from 0 to 2**63 - 1."""
    return isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed < _SEED_END


def _saved_seed(seed):
    """The seed as the file keeps it: a whole number the reader accepts, else null (the weights are saved anyway)."""
    seed = int(seed) if isinstance(seed, np.integer) else seed
    return seed if _is_file_seed(seed) else None


def _read_source(source):
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif hasattr(source, "read"):
        data = source.read(limits.MAX_MODEL_FILE_BYTES + 1)
        if isinstance(data, bytes) and len(data) > limits.MAX_MODEL_FILE_BYTES:
            raise ModelFileError(_too_big())  # only the first bytes were read: the size is not known
    else:
        path = Path(source)
        try:
            size = path.stat().st_size
            if size > limits.MAX_MODEL_FILE_BYTES:
                raise ModelFileError(_too_big(size))
            with path.open("rb") as handle:  # bounded: a device or FIFO may report size 0 and never end
                data = handle.read(limits.MAX_MODEL_FILE_BYTES + 1)
        except FileNotFoundError:
            raise ModelFileError(f"no model file at '{path.name}'") from None
        except IsADirectoryError:
            raise ModelFileError(f"'{path.name}' is a folder, not a model file") from None
        except OSError as error:
            raise ModelFileError(f"cannot read '{path.name}' ({error.strerror or type(error).__name__})") from None
    if not isinstance(data, bytes):
        raise ModelFileError("a model file must be read as bytes")
    if len(data) > limits.MAX_MODEL_FILE_BYTES:
        raise ModelFileError(_too_big(len(data)))
    return data


def _too_big(size=None):
    most = f"the {limits.MAX_MODEL_FILE_BYTES / 1e6:.0f} MB a model may have"
    return f"the file is more than {most}" if size is None else f"the file is {size / 1e6:.1f} MB, more than {most}"


# The zip end-of-central-directory record: signature, disk numbers (2), entries on this disk and
# in all, directory size and offset, comment length.
_END_RECORD = struct.Struct("<4s4H2LH")
_END_SIGNATURE = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_LOCATOR_SIZE = 20
MAX_DIRECTORY_ENTRY_BYTES = 256  # one entry: 46 bytes, the name ("metadata.npy") and extra fields
MAX_NPY_HEADER_BYTES = 1024  # numpy writes 128-byte headers for a model's arrays
READABLE_COMPRESSIONS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
_ENCRYPTED = 0x1  # general-purpose flag bit


def max_members():
    """Most members a model file has: the metadata, then a weight and a bias per layer."""
    return 1 + 2 * (limits.MAX_HIDDEN_LAYERS + 1)


def _check_directory(data):
    """Refuse a zip whose central directory cannot be a model's, from its end record alone.

    zipfile builds an object for every directory entry before anything can be checked:
    200,000 empty entries fit in 19 MB and cost seconds of CPU (holding the GIL) and 100+ MB.
    zipfile walks the directory by its size in bytes, so that size is what bounds the work.
    """
    end = _end_record_offset(data)
    if end is None:
        return  # no end record: zipfile refuses it as not a zip
    if data[max(0, end - _ZIP64_LOCATOR_SIZE):end].startswith(_ZIP64_LOCATOR):
        raise ModelFileError("not a model file (a zip64 archive: its directory is far larger than a model's)")
    _, _, _, entries_here, entries, directory_size, _, _ = _END_RECORD.unpack_from(data, end)
    if max(entries_here, entries) > max_members():
        raise ModelFileError(f"the arrays in the file do not match its metadata (the file holds "
                             f"{max(entries_here, entries):,} entries; a model file has at most {max_members()})")
    if directory_size > max_members() * MAX_DIRECTORY_ENTRY_BYTES:
        raise ModelFileError("not a model file (its zip directory is far larger than a model's)")


def _end_record_offset(data):
    """Where zipfile finds the end record (the same search: at the very end, else before a comment)."""
    size = _END_RECORD.size
    if len(data) >= size and data[-size:-size + 4] == _END_SIGNATURE and data[-2:] == b"\0\0":
        return len(data) - size
    start = data.rfind(_END_SIGNATURE, max(0, len(data) - (1 << 16) - size))
    return start if 0 <= start <= len(data) - size else None


def _check_member(info, name, max_bytes):
    """Refuse, before inflating a byte, a member whose inflating this reader cannot bound.

    zipfile inflates bzip2 and lzma members without an output limit (4 KB of bzip2 can become
    gigabytes in one read); stored and deflated ones it inflates only up to the declared size.
    """
    if info.compress_type not in READABLE_COMPRESSIONS:
        raise ModelFileError(f"array {name} is compressed in a way model files never are "
                             "(only stored or deflated arrays are read)")
    if info.flag_bits & _ENCRYPTED:
        raise ModelFileError(f"array {name} is encrypted")
    if info.file_size > max_bytes + MAX_NPY_HEADER_BYTES:
        raise ModelFileError(f"array {name} is larger than expected")


def _check_declared_size(info, name, npy_size):
    """The member's declared size must be exactly its .npy's (header + data): nothing more is inflated."""
    if info.file_size < npy_size:
        raise ModelFileError(f"array {name} is truncated")
    if info.file_size > npy_size:
        raise ModelFileError(f"array {name} is larger than expected")


def _read_npy(archive, name, dtype, shape, max_bytes):
    """Read one member after checking its header; the data is never unpickled."""
    try:
        info = archive.getinfo(name + ".npy")
        _check_member(info, name, max_bytes)
        with archive.open(info) as member:
            version = np.lib.format.read_magic(member)
            if version == (1, 0):
                header = np.lib.format.read_array_header_1_0(member)
            elif version in ((2, 0), (3, 0)):
                header = np.lib.format.read_array_header_2_0(member)
            else:
                raise ModelFileError(f"array {name} has an unknown .npy version {version}")
            found_shape, fortran, found_dtype = header
            if found_dtype.hasobject or found_dtype != dtype:
                raise ModelFileError(f"array {name} has dtype {found_dtype}, expected {dtype}")
            if shape is not None and tuple(found_shape) != shape:
                raise ModelFileError(f"array {name} has shape {tuple(found_shape)}, expected {shape}")
            if len(found_shape) != 1 and shape is None:
                raise ModelFileError(f"array {name} must be one-dimensional")
            count = math.prod(found_shape)
            if count * dtype.itemsize > max_bytes:
                raise ModelFileError(f"array {name} is larger than expected")
            _check_declared_size(info, name, member.tell() + count * dtype.itemsize)
            raw = member.read(count * dtype.itemsize)
            if len(raw) != count * dtype.itemsize:
                raise ModelFileError(f"array {name} is truncated")
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError, KeyError, SyntaxError, TypeError,
            NotImplementedError, RuntimeError, OverflowError) as error:
        raise ModelFileError(f"array {name} cannot be read: {error}") from None
    array = np.frombuffer(raw, dtype=dtype).reshape(found_shape, order="F" if fortran else "C")
    return np.array(array, dtype=dtype.newbyteorder("="), order="C")  # a writable copy: loaded nets can train


def _read_array(archive, name, shape, dtype):
    array = _read_npy(archive, name, dtype, shape, math.prod(shape) * dtype.itemsize)
    if not np.isfinite(array).all():
        raise ModelFileError(f"array {name} contains NaN or infinite values")
    return array


def _read_metadata(archive):
    if "metadata.npy" not in archive.namelist():
        raise ModelFileError("not a model file (no metadata entry)")
    raw = _read_npy(archive, "metadata", np.dtype("|u1"), None, MAX_METADATA_BYTES).tobytes()
    try:
        metadata = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ModelFileError(f"the metadata is not valid JSON: {error}") from None
    return _check_metadata(metadata)


def _reject_constant(name):
    raise ValueError(f"{name} is not allowed in metadata")


def _check_metadata(meta):
    if not isinstance(meta, dict):
        raise ModelFileError("the metadata must be a JSON object")
    if meta.get("format") != FORMAT:
        raise ModelFileError(f"not a model file of this project (format {meta.get('format')!r})")
    if meta.get("format_version") != FORMAT_VERSION or isinstance(meta.get("format_version"), bool):
        raise ModelFileError(f"unsupported format version {meta.get('format_version')!r} (this app reads {FORMAT_VERSION})")
    try:
        meta["sizes"] = check_sizes(meta.get("sizes") if isinstance(meta.get("sizes"), list) else None)
    except ValueError as error:
        raise ModelFileError(f"bad layer sizes in the metadata: {error}") from None
    for key, allowed in (("hidden", tuple(HIDDEN)), ("output", OUTPUTS), ("cost", COSTS),
                         ("init", INITS), ("dtype", tuple(DTYPES))):
        if meta.get(key) not in allowed:
            raise ModelFileError(f"bad {key} {meta.get(key)!r} in the metadata")
    seed = meta.get("seed")
    if seed is not None and not _is_file_seed(seed):
        raise ModelFileError("bad seed in the metadata")
    meta["history"] = _check_history(meta.get("history"))
    accuracy = meta.get("test_accuracy")
    if accuracy is not None and not (_is_number(accuracy) and 0 <= accuracy <= 1):
        raise ModelFileError("bad test accuracy in the metadata")
    created = meta.get("created")
    if not isinstance(created, str) or len(created) > 64:
        raise ModelFileError("bad creation time in the metadata")
    return meta


def _check_history(history):
    if not isinstance(history, list) or len(history) > limits.MAX_HISTORY_EPOCHS:
        raise ModelFileError("bad training history in the metadata")
    clean = []
    for entry in history:
        if not isinstance(entry, dict) or set(entry) != set(HISTORY_KEYS):
            raise ModelFileError("bad training history entry in the metadata")
        for key, value in entry.items():
            if value is None and key.startswith("validation"):
                continue
            if not _is_number(value):
                raise ModelFileError(f"bad {key} in the training history")
        clean.append(dict(entry))
    return clean


def _is_number(value):
    """A finite int or float that fits a float (JSON integers can be any size)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False
