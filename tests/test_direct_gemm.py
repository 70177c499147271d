"""Training through the direct BLAS call (core._gemm) gives what NumPy's matmul gives.

NumPy's wheels ship OpenBLAS, so wherever NumPy runs on OpenBLAS the direct path must be
found and pass its check: a broken fast path fails here (it would silently make training
slower). Only a NumPy on another BLAS skips, and never on CI, whose NumPy is the wheel.
"""
import ctypes
import os
import types

import numpy as np
import pytest

import core._gemm
import core.backprop
from core import Net
from core._gemm import _NO_TRANS, _TRANS, _Gemm, _layout, _openblas_functions, _passes_check, find_gemm
from core.blas import _controller


def _on_ci():
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _direct_gemm_or_fail():
    if find_gemm() is not None:
        return
    if os.environ.get("CORE_DIRECT_GEMM", "1") == "0":
        pytest.skip("the direct BLAS call is switched off (CORE_DIRECT_GEMM=0)")
    openblas = _controller().select(internal_api="openblas").info()
    if openblas:
        pytest.fail(f"NumPy runs on OpenBLAS ({openblas[0]['filepath']}) but the direct gemm was not found "
                    "or failed its check against np.matmul")
    if _on_ci():
        pytest.fail("no OpenBLAS behind NumPy on CI, whose NumPy wheel ships it")
    pytest.skip("no OpenBLAS found behind NumPy: training uses np.matmul only")


def test_the_direct_gemm_is_found_where_numpy_runs_on_openblas():
    _direct_gemm_or_fail()
    assert find_gemm() is not None


@pytest.fixture(scope="module")
def subset(mnist):
    train, _, _ = mnist
    return train.X[:3000], train.y[:3000]


@pytest.mark.parametrize("hidden,optimizer", [("sigmoid", "sgd"), ("relu", "momentum"), ("tanh", "adam")])
def test_direct_gemm_training_matches_numpy(subset, monkeypatch, hidden, optimizer):
    _direct_gemm_or_fail()
    settings = dict(epochs=1, eta=0.5 if optimizer != "adam" else 0.001, batch_size=100, optimizer=optimizer,
                    weight_decay=1.0)
    # 300 hidden units x 100 examples is above the size where the direct call is used
    direct = Net([784, 300, 10], hidden=hidden, init="xavier", seed=3)
    assert core.backprop.Backprop(direct, 100)._gemm is not core.backprop._no_gemm
    direct.fit(subset, **settings)
    monkeypatch.setattr(core.backprop, "find_gemm", lambda: None)
    plain = Net([784, 300, 10], hidden=hidden, init="xavier", seed=3)
    plain.fit(subset, **settings)
    for a, b in zip(direct.weights + direct.biases, plain.weights + plain.biases):
        np.testing.assert_allclose(a, b, rtol=2e-3, atol=2e-5)
    assert direct.history[0]["train_accuracy"] == pytest.approx(plain.history[0]["train_accuracy"], abs=0.01)


# The pieces of core._gemm, tested directly: find_gemm() is cached, so everything behind it runs
# only once per process and the training tests above do not exercise it again.

def _openblas_path():
    _direct_gemm_or_fail()
    return _controller().select(internal_api="openblas").info()[0]["filepath"]


@pytest.fixture
def gemm():
    """A fresh _Gemm on the OpenBLAS NumPy uses (not the cached one from find_gemm)."""
    return _Gemm(_openblas_functions(_openblas_path()))


FLOATS = [np.float32, np.float64]
TOLERANCE = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-12, atol=1e-12)}


def _operands(rng, dtype, m, k, n, transpose_a=False, transpose_b=False, pad=0):
    """a (m x k), b (k x n), c (m x n) C-contiguous; a and b stored transposed if asked, and as views
    of wider arrays (leading dimension larger than the width) when pad > 0."""
    def matrix(rows, cols, transpose):
        stored = rng.standard_normal((cols, rows + pad) if transpose else (rows, cols + pad)).astype(dtype)
        return stored[:, :rows].T if transpose else stored[:, :cols]
    return (matrix(m, k, transpose_a), matrix(k, n, transpose_b),
            rng.standard_normal((m, n)).astype(dtype))


def _reference(a, b, c, alpha, beta):
    return alpha * (a.astype(np.float64) @ b.astype(np.float64)) + beta * c.astype(np.float64)


