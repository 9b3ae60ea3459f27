"""The report's optional dependencies, checked before any work with one clear sentence."""

from __future__ import annotations

import importlib

INSTALL = "pip install 'comet_optimize[report]'"
_MODULES = {"plotly": "plotly", "sklearn": "scikit-learn"}


class MissingExtra(Exception):
    """A command needs the ``report`` extra and it is not installed."""


def require() -> None:
    """Raise `MissingExtra` naming what to install when plotly or scikit-learn is missing."""
    missing = []
    for module, package in _MODULES.items():
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(package)
    if missing:
        raise MissingExtra(f"this needs {' and '.join(missing)}, which are not installed: "
                           f"{INSTALL}")
