"""``import comet_ml`` for scripts written for Comet, without shadowing a real Comet.

This folder (not the package) goes first on a worker's ``PYTHONPATH``, so that
its ``comet_ml`` subfolder becomes importable as the top-level ``comet_ml``.
Nothing named ``comet_ml`` is installed into site-packages: a script run with
plain ``python`` still gets ``ModuleNotFoundError``, and a real ``comet_ml``
installation is used unless the user asks for ours explicitly
(``comet optimize --comet-ml-shim`` / ``python -m comet_optimize run``).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

FOLDER = os.path.dirname(os.path.abspath(__file__))

#: What ``comet_ml.config`` answers for the API key, and ``COMET_API_KEY`` in the
#: environment of a script run with the shim, when the user set none.
OFFLINE_API_KEY = "offline (comet_optimize needs no API key)"

_PROBE = ("import importlib.util, sys\n"
          "sys.exit(0 if importlib.util.find_spec('comet_ml') else 3)\n")


def real_comet_ml_installed(executable: str | None = None,
                            env: dict[str, str] | None = None) -> bool:
    """Whether ``executable`` (default: this interpreter) imports a comet_ml of its own.

    Another interpreter is asked in a subprocess; one that is not Python at all
    (``-e bash``) has no comet_ml of its own, which counts as not installed.
    """
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = without_shim(env.get("PYTHONPATH", ""))
    if executable is None or os.path.abspath(executable) == os.path.abspath(sys.executable):
        try:
            spec = importlib.util.find_spec("comet_ml")
        except (ImportError, ValueError):
            return True  # something named comet_ml is there, if broken: leave it be
        return spec is not None and not (spec.origin or "").startswith(FOLDER + os.sep)
    try:
        probe = subprocess.run([executable, "-c", _PROBE], env=env, timeout=60,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def without_shim(pythonpath: str) -> str:
    return os.pathsep.join(p for p in pythonpath.split(os.pathsep)
                           if p and os.path.abspath(p) != FOLDER)


def with_shim(env: dict[str, str]) -> dict[str, str]:
    """``env`` with the shim folder first on PYTHONPATH (once), and a stand-in
    ``COMET_API_KEY`` when none is set: a Comet user always has one, and scripts read it
    as ``os.environ["COMET_API_KEY"]`` (a KeyError offline); ours needs none."""
    rest = without_shim(env.get("PYTHONPATH", ""))
    shimmed = {**env, "PYTHONPATH": FOLDER + (os.pathsep + rest if rest else "")}
    if not shimmed.get("COMET_API_KEY"):
        shimmed["COMET_API_KEY"] = OFFLINE_API_KEY
    return shimmed
