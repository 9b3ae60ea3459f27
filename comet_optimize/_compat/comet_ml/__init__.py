"""comet_optimize under Comet's module name, for scripts that ``import comet_ml``.

Importable only where this folder's parent is on the path (``comet optimize``
puts it there for its workers when no real comet_ml is installed;
``python -m comet_optimize run SCRIPT`` does the same for one script). The
names are resolved lazily, so ``import comet_ml`` stays as cheap as
``import comet_optimize``; a name Comet has and we do not is an AttributeError.
"""

from __future__ import annotations

from typing import Any

from comet_optimize import __version__
from comet_optimize.errors import InvalidOptimizerParameters, OptimizerException

from . import exceptions

__all__ = [
    "Experiment",
    "InvalidOptimizerParameters",
    "OfflineExperiment",
    "Optimizer",
    "OptimizerException",
    "__version__",
    "exceptions",
    "init",
    "login",
]

#: Lets a script (or a test) tell this module from Comet's own.
__comet_optimize__ = True


def init(*args: Any, **kwargs: Any) -> None:
    """Comet's ``comet_ml.init()`` asks for an API key; offline there is none to ask for."""


def login(*args: Any, **kwargs: Any) -> None:
    """Comet's ``comet_ml.login()``: nothing to log in to offline."""


def __getattr__(name: str) -> Any:
    if name == "Optimizer":
        from comet_optimize.optimizer import Optimizer

        return Optimizer
    if name in ("Experiment", "OfflineExperiment"):
        from comet_optimize.experiment import Experiment

        return Experiment
    raise AttributeError(f"module 'comet_ml' (comet_optimize's offline stand-in) has no "
                         f"attribute {name!r}")
