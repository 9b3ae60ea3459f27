"""``comet_ml.integration.pytorch``: ``log_model`` / ``load_model`` with ``torch.save``."""

from __future__ import annotations

from typing import Any

from . import local_path, log_saved


def log_model(experiment: Any, model: Any, model_name: str = "comet-torch-model",
              metadata: dict[str, Any] | None = None, pickle_module: Any = None,
              **torch_save_args: Any) -> None:
    """Comet's order of arguments: the experiment, the model (or its state_dict), the name."""
    import torch

    if pickle_module is not None:
        torch_save_args["pickle_module"] = pickle_module
    log_saved(experiment, model_name, "comet-torch-model.pth",
              lambda handle: torch.save(model, handle, **torch_save_args), metadata,
              order="pytorch.log_model takes the experiment, the model, then the name; "
                    "sklearn.log_model the name before the model")


def load_model(uri: str, map_location: Any = None, pickle_module: Any = None,
               **torch_load_args: Any) -> Any:
    import torch

    if pickle_module is not None:
        torch_load_args["pickle_module"] = pickle_module
    return torch.load(local_path(uri, "pytorch"), map_location=map_location, **torch_load_args)
