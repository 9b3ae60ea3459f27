"""Comet Experiment methods that mean nothing offline: named one by one, never guessed.

Each name below becomes a real method of `Experiment` (so ``dir()`` and
``hasattr`` see it, and a misspelled name is still an ``AttributeError``):

* a **no-op** warns once per process ("COMET WARNING: ... does nothing offline")
  and returns None, so a Comet script keeps running;
* a **refused** method raises `OptimizerException` naming what it needs
  (Comet's server), because silently returning nothing would break the
  script later in a less clear place.

docs/compatibility.md lists them with everything implemented; a test keeps
the two in step.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from comet_optimize import messages
from comet_optimize.errors import OptimizerException

NO_OPS: dict[str, str] = {
    "clean": "there is no upload queue to clean",
    "create_embedding_image": "embedding images are a Comet UI feature",
    "create_symlink": "projects are kept by Comet's server (the experiment stays in its "
                      "search's folder)",
    "disable_mp": "there is no monkey-patching besides Keras auto-logging "
                  "(auto_metric_logging=False turns that off)",
    "display": "there is no Comet page to display (see experiment.url for its folder)",
    "display_project": "there is no Comet project page to display",
    "log_dataframe_profile": "dataframe profiles are rendered by Comet's server",
    "log_dependency": "dependencies are not recorded (log_other keeps a value)",
    "log_embedding": "embeddings are a Comet UI feature",
    "register_callback": "remote calls come from Comet's web page",
    "register_model": "the model registry is on Comet's server (log_model keeps the files)",
    "send_notification": "notifications are sent by Comet's server",
    "set_cmd_args": "command-line arguments are not recorded",
    "set_offline_zip_uploader": "nothing is uploaded",
    "set_os_packages": "OS packages are not recorded",
    "set_pip_packages": "pip packages are not recorded",
    "unregister_callback": "remote calls come from Comet's web page",
}

REFUSED: dict[str, str] = {
    "get_artifact": "artifacts live on Comet's server",
    "log_artifact": "artifacts live on Comet's server (log_asset / log_model store files "
                    "offline)",
}

_warned: set[str] = set()
_warned_lock = threading.Lock()


def no_op(name: str, reason: str) -> Callable[..., None]:
    def method(self: Any, *args: Any, **kwargs: Any) -> None:
        with _warned_lock:
            first = name not in _warned
            _warned.add(name)
        if first:
            messages.warning(f"Experiment.{name}() does nothing offline: {reason}")

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"Comet's ``{name}``: does nothing offline ({reason}); warns once."
    return method


def refused(name: str, reason: str) -> Callable[..., Any]:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise OptimizerException(f"Experiment.{name}() is not available offline: {reason}")

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"Comet's ``{name}``: refused offline ({reason})."
    return method


def install(cls: type) -> None:
    for name, reason in NO_OPS.items():
        setattr(cls, name, no_op(name, reason))
    for name, reason in REFUSED.items():
        setattr(cls, name, refused(name, reason))
