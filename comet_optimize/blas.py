"""One BLAS thread for our own small matrices, while a bayes decision runs.

OpenBLAS runs a thread per core and keeps them spinning between calls; on the
Gaussian process's 64 x 64 matrices they cost far more than they save: 120
bayes suggestions (6-D) took 12.1 s instead of 4.0 s on a two-core machine.
The launcher gives its workers a share of the cores (``OMP_NUM_THREADS``...), but
a script that runs the optimizer itself gets every core, and its own numpy work
must keep them. So the limit holds during a decision only, and is then put back.
The calls are ``*_set_num_threads_local`` (OpenBLAS 0.3.27 and later, MKL), which
return the previous value; OpenBLAS's applies to the whole process, so decisions
in several threads at once share one save and the last to finish restores it. A
library without such a call is left as it is.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import threading
from collections.abc import Callable, Iterator

# Each returns the calling thread's previous setting, which restores it.
_LOCAL_SETTERS = ("openblas_set_num_threads_local", "mkl_set_num_threads_local")
# Builds without those (numpy 2.5's OpenBLAS exports only its prefixed names): a getter
# and a setter, process-wide as OpenBLAS's local call is anyway.
_GET_AND_SET = (("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
                ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
                ("openblas_get_num_threads", "openblas_set_num_threads"))
_MARKERS = ("openblas", "mkl_rt", "libmkl")

_lock = threading.Lock()
_setters: list[Callable[[int], int]] = []
_scanned_with = -1  # len(sys.modules) at the last look: an import may load a library
_inside = 0  # decisions under way in this process
_saved: list[tuple[Callable[[int], int], int]] = []


def _loaded_libraries() -> set[str]:
    paths = set()
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            for line in maps:
                fields = line.split(None, 5)
                if len(fields) == 6:  # address, mode, offset, device, inode, path
                    paths.add(fields[5].strip())
    except OSError:  # not Linux: nothing is changed
        return set()
    return {path for path in paths
            if path.startswith("/") and any(mark in os.path.basename(path).lower()
                                             for mark in _MARKERS)}


def _find_setters() -> list[Callable[[int], int]]:
    found = []
    for path in sorted(_loaded_libraries()):
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for name in _LOCAL_SETTERS:
            setter = getattr(library, name, None)
            if setter is not None:
                setter.restype, setter.argtypes = ctypes.c_int, [ctypes.c_int]
                found.append(setter)
                break
        else:
            for get_name, set_name in _GET_AND_SET:
                get, put = getattr(library, get_name, None), getattr(library, set_name, None)
                if get is not None and put is not None:
                    found.append(_swapper(get, put))
                    break
    return found


def _swapper(get: Callable[[], int], put: Callable[[int], None]) -> Callable[[int], int]:
    """A setter that returns the previous value, from a getter and a plain setter."""
    get.restype, get.argtypes = ctypes.c_int, []
    put.restype, put.argtypes = None, [ctypes.c_int]

    def swap(threads: int) -> int:
        previous = get()
        put(threads)
        return previous

    return swap


def _current_setters() -> list[Callable[[int], int]]:
    """Called with ``_lock`` held."""
    global _setters, _scanned_with
    if _scanned_with != len(sys.modules):
        try:
            found = _find_setters()
        except Exception:  # noqa: BLE001 - a speed-up never stops a decision
            found = []
        _setters, _scanned_with = found, len(sys.modules)
    return _setters


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """BLAS calls inside the block use one thread; the previous setting comes back after."""
    global _inside, _saved
    with _lock:
        if _inside == 0:
            _saved = [(setter, setter(1)) for setter in _current_setters()]
        _inside += 1
    try:
        yield
    finally:
        with _lock:
            _inside -= 1
            if _inside == 0:
                for setter, value in _saved:
                    setter(value)
                _saved = []
