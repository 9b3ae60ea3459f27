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
    "ExistingExperiment",
    "Experiment",
    "ExperimentConfig",
    "InvalidOptimizerParameters",
    "OfflineExperiment",
    "Optimizer",
    "OptimizerException",
    "__version__",
    "exceptions",
    "get_global_experiment",
    "get_running_experiment",
    "init",
    "login",
    "start",
]

#: Lets a script (or a test) tell this module from Comet's own.
__comet_optimize__ = True


def init(*args: Any, **kwargs: Any) -> None:
    """Comet's ``comet_ml.init()`` asks for an API key; offline there is none to ask for."""


def login(*args: Any, **kwargs: Any) -> None:
    """Comet's ``comet_ml.login()``: nothing to log in to offline."""


class ExperimentConfig:
    """Comet's settings for `start()`; offline only the name and the tags mean anything."""

    def __init__(self, **settings: Any):
        self.settings = settings


_running: list[Any] = []  # the experiment start() made last, as Comet keeps one


def start(api_key: str | None = None, workspace: str | None = None,
          project_name: str | None = None, mode: str | None = None,
          online: bool | None = None, experiment_key: str | None = None,
          experiment_config: ExperimentConfig | None = None, **_: Any) -> Any:
    """Comet's newer way to make an experiment: here always a new offline one."""
    from comet_optimize.errors import OptimizerException
    from comet_optimize.experiment import Experiment

    if experiment_key is not None or mode == "get":
        raise OptimizerException(
            "comet_ml.start(experiment_key=..., mode='get') continues an experiment kept on "
            "Comet's server; offline there is none: start a new one, or use the "
            "optimizer's get_experiments()")
    settings = experiment_config.settings if experiment_config is not None else {}
    experiment = Experiment(project_name=project_name, workspace=workspace)
    if settings.get("name"):
        experiment.set_name(settings["name"])
    for tag in settings.get("tags") or ():
        experiment.add_tag(tag)
    _running[:] = [experiment]
    return experiment


def get_running_experiment() -> Any:
    """The experiment `start()` made last, while it has not ended; else None."""
    return _running[0] if _running and not _running[0].ended else None


get_global_experiment = get_running_experiment


class ExistingExperiment:
    """Comet's handle on an experiment kept on its server: nothing to reopen offline."""

    def __init__(self, *args: Any, **kwargs: Any):
        from comet_optimize.errors import OptimizerException

        raise OptimizerException(
            "comet_ml.ExistingExperiment reopens an experiment kept on Comet's server; "
            "offline there is none: use Experiment(), or the optimizer's get_experiments()")


def __getattr__(name: str) -> Any:
    if name == "Optimizer":
        from comet_optimize.optimizer import Optimizer

        return Optimizer
    if name in ("Experiment", "OfflineExperiment"):
        from comet_optimize.experiment import Experiment

        return Experiment
    raise AttributeError(f"module 'comet_ml' (comet_optimize's offline stand-in) has no "
                         f"attribute {name!r}")