def test_find_gemm_is_none_when_switched_off(monkeypatch):
    # find_gemm.__wrapped__ is find_gemm without its cache: the cached result the rest of the
    # session uses is left alone
    monkeypatch.setenv("CORE_DIRECT_GEMM", "0")
    assert find_gemm.__wrapped__() is None


def test_find_gemm_returns_a_gemm_that_computes_alpha_ab_plus_beta_c(monkeypatch, rng):
    monkeypatch.delenv("CORE_DIRECT_GEMM", raising=False)
    _direct_gemm_or_fail()
    found = find_gemm.__wrapped__()
    a, b, c = _operands(rng, np.float64, 6, 4, 5)
    expected = _reference(a, b, c, 2.0, -0.5)
    assert found(a, b, c, 2.0, -0.5) is True
    np.testing.assert_allclose(c, expected, **TOLERANCE[np.float64])


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("transpose_a", [False, True])
@pytest.mark.parametrize("transpose_b", [False, True])
@pytest.mark.parametrize("pad", [0, 3])
def test_gemm_computes_alpha_ab_plus_beta_c_in_place(gemm, rng, dtype, transpose_a, transpose_b, pad):
    a, b, c = _operands(rng, dtype, 6, 4, 5, transpose_a, transpose_b, pad)
    expected = _reference(a, b, c, 0.5, -1.25)
    address = c.ctypes.data
    assert gemm(a, b, c, 0.5, -1.25) is True
    assert c.ctypes.data == address and c.dtype == dtype
    np.testing.assert_allclose(c, expected, **TOLERANCE[dtype])


@pytest.mark.parametrize("m,k,n", [(1, 4, 5), (6, 1, 5), (6, 4, 1), (1, 1, 1)])
@pytest.mark.parametrize("transpose_a", [False, True])
def test_gemm_handles_a_dimension_of_one(gemm, rng, m, k, n, transpose_a):
    a, b, c = _operands(rng, np.float64, m, k, n, transpose_a, not transpose_a)
    expected = _reference(a, b, c, 1.0, 1.0)
    assert gemm(a, b, c, 1.0, 1.0) is True
    np.testing.assert_allclose(c, expected, **TOLERANCE[np.float64])


def _refusals():
    """(name, a, b, c) the direct call must refuse: NumPy has to do these products."""
    rng = np.random.default_rng(7)
    a, b, c = _operands(rng, np.float64, 6, 4, 5)
    wide = rng.standard_normal((8, 12))
    return [
        ("float16 everywhere", a.astype(np.float16), b.astype(np.float16), c.astype(np.float16)),
        ("int64 everywhere", a.astype(np.int64), b.astype(np.int64), c.astype(np.int64)),
        ("a int64", (a * 10).astype(np.int64), b, c),
        ("b int64", a, (b * 10).astype(np.int64), c),
        ("a float32", a.astype(np.float32), b, c),
        ("b float32 read as pairs", a, rng.standard_normal((4, 10)).astype(np.float32)[:, ::2], c),
        ("a 1-D", a[0], b, c),
        ("b 1-D", a, b[:, 0], c),
        ("a 3-D", a[None], b, c),
        ("b 3-D", a, b[None], c),
        ("c F-order", a, b, np.asfortranarray(c)),
        ("c a strided view", a, b, wide[:6, :10:2]),
        ("c read-only", a, b, np.frombuffer(c.tobytes(), dtype=c.dtype).reshape(c.shape)),
        ("c one row too many", a, b, np.zeros((7, 5))),
        ("c one column too many", a, b, np.zeros((6, 6))),
        ("b one row too many", a, np.vstack([b, b[:1]]), c),
        ("a every other column", wide[:6, :8:2], b, c),
        ("b every other column", a, wide[:4, :10:2], c),
        ("a every other row and column of an F-order array", np.asfortranarray(wide)[:12:2, :8:2], b, c),
        ("b every other row and column of an F-order array", a, np.asfortranarray(wide)[:8:2, :10:2], c),
        ("a overlapping rows", np.lib.stride_tricks.sliding_window_view(wide[0], 4)[:6], b, c),
        ("b overlapping columns", a, np.lib.stride_tricks.sliding_window_view(wide[0], 4)[:5].T, c),
        ("no rows", wide[:0, :4], b, np.zeros((0, 5))),
        ("no columns", a, wide[:4, :0], np.zeros((6, 0))),
        ("empty inner dimension", wide[:6, :0], wide[:0, :5], c),
    ]


