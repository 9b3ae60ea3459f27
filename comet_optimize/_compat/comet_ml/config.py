"""Comet's ``comet_ml.config``: the settings integrations read before they log.

Offline there is no API key to configure, yet Hugging Face's Trainer turns its
Comet callback on only when ``get_config("comet.api_key")`` is set, and
scripts read the project or workspace from here. A setting comes from its
``COMET_*`` environment variable, as with Comet; the API key, when unset,
is a stand-in that says it is not needed.
"""

from __future__ import annotations

import os
from typing import Any

from comet_optimize._compat import OFFLINE_API_KEY

_DEFAULTS: dict[str, Any] = {"comet.api_key": OFFLINE_API_KEY, "comet.offline": True}


class Config:
    """Answers ``config["comet.section.name"]`` from ``COMET_SECTION_NAME``, else None."""

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def get(self, name: str, default: Any = None) -> Any:
        if not isinstance(name, str):
            return default
        variable = name.upper().replace(".", "_")
        if not variable.startswith("COMET_"):
            variable = "COMET_" + variable
        value = os.environ.get(variable)
        if value is not None:
            return value
        return _DEFAULTS.get(name, default)

    def get_string(self, value: Any, name: str, default: Any = None) -> Any:
        return value if value is not None else self.get(name, default)

    def get_bool(self, value: Any, name: str, default: Any = None) -> Any:
        if value is not None:
            return value
        found = self.get(name)
        if isinstance(found, str):
            return found.strip().lower() in ("1", "true", "yes", "on")
        return default if found is None else bool(found)


def get_config(name: str | None = None) -> Any:
    """The settings, or one of them (None where nothing sets it)."""
    config = Config()
    return config if name is None else config[name]


def get_running_experiment() -> Any:
    from comet_ml import get_running_experiment as running

    return running()


def get_global_experiment() -> Any:
    return get_running_experiment()


def set_global_experiment(experiment: Any) -> None:
    """Comet's: the experiment ``comet_ml.get_global_experiment()`` answers from now on
    (scripts set the one ``Optimizer.next()`` gave them; None forgets it)."""
    import comet_ml

    comet_ml._running[:] = [] if experiment is None else [experiment]
