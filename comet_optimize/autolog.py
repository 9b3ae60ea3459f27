"""Comet-style auto-logging for Keras: ``model.fit`` reports its epoch metrics by itself.

With ``auto_metric_logging`` on (Comet's default), every Keras ``fit`` in the
process gets one more callback that logs the epoch's ``logs`` (``loss``,
``val_loss``, ``accuracy``, ...) under Keras's own names (no context prefix)
into the *current* experiment: the newest one of this process that is still
open and has auto-logging on. ``Experiment(auto_metric_logging=False)`` (or
``COMET_AUTO_LOG_METRICS=false``) leaves it out.

Keras is never imported here: when it is already loaded, ``keras.Model.fit``
is wrapped at once; otherwise a finder on ``sys.meta_path`` wraps it right
after the script imports Keras (``tensorflow.keras`` included, which loads
Keras 3 from TensorFlow 2.16 on; older ``tf_keras`` too).
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.util
import os
import sys
import threading
from typing import Any

_KERAS_MODULES = ("keras", "tf_keras")
_lock = threading.Lock()
_hook_installed = False


def enabled_by_environment() -> bool:
    value = os.environ.get("COMET_AUTO_LOG_METRICS", "").strip().lower()
    return value not in ("0", "false", "no", "off")


def track(experiment: Any) -> None:
    """Let Keras report to ``experiment`` (the newest open one is `current`)."""
    if not enabled_by_environment():
        return
    for name in _KERAS_MODULES:
        if name in sys.modules:
            _patch(sys.modules[name])
    _install_hook()


def current() -> Any:
    """The newest open auto-logging experiment this thread made, else the newest this
    process made in any thread (a ``fit`` run in a worker thread of a loop), or None:
    a ``fit`` in one thread never reports to another thread's newer trial."""
    if not enabled_by_environment():
        return None
    from comet_optimize.experiment import running_in_this_thread

    return (running_in_this_thread(auto_logging=True)
            or running_in_this_thread(any_thread=True, auto_logging=True))


def keras_callback(experiment: Any, keras: Any = None) -> Any:
    """A ``keras.callbacks.Callback`` that logs each epoch's metrics into ``experiment``."""
    keras = keras or sys.modules.get("keras") or sys.modules.get("tf_keras")
    if keras is None:
        import keras  # the script asked for a Keras callback: Keras is its business

    class CometOptimizeCallback(keras.callbacks.Callback):
        """Logs ``logs`` at each epoch's end (step and epoch both count from 1)."""

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if logs and not experiment.ended:
                numbers = {k: v for k, v in logs.items() if _is_number(v)}
                experiment.log_metrics(numbers, step=epoch + 1, epoch=epoch + 1,
                                       include_context=False)

    callback = CometOptimizeCallback()
    callback._comet_optimize = True
    return callback


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _patch(keras: Any) -> None:
    """Wrap ``keras.Model.fit`` once (idempotent)."""
    model = getattr(keras, "Model", None)
    fit = getattr(model, "fit", None)
    if fit is None or getattr(fit, "_comet_optimize", False):
        return

    @functools.wraps(fit)
    def wrapped_fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        experiment = current()
        if experiment is not None:
            callbacks = list(kwargs.get("callbacks") or [])
            if not any(getattr(c, "_comet_optimize", False) for c in callbacks):
                callbacks.append(keras_callback(experiment, keras))
            kwargs["callbacks"] = callbacks
        return fit(self, *args, **kwargs)

    wrapped_fit._comet_optimize = True
    model.fit = wrapped_fit


class _KerasFinder(importlib.abc.MetaPathFinder):
    """Wraps ``fit`` right after Keras's own module finishes loading."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name not in _KERAS_MODULES:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        original = loader.exec_module

        def exec_module(module: Any) -> None:
            original(module)
            _patch(module)  # installed once an experiment was tracked; fit asks current()

        try:
            loader.exec_module = exec_module
        except (AttributeError, TypeError):
            return spec
        return spec


def _install_hook() -> None:
    global _hook_installed
    with _lock:
        if _hook_installed:
            return
        _hook_installed = True
    sys.meta_path.insert(0, _KerasFinder())
