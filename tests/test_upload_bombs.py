"""Uploads that are small on the wire and huge in memory (issue 9): model files whose members are
bzip2/lzma bombs, lie about their sizes or are encrypted, zips flooded with directory entries, and
pictures whose header announces far more pixels than the file's size suggests.

Each bomb is handed to the loader in a child process that measures the extra peak memory
(the peak resident size, reset just before, against the resident size then) and the CPU time of that one call; the
child's address space is capped so that the unfixed loader fails the test instead of the machine.
"""
import bz2
import io
import json
import math
import os
import struct
import subprocess
import sys
import tomllib
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image

from core import ModelFileError, Net, limits
from core import modelfile
from core.preprocess import load_image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_EXTRA_MB = 100
MAX_CPU_SECONDS = 2.0

CHILD = r"""
import json, resource, sys, time, types
kind, path = sys.argv[1], sys.argv[2]
from core import Net, ModelFileError
from core.preprocess import load_image
if kind == "prepare_picture":  # the canvas component declares itself only inside a Streamlit app
    sys.modules["streamlit_drawable_canvas"] = types.SimpleNamespace(st_canvas=None)
    from ui.draw_view import prepare_picture
data = open(path, "rb").read()

def status(key):
    return int(next(line for line in open("/proc/self/status") if line.startswith(key)).split()[1]) * 1024

open("/proc/self/clear_refs", "w").write("5")  # reset the peak (ru_maxrss keeps the parent's across exec)
before = status("VmRSS:")
resource.setrlimit(resource.RLIMIT_AS, (status("VmSize:") + (1 << 30), resource.getrlimit(resource.RLIMIT_AS)[1]))
start = time.process_time()
try:
    if kind == "model":
        Net.from_bytes(data)
        outcome, message = "loaded", ""
    elif kind == "load_image":
        image = load_image(data)
        outcome, message = "read", f"{image.size} {image.mode}"
    else:
        picture = prepare_picture(data)
        outcome, message = ("refused", picture.error) if picture.error else ("read", str(picture.reading.size))
except (ModelFileError, ValueError) as error:
    outcome, message = "refused", str(error)
except MemoryError:
    outcome, message = "out of memory", ""
cpu = time.process_time() - start
peak = status("VmHWM:")
print(json.dumps({"outcome": outcome, "message": message, "extra_mb": (peak - before) / 2**20, "cpu": cpu}))
"""