@pytest.mark.parametrize("name,a,b,c", _refusals(), ids=[case[0] for case in _refusals()])
def test_gemm_refuses_arrays_blas_cannot_take_and_leaves_c_alone(gemm, name, a, b, c):
    before = c.copy()
    assert gemm(a, b, c, 0.5, 0.75) is False
    np.testing.assert_array_equal(c, before)


def test_layout_reads_row_major_arrays_without_transposing():
    """The leading dimension is the distance between rows, in elements."""
    wide = np.zeros((5, 7))
    assert _layout(wide, 8) == (_NO_TRANS, 7)
    assert _layout(wide[1:4, 2:5], 8) == (_NO_TRANS, 7)
    assert _layout(np.zeros((4, 1)), 8) == (_NO_TRANS, 1)
    assert _layout(np.zeros((4, 3), dtype=np.float32), 4) == (_NO_TRANS, 3)


def test_layout_reads_column_major_arrays_as_transposed():
    tall = np.zeros((7, 5))
    assert _layout(tall.T, 8) == (_TRANS, 5)
    assert _layout(tall[2:5, 1:4].T, 8) == (_TRANS, 5)
    assert _layout(np.zeros((4, 1)).T, 8) == (_TRANS, 1)
    assert _layout(np.asfortranarray(np.zeros((3, 4), dtype=np.float32)), 4) == (_TRANS, 3)


@pytest.mark.parametrize("name,array", [
    ("every other column", np.zeros((6, 8))[:, ::2]),
    ("every other row and column", np.zeros((6, 8))[::2, ::2]),
    ("every other row and column, F-order", np.asfortranarray(np.zeros((6, 8)))[::2, ::2]),
    ("overlapping rows", np.lib.stride_tricks.sliding_window_view(np.zeros(8), 4)),
    ("overlapping columns", np.lib.stride_tricks.sliding_window_view(np.zeros(8), 4).T),
    ("float32 data read as float64", np.zeros((4, 6), dtype=np.float32)),
])
def test_layout_refuses_strides_blas_cannot_read(name, array):
    assert _layout(array, 8) is None


# OpenBLAS builds NumPy may run on: (symbol prefix, symbol suffix, 64-bit integers).
OPENBLAS_BUILDS = {
    "system or conda OpenBLAS": ("", "", False),
    "NumPy 1.x wheel (openblas64_)": ("", "64_", True),
    "NumPy 2.x wheel (scipy_openblas64_)": ("scipy_", "64_", True),
    "scipy_openblas32": ("scipy_", "", False),
}


class _FakeFunction:
    def __init__(self, result=None):
        self.result = result
        self.argtypes = self.restype = "unset"

    def __call__(self, *args):
        return self.result


def _fake_ctypes(monkeypatch, symbols):
    """Make core._gemm load a fake library holding only `symbols` (name -> _FakeFunction)."""
    library = types.SimpleNamespace(**symbols)
    fake = types.SimpleNamespace(CDLL=lambda path: library, c_char_p=ctypes.c_char_p, c_int=ctypes.c_int,
                                 c_int64=ctypes.c_int64, c_float=ctypes.c_float, c_double=ctypes.c_double,
                                 c_void_p=ctypes.c_void_p)
    monkeypatch.setattr(core._gemm, "ctypes", fake)
    return library


def _prototype(integer, scalar):
    """cblas_?gemm(order, transa, transb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc)."""
    return [integer] * 6 + [scalar, ctypes.c_void_p, integer, ctypes.c_void_p, integer, scalar, ctypes.c_void_p,
                            integer]


