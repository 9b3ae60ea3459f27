"""``comet_ml.integration``: Comet's per-framework model logging, offline.

Each ``log_model`` saves the model the way its framework does, into a file
that `Experiment.log_model` then copies under the experiment's folder
(``model/<name>/``). Loading back from Comet's server (``experiment://``,
``registry://`` URIs) is refused in one sentence; a local path loads.
"""

from __future__ import annotations

import numbers
import os
import tempfile
from collections.abc import Callable
from typing import Any, BinaryIO

from comet_optimize import encoding
from comet_optimize.errors import OptimizerException

__all__ = ["pytorch", "sklearn"]


def log_saved(experiment: Any, model_name: str, file_name: str,
              save: Callable[[BinaryIO], None], metadata: dict[str, Any] | None,
              order: str = "") -> None:
    """Write the model with ``save`` into ``file_name`` and log it as ``model_name``.

    A name that is no name (the model, passed in another integration's order of
    arguments) is data the call cannot use: one warning, nothing stored, and the
    trial goes on with what it logged, as for any logging call."""
    if experiment is None or not hasattr(experiment, "log_model"):
        raise OptimizerException(f"log_model: the first argument must be the experiment "
                                 f"(got {type(experiment).__name__})")
    if not isinstance(model_name, (str, numbers.Number)):
        refused = encoding.Refused(
            "log_model", f"log_model: the model name must be a string, not "
                         f"{type(model_name).__name__} ({order}), so nothing was stored")
        warn = getattr(experiment, "_refused", None)
        if warn is None:
            raise refused
        warn(refused)
        return
    with tempfile.TemporaryDirectory(prefix="comet-model-") as folder:
        path = os.path.join(folder, file_name)
        with open(path, "wb") as handle:
            save(handle)
        experiment.log_model(model_name, path, metadata=metadata)


def local_path(uri: str, framework: str) -> str:
    """A model URI that names a local file; Comet's server URIs are refused."""
    path = uri[len("file://"):] if uri.startswith("file://") else uri
    if "://" in path or not os.path.isfile(path):
        raise OptimizerException(
            f"{framework}.load_model({uri!r}): offline only a local file can be loaded (the "
            f"models logged here are under the experiment's folder, see experiment.url)")
    return path
