"""comet_optimize under Comet's module name, for scripts that ``import comet_ml``.

Importable only where this folder's parent is on the path (``comet optimize``
puts it there for its workers when no real comet_ml is installed;
``python -m comet_optimize run SCRIPT`` does the same for one script). The
names are resolved lazily, so ``import comet_ml`` stays as cheap as
``import comet_optimize``; a name Comet has and we do not is an AttributeError.
"""

from __future__ import annotations

from typing import Any

from comet_optimize import __version__, autolog
from comet_optimize.errors import InvalidOptimizerParameters, OptimizerException

from . import exceptions

# As Comet's SDK, wrap the training libraries a script imports after comet_ml (the
# functions it imports by name included), not only once an experiment exists.
autolog.prepare()

__all__ = [
    "API",
    "APIExperiment",
    "Artifact",
    "CometExperiment",
    "ConfusionMatrix",
    "ExistingExperiment",
    "ExistingOfflineExperiment",
    "Experiment",
    "ExperimentBase",
    "ExperimentConfig",
    "InvalidOptimizerParameters",
    "OfflineExperiment",
    "Optimizer",
    "OptimizerException",
    "__version__",
    "end",
    "exceptions",
    "experiment",
    "flush",
    "get_global_experiment",
    "get_running_experiment",
    "init",
    "integration",
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
    """Comet's settings for `start()`; offline only the name, the tags and the
    ``optimizer_data`` of an assignment mean anything.

    Comet's has a field for each setting, None when not given, and integrations
    read them (PyTorch Lightning's CometLogger reads ``offline_directory``).
    """

    def __init__(self, **settings: Any):
        self.settings = settings

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name == "settings":
            raise AttributeError(name)
        return self.settings.get(name)


_running: list[Any] = []  # the experiment start() made last, as Comet keeps one


def start(api_key: str | None = None, workspace: str | None = None,
          project_name: str | None = None, mode: str | None = None,
          online: bool | None = None, experiment_key: str | None = None,
          experiment_config: ExperimentConfig | None = None, project: str | None = None,
          **_: Any) -> Any:
    """Comet's newer way to make an experiment, offline: the running experiment when
    its settings match (see `_same_experiment`), else a new one, after ending the
    running one; the handle of an optimizer's assignment when the config carries its
    ``optimizer_data`` (as PyTorch Lightning's ``CometLogger(optimizer_data=...)``)."""
    from comet_optimize.errors import OptimizerException
    from comet_optimize.experiment import Experiment

    if experiment_key is not None:
        from comet_optimize.experiment import open_in_this_process

        running = open_in_this_process(experiment_key)
        if running is not None:  # another handle on the script's running experiment
            _running[:] = [running]
            return running
    if experiment_key is not None or mode == "get":
        raise OptimizerException(
            "comet_ml.start(experiment_key=..., mode='get') continues an experiment kept on "
            "Comet's server; offline there is none: start a new one, or use the "
            "optimizer's get_experiments()")
    if isinstance(experiment_config, dict):  # a dict says what an ExperimentConfig says
        experiment_config = ExperimentConfig(**experiment_config)
    if experiment_config is not None and not isinstance(experiment_config, ExperimentConfig):
        raise OptimizerException(f"comet_ml.start(experiment_config=...) takes a "
                                 f"comet_ml.ExperimentConfig, not "
                                 f"{type(experiment_config).__name__}")
    settings = experiment_config.settings if experiment_config is not None else {}
    project_name = project_name or project
    from comet_optimize.experiment import running_in_this_thread

    # As Comet's, the newest experiment made is the running one; here, only the calling
    # thread's own (another thread's trial is not this one's to log to, or to end).
    running = running_in_this_thread()
    if running is not None:
        if mode != "create" and _same_experiment(running, settings.get("optimizer_data"),
                                                 project_name, workspace):
            return running
        # As Comet does, a start() for another experiment ends the running one. With
        # PyTorch Lightning's CometLogger in an optimizer loop (it never ends its
        # experiment) each result then reaches the search when the next trial starts,
        # not when the process exits: bayes learns from it during the run.
        running.end()
    experiment = Experiment(optimizer_data=settings.get("optimizer_data"),
                            project_name=project_name, workspace=workspace)
    if settings.get("name"):
        experiment.set_name(settings["name"])
    if settings.get("tags"):
        experiment.add_tags(settings["tags"])
    _running[:] = [experiment]
    return experiment


def _same_experiment(running: Any, optimizer_data: Any, project_name: str | None,
                     workspace: str | None) -> bool:
    """Would Comet's start() hand back the running experiment (its key settings match)?

    Without an assignment of its own, a start() inside an optimizer's loop (Hugging
    Face's Comet callback makes one) logs to the loop's experiment, as with Comet.
    """
    if (project_name or running.project_name) != running.project_name:
        return False
    if (workspace or running.workspace) != running.workspace:
        return False
    if optimizer_data is None:
        return True
    if not isinstance(optimizer_data, dict) or running.count is None:
        return False
    return (optimizer_data.get("count") == running.count
            and (optimizer_data.get("optimizer_id") or optimizer_data.get("id"))
            == running.others.get("optimizer_id"))


def get_running_experiment() -> Any:
    """The experiment `start()` made last while it is open, else (as Comet, which
    keeps the newest experiment of the process) the newest open one this process
    made, in any thread; else None."""
    if _running and not _running[0].ended:
        return _running[0]
    from comet_optimize.experiment import running_in_this_thread

    return running_in_this_thread(any_thread=True)


get_global_experiment = get_running_experiment


def end() -> None:
    """Comet's ``comet_ml.end()``: ends the running experiment, if there is one."""
    experiment = get_running_experiment()
    if experiment is not None:
        experiment.end()


def flush() -> bool:
    """Comet's ``comet_ml.flush()``: offline everything is written when logged."""
    return True


def _server_only(name: str, instead: str) -> type:
    """A class Comet's server backs: importable, refused in one sentence when made."""

    def refuse(self: Any, *args: Any, **kwargs: Any) -> None:
        from comet_optimize.errors import OptimizerException

        raise OptimizerException(f"comet_ml.{name} reads from Comet's server; offline there "
                                 f"is none: {instead}")

    return type(name, (), {"__init__": refuse, "__doc__": f"Comet's {name}: refused."})


_READ_RESULTS = ("read results with 'comet optimize export' / 'status', or "
                 "Optimizer.experiments()")
API = _server_only("API", _READ_RESULTS)
APIExperiment = _server_only("APIExperiment", _READ_RESULTS)
Artifact = _server_only("Artifact", "store files with log_asset / log_model")
ExistingOfflineExperiment = _server_only(
    "ExistingOfflineExperiment", "use Experiment(), or the optimizer's get_experiments()")


class ExistingExperiment:
    """Comet's handle on an experiment kept on its server: nothing to reopen offline,
    except an experiment this process is running, named by its key (``previous_experiment=``
    or ``experiment_key=``): another handle on it (`experiment.KeyedHandle`)."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        from comet_optimize.experiment import open_in_this_process

        key = kwargs.get("experiment_key") or kwargs.get("previous_experiment")
        if key is None and len(args) > 1:  # Comet's (api_key, previous_experiment, ...)
            key = args[1]
        running = open_in_this_process(key) if key is not None else None
        if running is not None:
            return running
        return super().__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any):
        from comet_optimize.errors import OptimizerException

        raise OptimizerException(
            "comet_ml.ExistingExperiment reopens an experiment kept on Comet's server; "
            "offline there is none: use Experiment(), or the optimizer's get_experiments()")


def __getattr__(name: str) -> Any:
    if name == "Optimizer":
        from comet_optimize.optimizer import Optimizer

        return Optimizer
    # CometExperiment and ExperimentBase are the types comet_ml.start() returns: scripts
    # name them in annotations and isinstance checks.
    if name in ("Experiment", "OfflineExperiment", "CometExperiment", "ExperimentBase"):
        from comet_optimize.experiment import Experiment

        return Experiment
    if name == "ConfusionMatrix":
        from comet_optimize.media import ConfusionMatrix

        return ConfusionMatrix
    # submodules, on first use
    if name in ("integration", "config", "api", "exceptions", "experiment"):
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'comet_ml' (comet_optimize's offline stand-in) has no "
                         f"attribute {name!r}")
