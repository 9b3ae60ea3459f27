"""Comet-style auto-logging for Keras, XGBoost and LightGBM: training reports its metrics
by itself.

With ``auto_metric_logging`` on (Comet's default), every Keras ``fit`` in the
process gets one more callback that logs the epoch's ``logs`` (``loss``,
``val_loss``, ``accuracy``, ...) under Keras's own names (no context prefix)
into the *current* experiment: the newest one of this process that is still
open and has auto-logging on. ``Experiment(auto_metric_logging=False)`` (or
``COMET_AUTO_LOG_METRICS=false``) leaves it out.

XGBoost's ``train`` (which its scikit-learn models call too) gets a callback the
same way that logs each round's evaluation results as Comet's XGBoost
integration names them, the data set's name as the context: ``validation_0_rmse``,
``validation_1_rmse`` for ``fit(eval_set=[...])``, ``train_logloss`` for
``xgboost.train(evals=[(dtrain, "train")])``, at step = the round (from 0).

LightGBM's ``train`` (its scikit-learn models call it too) gets a callback that logs
each iteration's evaluation results as Comet's LightGBM integration names them,
``{data set}_{metric}``: ``valid_0_l2`` for ``fit(eval_set=[...])``,
``training_binary_logloss``, at step = the iteration (from 0).

No library is imported here: when one is already loaded it is wrapped at
once; otherwise a finder on ``sys.meta_path`` wraps it right after the script
imports it (``tensorflow.keras`` included, which loads Keras 3 from TensorFlow
2.16 on; older ``tf_keras`` too).
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.util
import inspect
import os
import sys
import threading
from collections.abc import Callable
from typing import Any

_KERAS_MODULES = ("keras", "tf_keras")
_XGBOOST_MODULES = ("xgboost",)
_LIGHTGBM_MODULES = ("lightgbm",)
_TRAINERS = _XGBOOST_MODULES + _LIGHTGBM_MODULES
_lock = threading.Lock()
_hook_installed = False


def enabled_by_environment() -> bool:
    value = os.environ.get("COMET_AUTO_LOG_METRICS", "").strip().lower()
    return value not in ("0", "false", "no", "off")


def track(experiment: Any) -> None:
    """Let Keras report to ``experiment`` (the newest open one is `current`)."""
    prepare()


def prepare() -> None:
    """Wrap the libraries loaded now, and those loaded later on import. Done when an
    experiment is made, and before that when an Optimizer is made or the stand-in
    ``comet_ml`` imported: ``from xgboost import train`` after ``import comet_ml``
    but before the first experiment kept the unwrapped function, and no metric was
    logged. (The wrappers ask `current` at each call, so wrapping early is harmless.)"""
    if not enabled_by_environment():
        return
    for name in _KERAS_MODULES + _TRAINERS:
        if name in sys.modules:
            _patch_module(name, sys.modules[name])
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


def xgboost_callback(experiment: Any, xgboost: Any = None) -> Any:
    """An ``xgboost.callback.TrainingCallback`` that logs each round's evaluation results
    into ``experiment`` as Comet's XGBoost integration names them (see the module)."""
    if xgboost is None:
        import xgboost.callback  # the script asked for an XGBoost callback: its business

        xgboost = sys.modules["xgboost"]

    class CometOptimizeXGBoostCallback(xgboost.callback.TrainingCallback):
        """Logs the last value of each ``{data set: {metric: [values]}}`` of a round."""

        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            if evals_log and not experiment.ended:
                numbers = {}
                for context, metrics in evals_log.items():
                    for name, values in (metrics or {}).items():
                        value = values[-1] if values else None
                        if isinstance(value, tuple):  # xgboost.cv's (mean, std)
                            value = value[0]
                        if _is_number(value):
                            numbers[f"{context}_{name}"] = value
                if numbers:
                    experiment.log_metrics(numbers, step=epoch, include_context=False)
            return False  # never asks to stop

    callback = CometOptimizeXGBoostCallback()
    callback._comet_optimize = True
    return callback


