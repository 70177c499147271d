"""C <- alpha A B + beta C by calling the BLAS that NumPy itself uses.

``np.matmul`` cannot add into its output, so an SGD step W <- W - (eta/m) D^T A
costs a matrix product into a buffer plus a whole extra pass over W (for a
784 x 800 layer that pass is a third of the product's time). BLAS's gemm has
the beta argument that folds the step into the product. NumPy does not expose
it, so this module finds the OpenBLAS library NumPy loaded (through
threadpoolctl), calls its ``cblas_?gemm`` with ctypes, and checks it against
``np.matmul`` once. If anything is missing or different (another BLAS, a
failed check, ``CORE_DIRECT_GEMM=0`` in the environment), ``gemm`` is None and
callers use NumPy. Training is then only slower, never different.
"""
import ctypes
import functools
import os

import numpy as np

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


def _layout(a, itemsize):
    """(transpose flag, leading dimension) of a 2-D array BLAS can read in place, else None."""
    s0, s1 = a.strides
    rows, cols = a.shape
    if s1 == itemsize and s0 % itemsize == 0 and s0 >= max(cols, 1) * itemsize:
        return _NO_TRANS, s0 // itemsize
    if s0 == itemsize and s1 % itemsize == 0 and s1 >= max(rows, 1) * itemsize:
        return _TRANS, s1 // itemsize
    return None


class _Gemm:
    def __init__(self, functions):
        self._functions = functions  # dtype -> (ctypes function, scalar type)

    def __call__(self, a, b, c, alpha, beta):
        """c = alpha a @ b + beta c in place; False (c untouched) when the arrays do not suit."""
        entry = self._functions.get(c.dtype)
        if (entry is None or a.dtype != c.dtype or b.dtype != c.dtype or a.ndim != 2 or b.ndim != 2
                or not c.flags.c_contiguous or not c.flags.writeable):
            return False
        (m, k), (k2, n) = a.shape, b.shape
        if c.shape != (m, n) or k2 != k or 0 in (m, n, k):
            return False
        itemsize = c.itemsize
        layout_a, layout_b = _layout(a, itemsize), _layout(b, itemsize)
        if layout_a is None or layout_b is None:
            return False
        function, _ = entry
        function(_ROW_MAJOR, layout_a[0], layout_b[0], m, n, k, alpha, a.ctypes.data, layout_a[1],
                 b.ctypes.data, layout_b[1], beta, c.ctypes.data, n)
        return True


def _openblas_functions(path):
    library = ctypes.CDLL(path)
    for prefix in ("", "scipy_"):
        for suffix in ("", "64_"):
            get_config = getattr(library, f"{prefix}openblas_get_config{suffix}", None)
            if get_config is None:
                continue
            get_config.restype = ctypes.c_char_p
            integer = ctypes.c_int64 if b"USE64BITINT" in (get_config() or b"") else ctypes.c_int
            functions = {}
            for dtype, letter, scalar in ((np.dtype(np.float32), "s", ctypes.c_float),
                                          (np.dtype(np.float64), "d", ctypes.c_double)):
                function = getattr(library, f"{prefix}cblas_{letter}gemm{suffix}", None)
                if function is None:
                    continue
                function.argtypes = [integer] * 6 + [scalar, ctypes.c_void_p, integer, ctypes.c_void_p, integer,
                                                     scalar, ctypes.c_void_p, integer]
                function.restype = None
                functions[dtype] = (function, scalar)
            return functions
    return {}


def _passes_check(gemm):
    rng = np.random.default_rng(0)
    for dtype, tolerance in ((np.float32, 1e-4), (np.float64, 1e-12)):
        if np.dtype(dtype) not in gemm._functions:
            continue
        for transpose_a in (False, True):
            for transpose_b in (False, True):
                a = rng.standard_normal((7, 5) if transpose_a else (5, 7)).astype(dtype)
                b = rng.standard_normal((3, 7) if transpose_b else (7, 3)).astype(dtype)
                a, b = (a.T if transpose_a else a), (b.T if transpose_b else b)
                c = rng.standard_normal((5, 3)).astype(dtype)
                expected = 0.5 * (a @ b) + 0.75 * c
                if not gemm(a, b, c, 0.5, 0.75) or not np.allclose(c, expected, rtol=tolerance, atol=tolerance):
                    return False
    return True


@functools.lru_cache(maxsize=1)
def find_gemm():
    """The checked direct gemm, or None."""
    if os.environ.get("CORE_DIRECT_GEMM", "1") == "0":
        return None
    try:
        from .blas import _controller

        for info in _controller().select(internal_api="openblas").info():
            functions = _openblas_functions(info["filepath"])
            if functions:
                gemm = _Gemm(functions)
                return gemm if _passes_check(gemm) else None
    except Exception:  # any surprise in a foreign library means: use NumPy
        return None
    return None