def _measure(kind, data, tmp_path):
    path = tmp_path / "upload.bin"
    path.write_bytes(data)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", PYTHONPATH=ROOT)
    done = subprocess.run([sys.executable, "-c", CHILD, kind, str(path)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _within_bounds(result):
    assert result["extra_mb"] <= MAX_EXTRA_MB, result
    assert result["cpu"] <= MAX_CPU_SECONDS, result


# ----- model files built by hand --------------------------------------------------------------------------------
def _zip(members, comment=b""):
    """A zip written by hand: each member a dict with name, payload, method, crc, file_size and flags."""
    out, central = io.BytesIO(), []
    for m in members:
        name, offset = m["name"].encode(), out.tell()
        flags, sizes = m.get("flags", 0), (m["crc"], len(m["payload"]), m["file_size"])
        out.write(struct.pack("<4s5H3L2H", b"PK\3\4", 20, flags, m["method"], 0, 0x21, *sizes, len(name), 0))
        out.write(name + m["payload"])
        central.append(struct.pack("<4s4B4H3L5H2L", b"PK\1\2", 20, 3, 20, 0, flags, m["method"], 0, 0x21, *sizes,
                                   len(name), 0, 0, 0, 0, 0, offset) + name)
    start = out.tell()
    out.write(b"".join(central))
    size = out.tell() - start
    out.write(struct.pack("<4s4H2LH", b"PK\5\6", 0, 0, len(central), len(central), size, start, len(comment)))
    return out.getvalue() + comment


@pytest.fixture(scope="module")
def valid(modelfiles):
    net = modelfiles.tiny_net((12, 5, 3))
    return dict(modelfiles.members_of(net.to_bytes()))


def _honest(name, content):
    return {"name": name, "payload": _deflate(content), "method": zipfile.ZIP_DEFLATED,
            "crc": zlib.crc32(content), "file_size": len(content)}


def _deflate(data):
    """Raw deflate, as in a zip member."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def _model_with(valid, name, **member):
    """The valid model with member ``name`` replaced by the given (possibly lying) fields."""
    members = [_honest(n, c) for n, c in valid.items() if n != name]
    return _zip([{"name": name, "crc": 0, "flags": 0, **member}] + members)


def _lzma_member(content):
    """The payload zipfile writes for an LZMA member."""
    compressor = zipfile.LZMACompressor()
    return compressor.compress(content) + compressor.flush()


BZIP2_ZEROS_MB = 400  # 400 MB of zeros: a few hundred bytes of bzip2


@pytest.fixture(scope="module")
def bzip2_zeros():
    payload = bz2.compress(bytes(BZIP2_ZEROS_MB << 20), 9)
    assert len(payload) < 4096
    return payload


def test_a_bzip2_member_with_a_faked_small_size_is_refused_without_inflating_it(valid, bzip2_zeros, tmp_path):
    npy = valid["metadata.npy"]
    payload = bz2.compress(npy + bytes(BZIP2_ZEROS_MB << 20), 9)  # a real .npy, then 400 MB of zeros
    data = _model_with(valid, "metadata.npy", payload=payload, method=zipfile.ZIP_BZIP2, crc=zlib.crc32(npy),
                       file_size=len(npy))
    assert len(data) < 50_000
    result = _measure("model", data, tmp_path)
    assert result["outcome"] == "refused" and "only stored or deflated" in result["message"], result
    _within_bounds(result)


@pytest.mark.parametrize("member", ["metadata.npy", "w0.npy"])
def test_a_4_kb_chunk_of_bzip2_zeros_is_refused_without_inflating_it(valid, bzip2_zeros, tmp_path, member):
    data = _model_with(valid, member, payload=bzip2_zeros, method=zipfile.ZIP_BZIP2, file_size=1000)
    result = _measure("model", data, tmp_path)
    assert result["outcome"] == "refused" and "only stored or deflated" in result["message"], result
    _within_bounds(result)


def test_an_lzma_member_is_refused_without_inflating_it(valid, tmp_path):
    payload = _lzma_member(bytes(200 << 20))
    zipfile.ZipFile(io.BytesIO(_zip([{"name": "x", "payload": payload, "method": zipfile.ZIP_LZMA,
                                      "crc": zlib.crc32(bytes(10)), "file_size": 10}]))).read("x")  # zipfile reads it
    data = _model_with(valid, "w0.npy", payload=payload, method=zipfile.ZIP_LZMA, file_size=1000)
    result = _measure("model", data, tmp_path)
    assert result["outcome"] == "refused" and "only stored or deflated" in result["message"], result
    _within_bounds(result)


def test_honest_bzip2_and_lzma_models_are_refused_too(modelfiles):
    data = modelfiles.tiny_net((12, 5, 3)).to_bytes()
    for method in (zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
        with pytest.raises(ModelFileError, match="only stored or deflated arrays are read"):
            Net.from_bytes(modelfiles.rebuild(data, method))


@pytest.mark.parametrize("extra", [1, 512])
def test_a_stored_member_declaring_more_than_its_npy_is_refused(valid, extra):
    content = valid["w0.npy"] + bytes(extra)
    data = _model_with(valid, "w0.npy", payload=content, method=zipfile.ZIP_STORED, crc=zlib.crc32(content),
                       file_size=len(content))
    with pytest.raises(ModelFileError, match="array w0 is larger than expected"):
        Net.from_bytes(data)


def test_the_declared_size_must_be_the_npy_size_the_metadata_implies(valid):
    content = valid["w0.npy"]
    Net.from_bytes(_model_with(valid, "w0.npy", payload=content, method=zipfile.ZIP_STORED, crc=zlib.crc32(content),
                               file_size=len(content)))  # the exact size loads
    short = content[:-4]
    with pytest.raises(ModelFileError, match="array w0 is truncated"):
        Net.from_bytes(_model_with(valid, "w0.npy", payload=short, method=zipfile.ZIP_STORED, crc=zlib.crc32(short),
                                   file_size=len(short)))


def test_encrypted_members_are_refused(valid):
    content = valid["b0.npy"]
    data = _model_with(valid, "b0.npy", payload=_deflate(content), method=zipfile.ZIP_DEFLATED,
                       crc=zlib.crc32(content), file_size=len(content), flags=0x1)
    with pytest.raises(ModelFileError, match="array b0 is encrypted"):
        Net.from_bytes(data)


# ----- flooded zip directories -------------------------------------------------------------------------------
FLOOD_ENTRIES = 200_000


def _flood(entries, zip64):
    """A zip of ``entries`` empty members; with zip64 False, the end record claims 3 (a lie)."""
    local, central = bytearray(), bytearray()
    for i in range(entries):
        name = b"e%d" % i
        central += struct.pack("<4s4B4H3L5H2L", b"PK\1\2", 20, 3, 20, 0, 0, 0, 0, 0x21, 0, 0, 0, len(name), 0, 0, 0,
                               0, 0, len(local)) + name
        local += struct.pack("<4s5H3L2H", b"PK\3\4", 20, 0, 0, 0, 0x21, 0, 0, 0, len(name), 0) + name
    start, size = len(local), len(central)
    out = bytes(local) + bytes(central)
    if zip64:
        record64 = struct.pack("<4sQ2H2L4Q", b"PK\6\6", 44, 45, 45, 0, 0, entries, entries, size, start)
        locator = struct.pack("<4sLQL", b"PK\6\7", 0, len(out), 1)
        return out + record64 + locator + struct.pack("<4s4H2LH", b"PK\5\6", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF,
                                                      0xFFFFFFFF, 0)
    return out + struct.pack("<4s4H2LH", b"PK\5\6", 0, 0, 3, 3, size, start, 0)


@pytest.mark.parametrize("zip64", [True, False], ids=["zip64", "end_record_lies_about_the_count"])
def test_a_flooded_zip_directory_is_refused_before_parsing_it(tmp_path, zip64):
    data = _flood(FLOOD_ENTRIES, zip64)
    assert 15 << 20 < len(data) < limits.MAX_MODEL_FILE_BYTES
    assert len(zipfile.ZipFile(io.BytesIO(data)).infolist()) == FLOOD_ENTRIES  # zipfile does read them all
    result = _measure("model", data, tmp_path)
    assert result["outcome"] == "refused" and "far larger than a model's" in result["message"], result
    _within_bounds(result)
    assert result["cpu"] < 0.2, result  # the end record alone is checked


def test_too_many_entries_are_refused_from_the_end_record(valid, monkeypatch):
    members = [_honest(n, c) for n, c in valid.items()]
    extra = [_honest(f"x{i}.npy", b"") for i in range(modelfile.max_members())]
    parsed = []
    monkeypatch.setattr(zipfile.ZipFile, "_RealGetContents", lambda self: parsed.append(self))
    with pytest.raises(ModelFileError, match=r"the file holds 24 entries; a model file has at most 19"):
        Net.from_bytes(_zip(members + extra))
    assert not parsed  # refused before zipfile read the directory


def test_the_deepest_legal_model_has_the_most_members_and_loads(modelfiles):
    sizes = [3] * (limits.MAX_HIDDEN_LAYERS + 2)
    data = modelfiles.tiny_net(sizes, epochs=0).to_bytes()
    assert len(modelfiles.members_of(data)) == modelfile.max_members() == 1 + 2 * (limits.MAX_HIDDEN_LAYERS + 1)
    assert Net.from_bytes(data).sizes == sizes
    with_comment = data[:-2] + struct.pack("<H", 5) + b"hello"  # a zip comment is still fine
    assert Net.from_bytes(with_comment).sizes == sizes


# ----- upload caps ---------------------------------------------------------------------------------------------
def _upload_cap_bytes():
    with open(os.path.join(ROOT, ".streamlit", "config.toml"), "rb") as config:
        return tomllib.load(config)["server"]["maxUploadSize"] * 2**20


def test_the_biggest_legal_model_fits_the_caps_and_the_caps_fit_it(modelfiles):
    """A float64 network of exactly MAX_PARAMETERS with a 10,000-epoch history: the upload cap is
    what it needs, rounded up to a whole MiB, no more."""
    n_in = 999
    n_out = limits.MAX_PARAMETERS // (n_in + 1)
    assert (n_in + 1) * n_out == limits.MAX_PARAMETERS and n_out <= limits.MAX_LAYER_SIZE
    net = Net([n_in, n_out], dtype=np.float64, seed=1)
    entry = {"epoch": 10_000, "train_accuracy": 0.1234567890123456, "train_cost": 1.234567890123456e-05,
             "validation_accuracy": 0.9876543210987654, "validation_cost": 2.345678901234567e-05,
             "seconds": 123.45678901234567, "eta": 0.12345678901234567}
    net.history = [dict(entry) for _ in range(limits.MAX_HISTORY_EPOCHS)]
    data = net.to_bytes()
    metadata = modelfile._read_npy(zipfile.ZipFile(io.BytesIO(data)), "metadata", np.dtype("|u1"), None,
                                   limits.MAX_METADATA_BYTES)
    assert metadata.size <= limits.MAX_METADATA_BYTES
    assert len(data) <= limits.MAX_MODEL_FILE_BYTES <= _upload_cap_bytes()
    assert Net.from_bytes(data).sizes == [n_in, n_out]
    assert _upload_cap_bytes() == math.ceil(limits.MAX_MODEL_FILE_BYTES / 2**20) * 2**20 < 64 * 2**20


# ----- pictures --------------------------------------------------------------------------------------------------
def _png(width, height, colour_type, channels):
    """A one-colour PNG written row by row: a few hundred KB on disk for any size."""
    def chunk(kind, body):
        return struct.pack(">L", len(body)) + kind + body + struct.pack(">L", zlib.crc32(kind + body))
    compressor, row, rows = zlib.compressobj(9), b"\0" * (1 + width * channels), []
    for _ in range(height):
        rows.append(compressor.compress(row))
    rows.append(compressor.flush())
    header = struct.pack(">2L5B", width, height, 8, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(rows)) + chunk(b"IEND", b"")


def _bmp_rle8(width, height):
    """An 8-bit RLE BMP holding only its end-of-bitmap mark: about 1 KB for any size."""
    pixels = b"\x00\x01"
    info = struct.pack("<L2l2H6L", 40, width, height, 1, 8, 1, len(pixels), 2835, 2835, 256, 0)
    palette = b"".join(bytes((g, g, g, 0)) for g in range(256))
    offset = 14 + len(info) + len(palette)
    return b"BM" + struct.pack("<L2HL", offset + len(pixels), 0, 0, offset) + info + palette + pixels


PICTURE_BOMBS = {
    "12000x12000 grey PNG": lambda: _png(12_000, 12_000, 0, 1),
    "9000x9000 RGBA PNG": lambda: _png(9_000, 9_000, 6, 4),
    "12000x12000 RLE BMP": lambda: _bmp_rle8(12_000, 12_000),
}


@pytest.mark.parametrize("kind", PICTURE_BOMBS)
def test_a_picture_bomb_is_refused_from_its_header(kind, tmp_path):
    data = PICTURE_BOMBS[kind]()
    assert len(data) < 400_000
    with Image.open(io.BytesIO(data)) as image:  # the header really announces that many pixels
        assert image.width * image.height >= 81_000_000
    result = _measure("load_image", data, tmp_path)
    assert result["outcome"] == "refused" and "too large" in result["message"], result
    _within_bounds(result)
    assert "pixels" in result["message"] and "/" not in result["message"]


@pytest.fixture(scope="module")
def big_grey_jpeg(tmp_path_factory):
    """An 8000 x 8000 grey JPEG with a dark seven on light paper (made in a child: 64 MB of pixels)."""
    path = tmp_path_factory.mktemp("jpeg") / "big.jpg"
    script = ("import sys; from PIL import Image, ImageDraw; im = Image.new('L', (8000, 8000), 235); "
              "d = ImageDraw.Draw(im); d.line([(2000, 1500), (6000, 1500), (3500, 6500)], fill=20, width=500); "
              "im.save(sys.argv[1], quality=85)")
    subprocess.run([sys.executable, "-c", script, str(path)], check=True, timeout=120)
    return path.read_bytes()


def test_a_big_jpeg_is_read_reduced_within_bounds(big_grey_jpeg, tmp_path):
    result = _measure("load_image", big_grey_jpeg, tmp_path)
    assert result["outcome"] == "read", result
    assert result["message"] == "(4000, 4000) L", result  # decoded at 1/2: still >= 2 x 1024 px
    _within_bounds(result)


def test_a_big_jpeg_is_prepared_for_the_page_within_bounds(big_grey_jpeg, tmp_path):
    result = _measure("prepare_picture", big_grey_jpeg, tmp_path)
    assert result["outcome"] == "read" and result["message"] == "(1024, 1024)", result
    _within_bounds(result)


def test_a_wide_jpeg_keeps_its_longer_side_at_least_twice_the_working_side():
    buffer = io.BytesIO()
    Image.new("RGB", (6000, 1500), "white").save(buffer, format="JPEG")
    image = load_image(buffer.getvalue())
    assert image.size == (3000, 750)  # half: a square draft of 2048 px would have kept all 6000 x 1500


def test_pictures_up_to_the_limit_are_read_and_one_byte_over_is_not(monkeypatch):
    buffer = io.BytesIO()
    Image.new("RGBA", (100, 50), "white").save(buffer, format="PNG")
    monkeypatch.setattr(limits, "MAX_PICTURE_BYTES", 100 * 50 * 4)
    assert load_image(buffer.getvalue()).size == (100, 50)
    monkeypatch.setattr(limits, "MAX_PICTURE_BYTES", 100 * 50 * 4 - 1)
    with pytest.raises(ValueError, match=r"too large \(100 × 50 pixels\)"):
        load_image(buffer.getvalue())


def test_formats_the_page_does_not_offer_are_not_opened():
    buffer = io.BytesIO()
    Image.new("L", (20, 20)).save(buffer, format="PPM")
    with pytest.raises(ValueError, match="not an image Pillow can read"):
        load_image(buffer.getvalue())