def lightgbm_callback(experiment: Any) -> Any:
    """A LightGBM callback that logs each iteration's evaluation results into
    ``experiment`` as Comet's LightGBM integration names them (see the module)."""

    def log_evaluation(env: Any) -> None:
        if experiment.ended:
            return
        numbers = {}
        for result in env.evaluation_result_list or ():
            # (data set, metric, value, higher is better[, std. dev. for cv()])
            data_set, metric, value = result[0], result[1], result[2]
            if _is_number(value):
                numbers[f"{data_set}_{metric}"] = value
        if numbers:
            experiment.log_metrics(numbers, step=env.iteration, include_context=False)

    log_evaluation.order = 10  # before early stopping (30), as Comet's
    log_evaluation._comet_optimize = True
    return log_evaluation


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _patch_module(name: str, module: Any) -> None:
    if name in _XGBOOST_MODULES:
        _patch_trainer(module, "training", "sklearn",
                       lambda experiment: xgboost_callback(experiment, module))
    elif name in _LIGHTGBM_MODULES:
        _patch_trainer(module, "engine", "sklearn", lightgbm_callback)
    else:
        _patch(module)


def _callback_adder(function: Callable[..., Any]) -> Callable[..., tuple[tuple, dict]]:
    """``add(args, kwargs, make)``: the call's arguments with ``make()`` added to its
    ``callbacks``, wherever they were given: LightGBM's ``train`` and Keras's ``fit`` take
    them by position too, and setting the keyword beside a positional list was a
    TypeError that failed the trial. Our callback is added once."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        signature = None

    def add(args: tuple, kwargs: dict, make: Callable[[], Any]) -> tuple[tuple, dict]:
        try:
            bound = signature.bind_partial(*args, **kwargs)
            named = "callbacks" in signature.parameters
        except (AttributeError, TypeError):  # no signature, or a call it refuses
            bound, named = None, False
        given = bound.arguments.get("callbacks") if named else kwargs.get("callbacks")
        callbacks = list(given or [])
        if not any(getattr(c, "_comet_optimize", False) for c in callbacks):
            callbacks.append(make())
        if named:
            bound.arguments["callbacks"] = callbacks
            return bound.args, bound.kwargs
        return args, {**kwargs, "callbacks": callbacks}  # as a keyword, as before

    return add


def _patch_trainer(package: Any, home: str, models: str,
                   make_callback: Callable[[Any], Any]) -> None:
    """Wrap ``train`` once where the package binds it: the package itself, the module it
    is defined in (``home``) and its scikit-learn models' module (idempotent)."""
    defined = getattr(package, home, None)
    train = getattr(defined, "train", None)
    if train is None or getattr(train, "_comet_optimize", False):
        return

    add_callback = _callback_adder(train)

    @functools.wraps(train)
    def wrapped_train(*args: Any, **kwargs: Any) -> Any:
        experiment = current()
        if experiment is not None:
            args, kwargs = add_callback(args, kwargs, lambda: make_callback(experiment))
        return train(*args, **kwargs)

    wrapped_train._comet_optimize = True
    for module in (defined, getattr(package, models, None), package):
        if module is not None and getattr(module, "train", None) is train:
            module.train = wrapped_train


def _patch(keras: Any) -> None:
    """Wrap ``keras.Model.fit`` once (idempotent)."""
    model = getattr(keras, "Model", None)
    fit = getattr(model, "fit", None)
    if fit is None or getattr(fit, "_comet_optimize", False):
        return

    add_callback = _callback_adder(fit)

    @functools.wraps(fit)
    def wrapped_fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        experiment = current()
        if experiment is not None:
            args, kwargs = add_callback((self, *args), kwargs,
                                        lambda: keras_callback(experiment, keras))
            return fit(*args, **kwargs)
        return fit(self, *args, **kwargs)

    wrapped_fit._comet_optimize = True
    model.fit = wrapped_fit


class _KerasFinder(importlib.abc.MetaPathFinder):
    """Wraps ``fit`` (``train``) right after Keras's (XGBoost's) own module finishes
    loading."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name not in _KERAS_MODULES + _TRAINERS:
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
            _patch_module(name, module)  # installed once an experiment was tracked; the
            # wrapped fit / train asks current()

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
