"""``comet_ml.integration.sklearn``: ``log_model`` / ``load_model`` with pickle."""

from __future__ import annotations

import pickle
from typing import Any

from . import local_path, log_saved


def log_model(experiment: Any, model_name: str, model: Any,
              metadata: dict[str, Any] | None = None, persistence_module: Any = None,
              **persistence_args: Any) -> None:
    """Comet's order of arguments: the experiment, the name, the model."""
    module = persistence_module or pickle
    log_saved(experiment, model_name, "comet-sklearn-model.pkl",
              lambda handle: module.dump(model, handle, **persistence_args), metadata,
              order="sklearn.log_model takes the experiment, the name, then the model; "
                    "pytorch.log_model the model before the name")


def load_model(uri: str, persistence_module: Any = None, **persistence_args: Any) -> Any:
    module = persistence_module or pickle
    with open(local_path(uri, "sklearn"), "rb") as handle:
        return module.load(handle, **persistence_args)