@pytest.mark.parametrize("build", list(OPENBLAS_BUILDS))
def test_openblas_functions_finds_both_gemms_in_every_openblas_build(monkeypatch, build):
    prefix, suffix, int64 = OPENBLAS_BUILDS[build]
    config = b"OpenBLAS 0.3.27 " + (b"USE64BITINT " if int64 else b"") + b"DYNAMIC_ARCH NO_AFFINITY Haswell"
    library = _fake_ctypes(monkeypatch, {f"{prefix}openblas_get_config{suffix}": _FakeFunction(config),
                                         f"{prefix}cblas_sgemm{suffix}": _FakeFunction(),
                                         f"{prefix}cblas_dgemm{suffix}": _FakeFunction()})
    functions = _openblas_functions("libopenblas.so")
    integer = ctypes.c_int64 if int64 else ctypes.c_int
    assert set(functions) == {np.dtype(np.float32), np.dtype(np.float64)}
    for dtype, letter, scalar in ((np.float32, "s", ctypes.c_float), (np.float64, "d", ctypes.c_double)):
        function, entry_scalar = functions[np.dtype(dtype)]
        assert function is getattr(library, f"{prefix}cblas_{letter}gemm{suffix}")
        assert entry_scalar is scalar
        assert function.argtypes == _prototype(integer, scalar)
        assert function.restype is None


def test_openblas_functions_keeps_the_gemm_a_library_has(monkeypatch):
    _fake_ctypes(monkeypatch, {"openblas_get_config": _FakeFunction(b"OpenBLAS 0.3.27"),
                               "cblas_dgemm": _FakeFunction()})
    assert set(_openblas_functions("libopenblas.so")) == {np.dtype(np.float64)}


def test_openblas_functions_finds_nothing_in_a_library_that_is_not_openblas(monkeypatch):
    _fake_ctypes(monkeypatch, {"cblas_sgemm": _FakeFunction(), "cblas_dgemm": _FakeFunction()})
    assert _openblas_functions("libblas.so") == {}


def test_openblas_functions_declares_numpys_openblas_with_its_integer_width(rng):
    path = _openblas_path()
    library = ctypes.CDLL(path)
    configs = [getattr(library, f"{prefix}openblas_get_config{suffix}", None)
               for prefix in ("", "scipy_") for suffix in ("", "64_")]
    get_config = next(function for function in configs if function is not None)
    get_config.restype = ctypes.c_char_p
    integer = ctypes.c_int64 if b"USE64BITINT" in get_config() else ctypes.c_int
    functions = _openblas_functions(path)
    assert set(functions) == {np.dtype(np.float32), np.dtype(np.float64)}
    for dtype, scalar in ((np.float32, ctypes.c_float), (np.float64, ctypes.c_double)):
        function, entry_scalar = functions[np.dtype(dtype)]
        assert entry_scalar is scalar
        assert function.argtypes == _prototype(integer, scalar)
        assert function.restype is None


def test_passes_check_accepts_numpys_openblas(gemm):
    assert _passes_check(gemm) is True


def _wrong(gemm, dtypes=FLOATS, error=1e-2, when=lambda a, b: True):
    """gemm, but its result is off by `error` for `dtypes` when `when(a, b)`; it has only `dtypes`."""
    dtypes = [np.dtype(dtype) for dtype in dtypes]

    def call(a, b, c, alpha, beta):
        done = gemm(a, b, c, alpha, beta)
        if done and when(a, b):
            c += error
        return done
    call._functions = {dtype: entry for dtype, entry in gemm._functions.items() if dtype in dtypes}
    return call


@pytest.mark.parametrize("case,dtypes,error,when", [
    ("float32 and float64 off by 1e-2", FLOATS, 1e-2, lambda a, b: True),
    ("float32 off by 1e-2", [np.float32], 1e-2, lambda a, b: True),
    ("float64 off by 1e-10 (single precision is not enough)", [np.float64], 1e-10, lambda a, b: True),
    ("wrong when a is row-major", FLOATS, 1e-2, lambda a, b: a.flags.c_contiguous),
    ("wrong when a is transposed", FLOATS, 1e-2, lambda a, b: not a.flags.c_contiguous),
    ("wrong when b is row-major", FLOATS, 1e-2, lambda a, b: b.flags.c_contiguous),
    ("wrong when b is transposed", FLOATS, 1e-2, lambda a, b: not b.flags.c_contiguous),
])
def test_passes_check_rejects_a_gemm_that_is_wrong(gemm, case, dtypes, error, when):
    assert _passes_check(_wrong(gemm, dtypes, error, when)) is False


@pytest.mark.parametrize("dtype", FLOATS)
def test_passes_check_accepts_a_right_gemm_for_one_dtype(gemm, dtype):
    assert _passes_check(_wrong(gemm, [dtype], error=0.0)) is True
