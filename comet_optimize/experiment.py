"""The handle a training script works with: its parameters in, its metrics out.

Only the objective metric matters to the search (Comet's rule: the score is
the min, or max, over every value logged under exactly ``spec.metric``; our
``metricReduction`` may pick the last or mean value instead). Everything else
is kept as a small summary in the experiment's ``end`` event.

Every value is checked when it is logged (`comet_optimize.encoding`). As in
Comet's SDK, a logging call never ends the script for what it was given: an
object of another kind is recorded as its text, and a value over a bound (64
KiB, a 1,000-character name, an asset over the size limit) is left out with one
warning naming it. A training run of hours must not die at its 37th trial
because one logged value was odd; the score comes only from ``spec.metric``.
Whatever is logged after the experiment ended is recorded too, as an
``update``: nothing logged is dropped.

Example:
    >>> from comet_optimize import Optimizer
    >>> opt = Optimizer({"algorithm": "random", "spec": {"maxCombo": 2},
    ...                  "parameters": {"lr": {"type": "float", "min": 0.001, "max": 0.1,
    ...                                        "scalingType": "loguniform"}}},
    ...                 verbose=0, store=tmp_store)
    >>> with opt.next(project_name="demo") as experiment:
    ...     experiment.set_name("first try")
    ...     with experiment.train():  # recorded as "train_loss"; it still scores "loss"
    ...         experiment.log_metric("loss", experiment.params["lr"] * 10, step=1)
    >>> opt.status()["completed"], opt.experiments()[0]["name"]
    (1, 'first try')

Comet's Experiment API works offline (docs/compatibility.md lists every
method): name, tags, text, dataset hash and the metadata of files go into the
journal's ``end``/``update`` event; the files themselves (assets, models,
images, tables, curves, confusion matrices, html, code) are copied under the
experiment's folder (`comet_optimize.assets`). Inside ``with
experiment.train():`` (``validate()``, ``test()``) metric names get Comet's
context prefix (``loss`` is recorded as ``train_loss``; include_context=False
bypasses it). The score counts values recorded under exactly ``spec.metric``;
when there are none but the bare name was logged in exactly one context
(``spec.metric`` "loss", logged only inside ``train()``), those count.

Threads: an Experiment may be logged to from several threads; each call is
atomic. Processes: hand ``optimizer.next_data()`` to another process (even as
JSON) and build ``Experiment(optimizer_data=data)`` there.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import itertools
import math
import numbers
import os
import pathlib
import sys
import threading
import time
import types
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Protocol

from comet_optimize import encoding, jsontext, media, messages, progress, safe_files, unsupported
from comet_optimize.assets import AssetFolder, folder_for
from comet_optimize.errors import OptimizerException
from comet_optimize.state import State, encode_score
from comet_optimize.store.base import MAX_EVENT_BYTES

_MISSING = object()
MAX_TAGS = 1000  # per experiment: far more than any view shows
_MAX_WARNINGS = 20  # distinct warnings about what an experiment logged; then it stays quiet
# Every Experiment this process made, oldest first, with the process and thread that
# made it: what `comet_ml.start()` may hand back or end is the calling thread's own.
_made: list[tuple[weakref.ref, int, int]] = []
_made_lock = threading.Lock()


# When (by `_moments`) a standalone experiment (no optimizer_data) of this process last
# logged each metric name as a number: a search's experiment that ends without its
# metric says so, since the script most likely logged its score to the wrong handle.
_standalone_metrics: dict[str, int] = {}
_moments = itertools.count()  # strictly increasing, unlike a clock's readings


def _opened_here(experiment: Experiment) -> None:
    with _made_lock:
        _made[:] = [entry for entry in _made
                    if (made := entry[0]()) is not None and not made.ended]
        _made.append((weakref.ref(experiment), os.getpid(), threading.get_ident()))


def held_by_a_running_thread(experiment: Experiment) -> bool:
    """Whether another thread of this process that the interpreter waits for (not a
    daemon) made ``experiment`` and is still running. Such a thread goes on past the
    exit handlers when a signal cut short the interpreter's wait for it (a handler that
    raises during ``threading._shutdown``), or in a multiprocessing child, whose
    finalizers run before its threads are joined: its experiment is its own to end."""
    here = os.getpid()
    with _made_lock:
        idents = {ident for ref, pid, ident in _made if ref() is experiment and pid == here}
    idents.discard(threading.get_ident())
    return any(thread.ident in idents and thread.is_alive() and not thread.daemon
               for thread in threading.enumerate())


def not_made_by_the_script(experiment: Experiment) -> None:
    """An experiment the optimizer holds for an assignment it handed out as data
    (`next_data`): not one `running_in_this_thread` gives."""
    with _made_lock:
        _made[:] = [entry for entry in _made if entry[0]() is not experiment]
    experiment._handed_out_as_data = True


def running_in_this_thread(any_thread: bool = False,
                           auto_logging: bool = False) -> Experiment | None:
    """The newest open experiment that this thread of this process made, or None.

    Never another thread's (its trial is not ours to log to or to end) unless
    ``any_thread``, nor one a forked child inherited from its parent (the parent
    still runs it); with ``auto_logging``, only one that lets Keras log to it.
    """
    pid_here, thread_here = os.getpid(), threading.get_ident()
    with _made_lock:
        for ref, pid, thread in reversed(_made):
            made = ref()
            if made is not None and not made.ended and pid == pid_here \
                    and (any_thread or thread == thread_here) \
                    and (not auto_logging or made.auto_metric_logging):
                return made
    return None


def open_in_this_process(key: Any) -> KeyedHandle | None:
    """A second handle on the open experiment of this process whose key is ``key``, or
    None: what Comet's ``start(experiment_key=...)`` and ``ExistingExperiment`` give when
    the script hands them the key of the experiment it is running (``CometLogger(
    experiment_key=experiment.get_key())`` inside an optimizer's loop)."""
    pid_here = os.getpid()
    with _made_lock:
        for ref, pid, _thread in reversed(_made):
            made = ref()
            if made is not None and not made.ended and pid == pid_here and made.id == key:
                return KeyedHandle(made)
    return None


class KeyedHandle:
    """Another handle on a running experiment, as Comet's ``ExistingExperiment`` is: what
    is logged through it goes to the experiment, but its ``end()`` only flushes, because
    ending a second handle does not end the trial on Comet's server either; whoever made
    the experiment (the optimizer's loop) ends it. PyTorch Lightning's CometLogger ends
    its experiment after ``fit()``: given the trial itself, it ended the trial, aborted,
    before the script logged its objective, and the trial was handed out again."""

    __slots__ = ("_experiment",)

    def __init__(self, experiment: Experiment):
        object.__setattr__(self, "_experiment", experiment)

    @property
    def __class__(self) -> type:  # isinstance(handle, Experiment), as integrations check
        return type(self._experiment)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._experiment, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._experiment, name, value)

    def end(self) -> None:
        """Nothing to flush offline, and the trial is not this handle's to end."""

    def __enter__(self) -> KeyedHandle:
        return self

    def __exit__(self, kind: Any, error: Any, traceback: Any) -> None:
        return None

    def __repr__(self) -> str:
        return f"<another handle on {self._experiment!r}>"


def _logging_call(method):
    """A value or name the journal cannot keep (`encoding.Refused`) is one warning per
    experiment and name, the call returns None, and the script goes on."""

    @functools.wraps(method)
    def logging_call(self: Experiment, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except encoding.Refused as refused:
            self._refused(refused)
            return None

    return logging_call


class Search(Protocol):
    """What an Experiment needs from the search it reports to (an `Optimizer`)."""

    id: str

    def _experiment_folder(self, experiment_key: str) -> str: ...

    def _experiment_opened(self, experiment: Experiment) -> str: ...

    def _experiment_ended(self, experiment: Experiment, failed: str | None) -> None: ...

    def _experiment_updated(self, experiment: Experiment) -> None: ...

    def _experiment_progressed(self, experiment: Experiment,
                               metrics: dict[str, dict[str, Any]]) -> bool: ...


class Experiment:
    """One assignment of a search (or, without ``optimizer_data``, a standalone record)."""

    def __init__(self, optimizer_data: dict[str, Any] | None = None,
                 project_name: str | None = None, _optimizer: Search | None = None,
                 **kwargs: Any):
        self.project_name = project_name
        self.workspace: str | None = kwargs.get("workspace")
        self.kwargs = kwargs
        self.ended = False
        self.metrics: dict[str, dict[str, Any]] = {}
        self.logged_parameters: dict[str, Any] = {}
        self.others: dict[str, Any] = {}
        self._plain_parameters: dict[str, Any] = {}  # as recorded (JSON)
        self._objective_values: list[float] = []
        self._lock = threading.RLock()
        self._optimizer: Search | None = None
        self._warned_late = False
        self._revision = 0  # changes logged so far
        self._warnings = messages.Once(_MAX_WARNINGS, f"{_MAX_WARNINGS} warnings about what "
                                                      f"one experiment logged; its others "
                                                      f"are not shown")
        self._recorded_revision = 0  # of them, in the journal
        self._snapshot_revision = 0
        self._context_values: dict[str, list[float]] = {}  # bare objective name in a context
        self._name: str | None = None  # as set by the script (recorded only then)
        self.tags: list[str] = []
        self._tag_set: set[str] = set()  # the same, to look up (a list would be quadratic)
        self.texts: list[dict[str, Any]] = []
        self.assets: list[dict[str, Any]] = []
        self.dataset_hash: str | None = None
        self.context: str | None = None
        self._step: int | None = None
        self._epoch: int | float | None = None
        self.auto_metric_logging = bool(kwargs.get("auto_metric_logging", True))
        self._folder: AssetFolder | None = None
        self._progress_due = math.inf  # monotonic time of the next progress write
        self._progress_written: dict[str, dict[str, Any]] = {}
        self._opened_at = next(_moments)
        self._handed_out_as_data = False  # held by the search for next_data(), see there
        if optimizer_data is None:
            self.id = uuid.uuid4().hex
            self.params: dict[str, Any] = {}
            self.count = None
            self.data: dict[str, Any] = {}
            self.metric = None
            self._start_autolog()
            return
        data = _checked_data(optimizer_data)
        self.data = data
        self.id = data["experiment_key"]
        self.params = dict(data["parameters"])
        self.count = data["count"]
        self._optimizer = _optimizer or _find_optimizer(data)
        self.id = self._optimizer._experiment_opened(self)
        spec = self._optimizer.parsed_config.spec
        self.metric = spec.metric
        self.objective = spec.objective
        self.reduction = spec.metric_reduction
        self.others.update({
            "optimizer_id": data["optimizer_id"],
            "optimizer_pid": data["pid"],
            "optimizer_trial": data["trial"],
            "optimizer_count": data["count"],
            "optimizer_process": os.getpid(),
            "optimizer_metric": spec.metric,
            "optimizer_objective": spec.objective,
            "optimizer_name": self._optimizer.parsed_config.name,
            "optimizer_parameters": dict(self.params),
        })
        self._progress_interval = progress.progress_seconds()
        self._progress_due = time.monotonic() + min(self._progress_interval,
                                                    progress.FIRST_PROGRESS_SECONDS)
        self._start_autolog()

    def _start_autolog(self) -> None:
        _opened_here(self)
        if self.auto_metric_logging:
            from comet_optimize import autolog

            autolog.track(self)

    # -- identity (Comet's getters and setters)

    @property
    def name(self) -> str:
        """As in Comet, every experiment has a name: the one the script set, else one made
        of its number and key. Scripts name their files by it (``f"{exp.name}.joblib"``);
        None would have had every experiment of a search write the same file."""
        if self._name is not None:
            return self._name
        number = "" if self.count is None else f"{self.count}-"
        return f"experiment-{number}{self.id[:8]}"

    @name.setter
    def name(self, name: str) -> None:
        self.set_name(name)

    @_logging_call
    def set_name(self, name: str) -> None:
        """The experiment's display name (recorded; ``export`` shows it)."""
        name = encoding.name(name, "experiment")
        with self._lock:
            self._name = name
            self._revision += 1
        self._after_change()

    def get_name(self) -> str:
        return self.name

    def add_tag(self, tag: str) -> bool:
        try:
            tag = encoding.name(tag, "tag")
            with self._lock:
                if tag in self._tag_set:
                    return True
                if len(self.tags) >= MAX_TAGS:
                    raise encoding.Refused("tags", f"tags: over {MAX_TAGS} on one experiment; "
                                                   f"the others were not recorded")
                self.tags.append(tag)
                self._tag_set.add(tag)
                self._revision += 1
        except encoding.Refused as refused:
            self._refused(refused)
            return False
        self._after_change()
        return True

    def add_tags(self, tags: list[str]) -> bool:
        if isinstance(tags, str):
            tags = [tags]  # one tag, not one per character
        elif not isinstance(tags, Iterable):
            raise OptimizerException(f"add_tags: tags must be a list of strings, not "
                                     f"{type(tags).__name__}")
        if iter(tags) is tags:  # an iterator may never end: read one more than is kept
            tags = list(itertools.islice(tags, MAX_TAGS + 1))
        for tag in tags:
            if not self.add_tag(tag) and len(self.tags) >= MAX_TAGS:
                break  # said once; a repeated tag before it cost nothing
        return True

    def get_tags(self) -> list[str]:
        with self._lock:
            return list(self.tags)

    @property
    def url(self) -> str:
        """Comet's experiment page; offline, a file:// URL of the experiment's folder."""
        return pathlib.Path(self._assets().ensure()).as_uri()

    @property
    def optimizer(self) -> dict[str, Any] | None:
        """As Comet: the search this experiment belongs to and its place in it."""
        if self._optimizer is None:
            return None
        return {"optimizer": self._optimizer, "id": self._optimizer.id,
                "pid": self.data["pid"], "trial": self.data["trial"], "count": self.count}

    @property
    def alive(self) -> bool:
        return not self.ended

    @property
    def disabled(self) -> bool:
        """Comet's ``disabled=True`` cuts its network traffic; offline there is none, so
        everything is still recorded locally and this only echoes the argument."""
        return bool(self.kwargs.get("disabled", False))

    @disabled.setter
    def disabled(self, value: bool) -> None:
        # Comet keeps it as a plain attribute, and scripts set it on the experiments an
        # optimizer hands them (``experiment.disabled = not args.use_comet``).
        try:
            self.kwargs["disabled"] = bool(value)
        except Exception:  # an array, say: as ambiguous as Python finds it
            raise OptimizerException(f"Experiment.disabled must be True or False, not "
                                     f"{encoding.short(value)}") from None

    def get_other(self, key: str) -> Any:
        with self._lock:
            if key not in self.others:
                raise KeyError(f"no other {key!r} in this experiment")
            return self.others[key]

    def get_metric(self, name: str) -> Any:
        """The last value logged under ``name`` (with its context prefix, if any)."""
        with self._lock:
            for candidate in (name, self._full_name(name, True)):
                if candidate in self.metrics:
                    return self.metrics[candidate]["last"]
            known = ", ".join(sorted(self.metrics)) or "none"
        raise KeyError(f"no metric {name!r} in this experiment (logged: {known})")

    # -- steps, epochs and contexts

    @property
    def curr_step(self) -> int | None:
        """The step later metrics are logged at when they give none. Comet's attribute:
        scripts set it directly too (a numpy integer from ``np.arange``, say)."""
        return self._step

    @curr_step.setter
    def curr_step(self, step: Any) -> None:
        try:
            self._step = encoding.whole_number(step, "the step")
        except encoding.Refused as refused:
            self._refused(refused, f"; the step stays {self._step}")

    @property
    def curr_epoch(self) -> int | float | None:
        return self._epoch

    @curr_epoch.setter
    def curr_epoch(self, epoch: Any) -> None:
        try:
            self._epoch = encoding.epoch_number(epoch, "the epoch")
        except encoding.Refused as refused:
            self._refused(refused, f"; the epoch stays {self._epoch}")

    def set_step(self, step: int | None) -> None:
        self.curr_step = step

    def set_epoch(self, epoch: float | None) -> None:
        self.curr_epoch = epoch

    def log_epoch_end(self, epoch_cnt: int, step: int | None = None) -> None:
        self.set_epoch(epoch_cnt)
        if step is not None:
            self.set_step(step)

    log_current_epoch = set_epoch

    @contextlib.contextmanager
    def context_manager(self, context: str) -> Iterator[Experiment]:
        """Metrics logged inside get the ``<context>_`` prefix, as in Comet."""
        previous = self.context
        try:
            self.context = encoding.name(context, "context")
        except encoding.Refused as refused:  # metrics inside keep the context around it
            self._refused(refused)
        try:
            yield self
        finally:
            self.context = previous

    def train(self) -> contextlib.AbstractContextManager[Experiment]:
        return self.context_manager("train")

    def validate(self) -> contextlib.AbstractContextManager[Experiment]:
        return self.context_manager("validate")

    def test(self) -> contextlib.AbstractContextManager[Experiment]:
        return self.context_manager("test")

    def _full_name(self, name: str, include_context: bool) -> str:
        if include_context and self.context:
            return f"{self.context}_{name}"
        return name

    # -- reading parameters

    def get_parameter(self, name: str) -> Any:
        """A logged value if the script logged one under this name, else the suggested one."""
        value = self.logged_parameters.get(name, _MISSING)
        if value is _MISSING:
            value = self.params.get(name, _MISSING)
        if value is _MISSING:
            known = ", ".join(sorted(set(self.params) | set(self.logged_parameters)))
            raise KeyError(f"no parameter {name!r} in this experiment (known: {known})")
        return value

    def get_key(self) -> str:
        return self.id

    # -- logging

    @_logging_call
    def log_metric(self, name: str, value: Any, step: int | None = None,
                   epoch: float | None = None, include_context: bool = True,
                   timestamp: float | None = None) -> None:
        """Comet's log_metric: step/epoch default to `set_step`/`set_epoch`'s values,
        and inside ``with experiment.train():`` the name gets the ``train_`` prefix
        (include_context=False keeps it bare)."""
        bare = encoding.name(name, "metric")
        context = self.context if include_context else None
        name = self._full_name(bare, include_context)
        # A bad step, epoch or time is left out, not the value: it may be the score.
        step = self._or_none(encoding.whole_number, step, f"metric {name!r}: step")
        epoch = self._or_none(encoding.epoch_number, epoch, f"metric {name!r}: epoch")
        if step is None:
            step = self.curr_step
        else:
            self.curr_step = step
        if epoch is None:
            epoch = self.curr_epoch
        timestamp = self._or_none(_seconds, timestamp, f"metric {name!r}: timestamp")
        # type(), not isinstance: a lazy object whose __class__ raises is still a value
        if issubclass(type(value), (bytes, bytearray)):
            value = bytes(value).decode("utf-8", "replace")
        number = encoding.to_float(value)
        if number is None and issubclass(type(value), str):
            number = encoding.number_in_text(value)  # a formatted loss, f"{loss:.4f}"
        elif number is None and value is not None:  # several numbers, an object: its text
            value = encoding.as_text(value, f"metric {name!r}", "is not one number")
        if number is not None and math.isinf(number) and not issubclass(type(value), float):
            self._warnings.warn(f"metric {name!r} too large",
                            f"metric {name!r}: value {encoding.short(value)} is too large "
                            f"for a float; recorded as {number}")
        if number is None:
            last = encoding.bounded(value, f"metric {name!r}")
        elif issubclass(type(value), numbers.Integral) and math.isfinite(number):
            last = int(value)  # an integer stays an integer (exports show 4, not 4.0)
        else:
            last = encoding.plain(number, f"metric {name!r}")
        with self._lock:
            summary = self.metrics.setdefault(name, {"count": 0})
            summary["count"] += 1
            summary["last"] = last
            self._revision += 1
            if step is not None:
                summary["step"] = step
            if epoch is not None:
                summary["epoch"] = epoch
            if timestamp is not None:
                summary["timestamp"] = encoding.to_float(timestamp)
            counts = self._optimizer is not None and (
                name == self.metric or (context is not None and bare == self.metric))
            if counts and number is None:
                self._warnings.warn(f"metric {name!r} not a number",
                                f"metric {name!r} value {encoding.short(value)} is not a "
                                f"number; it does not count towards the score")
            elif counts and name == self.metric:
                self._objective_values.append(number)
            elif counts:
                self._context_values.setdefault(context, []).append(number)
        if self._optimizer is None and number is not None:
            _standalone_metrics[bare] = next(_moments)
        self._after_change()

    @_logging_call
    def log_metrics(self, metrics: dict[str, Any], prefix: str | None = None,
                    step: int | None = None, epoch: float | None = None,
                    include_context: bool = True) -> None:
        """Comet's order: ``log_metrics(dic, prefix=None, step=None, epoch=None)``."""
        step = self._or_none(encoding.whole_number, step, "log_metrics: step",
                             then="; the values were recorded without it")
        epoch = self._or_none(encoding.epoch_number, epoch, "log_metrics: epoch",
                              then="; the values were recorded without it")
        for name, value in _as_mapping(metrics, "log_metrics").items():
            name = self._or_none(encoding.name, name, "metric", then="")
            if name is None:
                continue
            self.log_metric(f"{prefix}_{name}" if prefix else name, value, step, epoch,
                            include_context=include_context)

    @_logging_call
    def log_parameter(self, name: str, value: Any, step: int | None = None) -> None:
        name = encoding.name(name, "parameter")
        plain = encoding.bounded(value, f"parameter {name!r}")
        with self._lock:
            self.logged_parameters[name] = value
            self._plain_parameters[name] = plain
            self._revision += 1
        self._after_change()

    @_logging_call
    def log_parameters(self, parameters: dict[str, Any], prefix: str | None = None,
                       step: int | None = None, nested_support: bool = True) -> None:
        for name, value in _as_mapping(parameters, "log_parameters", attributes=True).items():
            name = self._or_none(encoding.name, name, "parameter", then="")
            if name is None:
                continue
            self.log_parameter(f"{prefix}_{name}" if prefix else name, value)

    @_logging_call
    def log_other(self, key: str, value: Any) -> None:
        key = encoding.name(key, "other")
        plain = encoding.bounded(value, f"other {key!r}")
        with self._lock:
            self.others[key] = plain
            self._revision += 1
        self._after_change()

    @_logging_call
    def log_others(self, others: dict[str, Any]) -> None:
        for key, value in _as_mapping(others, "log_others").items():
            self.log_other(key, value)

    def log_dataset_info(self, name: str | None = None, version: str | None = None,
                         path: str | None = None) -> None:
        self.log_other("dataset_info", {"name": name, "version": version, "path": path})

    def log_system_info(self, key: str, value: Any) -> None:
        self.log_other(f"system_info.{encoding.name(key, 'system info')}", value)

    def log_optimization(self, optimization_id: str | None = None,
                         metric_name: str | None = None, metric_value: Any = None,
                         parameters: dict | None = None, objective: str | None = None) -> None:
        self.log_other("optimization", {"id": optimization_id, "metric": metric_name,
                                        "value": metric_value, "parameters": parameters,
                                        "objective": objective})

    def set_filename(self, fname: str) -> None:
        self.log_other("file_name", os.fspath(fname))

    @_logging_call
    def log_text(self, text: Any, step: int | None = None,
                 metadata: dict[str, Any] | None = None) -> None:
        """A short text, kept in the journal (up to 64 KiB; log_asset_data for more)."""
        text = encoding.text_of(text, "log_text")
        if len(encoding.utf8(text)) > 65536:
            raise encoding.Refused(
                "log_text", f"log_text: the text is {len(encoding.utf8(text))} bytes, over the "
                            f"64 KiB kept in the journal, so it was not recorded; use "
                            f"log_asset_data(text, name=...) for long texts")
        entry = {"text": text, "step": self._step_or_current(step, "log_text", "the text was")}
        if metadata:
            entry["metadata"] = encoding.bounded(metadata, "log_text: metadata")
        with self._lock:
            self.texts.append(entry)
            self._revision += 1
        self._after_change()

    @_logging_call
    def log_dataset_hash(self, data: Any) -> str:
        """A fingerprint of the training data (Comet's: to compare runs), recorded."""
        digest = hashlib.sha256()
        if isinstance(data, (bytes, bytearray, memoryview)):
            digest.update(bytes(data))
        elif hasattr(data, "tobytes"):
            digest.update(data.tobytes())
        else:
            digest.update(jsontext.standard(encoding.plain(data, "log_dataset_hash"),
                                            sort_keys=True).encode("utf-8"))
        value = digest.hexdigest()[:16]
        with self._lock:
            self.dataset_hash = value
            self._revision += 1
        self._after_change()
        return value

    # -- files: copied under the experiment's folder, metadata in the journal

    def _assets(self) -> AssetFolder:
        with self._lock:
            if self._folder is None:
                if self._optimizer is not None:
                    path = self._optimizer._experiment_folder(self.id)
                else:
                    path = folder_for(None, None, self.id, self.kwargs.get("offline_directory"))
                self._folder = AssetFolder(path)
            return self._folder

    @_logging_call
    def _store_file(self, what: str, source: Any, name: str, kind: str,
                    overwrite: bool = False, step: int | None = None,
                    metadata: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
        if metadata is not None:
            fields["metadata"] = encoding.bounded(metadata, f"{what}: metadata")
        name = _file_name(name)
        step = self._step_or_current(step, what, "the file was")
        with self._lock:
            entry = self._assets().add(what, source, name, kind, overwrite, step=step,
                                       **fields)
            if overwrite:
                self.assets = [a for a in self.assets
                               if (a["fileName"], a["type"]) != (name, kind)]
            self.assets.append(entry)
            self._revision += 1
        self._after_change()
        return dict(entry)

    @_logging_call
    def log_asset(self, file_data: Any, file_name: str | None = None, overwrite: bool = False,
                  copy_to_tmp: bool = True, step: int | None = None,
                  metadata: dict[str, Any] | None = None, epoch: int | None = None,
                  ) -> dict[str, Any]:
        """A file (a path or a binary file object), copied under the experiment's folder."""
        name = file_name or _source_name(file_data, "log_asset")
        return self._store_file("log_asset", _as_source(file_data), name, "asset", overwrite,
                                step, metadata)

    def _log_asset(self, file_data: Any, file_name: str | None = None,
                   overwrite: bool = False, copy_to_tmp: bool = True,
                   asset_type: str = "asset", step: int | None = None,
                   metadata: dict[str, Any] | None = None,
                   on_asset_upload: Callable[..., Any] | None = None,
                   on_failed_asset_upload: Callable[..., Any] | None = None,
                   **_ignored: Any) -> dict[str, Any] | None:
        """Comet's private ``_log_asset``, which scripts call for its upload callbacks
        (one that deletes the file once it is sent): `log_asset`, then the callback
        that says how it went, once the file is copied."""
        stored = self.log_asset(file_data, file_name=file_name, overwrite=overwrite,
                                copy_to_tmp=copy_to_tmp, step=step, metadata=metadata)
        callback = on_asset_upload if stored is not None else on_failed_asset_upload
        if callback is not None:
            callback(stored)
        return stored

    @_logging_call
    def log_asset_data(self, data: Any, name: str | None = None, overwrite: bool = False,
                       step: int | None = None, metadata: dict[str, Any] | None = None,
                       file_name: str | None = None, epoch: int | None = None,
                       ) -> dict[str, Any]:
        """Data (str, bytes, or anything JSON-able) stored as a file."""
        name = name or file_name or "data"
        if isinstance(data, str):
            content = encoding.utf8(data)
        elif isinstance(data, (bytes, bytearray, memoryview)):
            content = bytes(data)
        else:
            content = media.to_json_bytes(encoding.plain(data, "log_asset_data"))
        return self._store_file("log_asset_data", content, name, "asset", overwrite, step,
                                metadata)

    @_logging_call
    def log_asset_folder(self, folder: str, step: int | None = None,
                         log_file_name: bool | None = None, recursive: bool = False,
                         ) -> list[dict[str, Any]]:
        step = self._step_or_current(step, "log_asset_folder", "the files were")
        with self._lock:
            entries = self._assets().add_folder("log_asset_folder", os.fspath(folder), "asset",
                                                recursive, on_refused=self._refused, step=step)
            self.assets.extend(entries)
            self._revision += 1
        self._after_change()
        return [dict(e) for e in entries]

    def log_tensorflow_folder(self, folder: str) -> list[dict[str, Any]]:
        """A TensorBoard log folder's files, recursively, each under its own name."""
        return self.log_asset_folder(os.fspath(folder).rstrip(os.sep) or os.sep,
                                     log_file_name=True, recursive=True)

    def stop_early(self, epoch: int) -> bool:
        """As in Comet's SDK, which returns False and does nothing: the script stops its
        own training, and the score is whatever it logged by then."""
        return False

    @_logging_call
    def log_model(self, name: str, file_or_folder: Any, file_name: str | None = None,
                  overwrite: bool = False, metadata: dict[str, Any] | None = None,
                  copy_to_tmp: bool = True, prepend_folder_name: bool = True,
                  ) -> list[dict[str, Any]]:
        """A saved model (a file or a folder), copied under models/<name>/."""
        name = encoding.name(name, "model")
        source = _as_source(file_or_folder)
        if isinstance(source, str) and os.path.isdir(source):
            prefix = os.path.join(name, os.path.basename(os.path.normpath(source))) \
                if prepend_folder_name else name
            fields = {"model": name}
            if metadata is not None:
                fields["metadata"] = encoding.bounded(metadata, "log_model: metadata")
            with self._lock:
                entries = self._assets().add_folder("log_model", source, "model", True,
                                                    prefix=prefix, on_refused=self._refused,
                                                    **fields)
                self.assets.extend(entries)
                self._revision += 1
            self._after_change()
            return [dict(e) for e in entries]
        leaf = file_name or _source_name(file_or_folder, "log_model")
        entry = self._store_file("log_model", source, os.path.join(name, _file_name(leaf)),
                                 "model", overwrite, None, metadata, model=name)
        return [] if entry is None else [entry]

    @_logging_call
    def log_code(self, file_name: str | None = None, folder: str | None = None,
                 code: str | None = None, code_name: str | None = None) -> None:
        """Source code: a file, a folder's .py files, a string, or (no argument) the
        script that called it."""
        if code is not None:
            self._store_file("log_code", encoding.utf8(code), code_name or "code.py",
                             "source_code")
        elif folder is not None:
            with self._lock:
                entries = self._assets().add_folder("log_code", os.fspath(folder),
                                                    "source_code", True, suffix=".py",
                                                    on_refused=self._refused)
                self.assets.extend(entries)
                self._revision += 1
            self._after_change()
        else:
            path = file_name or _caller_file()
            if path is None:
                raise OptimizerException("log_code: no file to log (give file_name=, folder= "
                                         "or code=)")
            self._store_file("log_code", os.fspath(path), os.path.basename(path),
                             "source_code")

    def set_code(self, code: str | None = None, overwrite: bool = False,
                 filename: str | None = None) -> None:
        self.log_code(file_name=filename if code is None else None, code=code)

    @_logging_call
    def log_html(self, html: str, clear: bool = False) -> None:
        """Appends to the experiment's HTML page (html/experiment.html)."""
        with self._lock:
            try:
                size = self._assets().write(os.path.join("html", "experiment.html"),
                                            encoding.text_of(html, "log_html"),
                                            append=not clear)
            except OSError as error:
                raise encoding.Refused("log_html", f"log_html: could not store the page: "
                                                   f"{safe_files.describe(error)}") from None
            self.assets = [a for a in self.assets if a["type"] != "html"]
            self.assets.append({"fileName": "experiment.html", "type": "html",
                                "path": os.path.join("html", "experiment.html"), "size": size})
            self._revision += 1
        self._after_change()

    @_logging_call
    def log_html_url(self, url: str, text: str | None = None, label: str | None = None) -> None:
        import html as html_module

        link = html_module.escape(encoding.text_of(url, "log_html_url"), quote=True)
        words = html_module.escape(encoding.text_of(text or url, "log_html_url"))
        label = encoding.text_of(label, "log_html_url") if label else ""
        self.log_html(f"<div>{html_module.escape(label) + ': ' if label else ''}"
                      f"<a href=\"{link}\">{words}</a></div>\n")

    @_logging_call
    def log_confusion_matrix(self, y_true: Any = None, y_predicted: Any = None,
                             matrix: Any = None, labels: list | None = None,
                             title: str = "Confusion Matrix",
                             row_label: str = "Actual Category",
                             column_label: str = "Predicted Category",
                             max_examples_per_cell: int = 25, max_categories: int = 25,
                             winner_function: Any = None, index_to_example_function: Any = None,
                             cache: bool = True, file_name: str = "confusion-matrix.json",
                             overwrite: bool = False, step: int | None = None,
                             epoch: int | None = None, images: Any = None,
                             experiment_key: str | None = None, **kwargs: Any,
                             ) -> dict[str, Any]:
        """Stored as Comet's JSON document (labels, matrix) under confusion-matrix/;
        ``matrix`` may be a `comet_ml.ConfusionMatrix`."""
        if isinstance(matrix, media.ConfusionMatrix):
            document = matrix.to_json()
        elif matrix is None and (y_true is None) != (y_predicted is None):
            # Data the call cannot use, as Comet's logs an error for it and goes on: often
            # sklearn's name for the predictions (y_pred=), which lands in **kwargs.
            given, missing = ("y_true", "y_predicted") if y_predicted is None \
                else ("y_predicted", "y_true")
            hint = (f" (it was given {', '.join(f'{k}=' for k in sorted(kwargs))}, which "
                    f"log_confusion_matrix does not take)" if kwargs else "")
            raise encoding.Refused("log_confusion_matrix",
                                   f"log_confusion_matrix: {given}= without {missing}="
                                   f"{hint}, so nothing was stored")
        else:
            document = media.confusion_matrix(y_true, y_predicted, matrix, labels, title,
                                              row_label, column_label)
        return self._store_file("log_confusion_matrix", media.to_json_bytes(document),
                                file_name, "confusion-matrix", overwrite, step)

    def create_confusion_matrix(self, y_true: Any = None, y_predicted: Any = None,
                                labels: list | None = None, matrix: Any = None,
                                **kwargs: Any) -> media.ConfusionMatrix:
        """A `comet_ml.ConfusionMatrix` to count into, then ``log_confusion_matrix(matrix=)``."""
        return media.ConfusionMatrix(y_true, y_predicted, labels, matrix, **kwargs)

    @_logging_call
    def log_curve(self, name: str, x: Any, y: Any, overwrite: bool = False,
                  step: int | None = None) -> dict[str, Any]:
        name = encoding.name(name, "curve")
        return self._store_file("log_curve", media.to_json_bytes(media.curve(name, x, y)),
                                f"{name}.json", "curve", overwrite, step)

    @_logging_call
    def log_image(self, image_data: Any, name: str | None = None, overwrite: bool = False,
                  image_format: str = "png", image_scale: float = 1.0,
                  image_shape: Any = None, image_colormap: str | None = None,
                  image_minmax: Any = None, image_channels: str = "last",
                  copy_to_tmp: bool = True, step: int | None = None,
                  annotations: Any = None, metadata: dict[str, Any] | None = None,
                  ) -> dict[str, Any]:
        """An image file: a path, bytes, a numpy array (written as PNG) or a PIL image."""
        if isinstance(image_data, (str, os.PathLike)):
            source: Any = os.fspath(image_data)
            name = name or os.path.basename(source)
        else:
            source, extension = media.image_bytes(image_data, image_format, image_channels,
                                                  tuple(image_minmax) if image_minmax else None)
            name = name or "image"
            if not os.path.splitext(name)[1]:
                name = f"{name}.{extension}"
        return self._store_file("log_image", source, name, "image", overwrite, step, metadata)

    @_logging_call
    def log_figure(self, figure_name: str | None = None, figure: Any = None,
                   overwrite: bool = False, step: int | None = None) -> dict[str, Any]:
        """A matplotlib figure (default: pyplot's current one), stored as SVG."""
        import io

        if figure is None:
            if "matplotlib.pyplot" not in sys.modules:
                raise OptimizerException("log_figure: give figure= (matplotlib is not in use)")
            figure = sys.modules["matplotlib.pyplot"].gcf()
        out = io.BytesIO()
        figure.savefig(out, format="svg")
        name = f"{figure_name or 'figure'}.svg"
        return self._store_file("log_figure", out.getvalue(), name, "figure", overwrite, step)

    @_logging_call
    def log_table(self, filename: str, tabular_data: Any = None, headers: Any = False,
                  **format_kwargs: Any) -> dict[str, Any]:
        """Rows, a numpy array or a pandas DataFrame as CSV/TSV/JSON (by the file name);
        without data, ``filename`` is a file to copy."""
        if tabular_data is None:
            return self._store_file("log_table", os.fspath(filename),
                                    os.path.basename(filename), "table")
        data = media.table_bytes(filename, tabular_data, headers)
        return self._store_file("log_table", data, os.path.basename(filename), "table")

    @_logging_call
    def log_histogram_3d(self, values: Any, name: str | None = None, step: int | None = None,
                         epoch: int | None = None, metadata: dict | None = None,
                         **kwargs: Any) -> dict[str, Any]:
        document = {"values": encoding.plain(values, "log_histogram_3d")}
        return self._store_file("log_histogram_3d", media.to_json_bytes(document),
                                f"{name or 'histogram'}.json", "histogram3d", False, step,
                                metadata)

    @_logging_call
    def log_points_3d(self, scene_name: str, points: Any = None, boxes: Any = None,
                      step: int | None = None, metadata: dict | None = None
                      ) -> dict[str, Any]:
        document = {"points": encoding.plain(points, "log_points_3d"),
                    "boxes": encoding.plain(boxes, "log_points_3d")}
        return self._store_file("log_points_3d", media.to_json_bytes(document),
                                f"{scene_name}.json", "3d-points", False, step, metadata)

    @_logging_call
    def log_audio(self, audio_data: Any, sample_rate: int | None = None,
                  file_name: str | None = None, metadata: dict | None = None,
                  overwrite: bool = False, copy_to_tmp: bool = True, step: int | None = None
                  ) -> dict[str, Any]:
        """A sound file (a path or bytes), or a numpy array written as WAV."""
        if isinstance(audio_data, (str, os.PathLike)) or isinstance(audio_data, bytes):
            source = os.fspath(audio_data) if not isinstance(audio_data, bytes) else audio_data
            name = file_name or _source_name(audio_data, "log_audio")
        else:
            if sample_rate is None:
                raise OptimizerException("log_audio: an array needs sample_rate=")
            source, name = media.wav_bytes(audio_data, sample_rate), file_name or "audio.wav"
        return self._store_file("log_audio", source, name, "audio", overwrite, step, metadata)

    @_logging_call
    def log_video(self, file: Any, name: str | None = None, overwrite: bool = False,
                  format: str | None = None, step: int | None = None,  # noqa: A002 - Comet's
                  epoch: int | None = None, metadata: dict | None = None) -> dict[str, Any]:
        name = name or _source_name(file, "log_video")
        return self._store_file("log_video", _as_source(file), name, "video", overwrite, step,
                                metadata)

    @_logging_call
    def log_notebook(self, filename: str, overwrite: bool = False) -> dict[str, Any]:
        if not isinstance(filename, (str, os.PathLike)):
            raise OptimizerException(f"log_notebook: filename must be a path, not "
                                     f"{type(filename).__name__}")
        return self._store_file("log_notebook", os.fspath(filename),
                                os.path.basename(filename), "notebook", overwrite)

    @_logging_call
    def set_model_graph(self, graph: Any, overwrite: bool = False) -> dict[str, Any]:
        return self._store_file("set_model_graph",
                                encoding.utf8(encoding.text_of(graph, "set_model_graph")),
                                "graph.txt",
                                "model-graph", overwrite=True)

    @_logging_call
    def log_remote_asset(self, uri: str, remote_file_name: str | None = None,
                         overwrite: bool = False, asset_type: str = "asset",
                         step: int | None = None, metadata: dict | None = None) -> None:
        """Only recorded (nothing is fetched): a link to a file that lives elsewhere."""
        step = self._or_none(encoding.whole_number, step, "log_remote_asset: step",
                             then="; the link was recorded without it")
        name = remote_file_name or _file_name(uri).rstrip("/").rsplit("/", 1)[-1]
        entry = {"fileName": _file_name(name), "type": _file_name(asset_type),
                 "remote": _file_name(uri), "step": step}
        if metadata is not None:
            entry["metadata"] = encoding.bounded(metadata, "log_remote_asset: metadata")
        with self._lock:
            self.assets.append({k: v for k, v in entry.items() if v is not None})
            self._revision += 1
        self._after_change()

    def log_remote_model(self, model_name: str, uri: str, metadata: dict | None = None,
                         sync_mode: bool = True, max_synced_objects: int = 10000) -> None:
        self.log_remote_asset(uri, asset_type="model", metadata=metadata,
                              remote_file_name=model_name)

    def get_keras_callback(self) -> Any:
        """A Keras callback that logs epoch metrics here (what auto-logging adds)."""
        from comet_optimize import autolog

        return autolog.keras_callback(self)

    def get_callback(self, framework: str, *args: Any, **kwargs: Any) -> Any:
        if str(framework).lower() in ("keras", "tf-keras", "tensorflow-keras"):
            return self.get_keras_callback()
        if str(framework).lower() in ("xgboost", "lightgbm"):
            from comet_optimize import autolog

            if str(framework).lower() == "lightgbm":
                return autolog.lightgbm_callback(self)
            return autolog.xgboost_callback(self)
        raise OptimizerException(f"Experiment.get_callback({framework!r}): only 'keras', "
                                 f"'xgboost' and 'lightgbm' have a callback offline")

    def flush(self) -> bool:
        """Everything is written when it is logged (or at end): nothing waits."""
        return True

    # -- what Comet's framework integrations call (PyTorch Lightning's CometLogger)

    def __internal_api__log_metrics__(self, metrics: dict[str, Any], step: int | None = None,
                                      epoch: float | None = None, prefix: str | None = None,
                                      framework: str | None = None, **_: Any) -> None:
        self.log_metrics(metrics, prefix=prefix, step=step, epoch=epoch)

    def __internal_api__log_parameters__(self, parameters: dict[str, Any],
                                         framework: str | None = None,
                                         flatten_nested: bool = False,
                                         source: str | None = None, **_: Any) -> None:
        self.log_parameters(parameters)

    def __internal_api__set_model_graph__(self, graph: Any, framework: str | None = None,
                                          **_: Any) -> dict[str, Any]:
        return self.set_model_graph(graph)

    def _refused(self, refused: encoding.Refused, then: str = "") -> None:
        self._warnings.warn(refused.what, f"{refused}{then}")

    def _step_or_current(self, step: Any, what: str, kept_was: str) -> int | None:
        """The step a call gave, else the current one; a bad one is left out, not what was
        logged with it."""
        step = self._or_none(encoding.whole_number, step, f"{what}: step",
                             then=f"; {kept_was} recorded without it")
        return self.curr_step if step is None else step

    def _or_none(self, convert: Any, value: Any, what: str,
                 then: str = "; the value was recorded without it") -> Any:
        """``convert(value, what)``, or None (with a warning) when it is refused."""
        try:
            return convert(value, what)
        except encoding.Refused as refused:
            self._refused(refused, then)
            return None

    def _after_change(self) -> None:
        """A change after the end is recorded at once, as an update of the result;
        before the end, metrics are recorded as progress once an interval has passed."""
        if not self.ended:
            if time.monotonic() >= self._progress_due:
                self._record_progress()
            return
        if self._optimizer is None:
            return
        if self._revision == self._recorded_revision:
            return  # already in the journal (the end took it)
        if not self._warned_late:
            self._warned_late = True
            messages.warning(f"experiment #{self.count} had already ended; what is logged "
                             f"to it now is recorded as an update of its result")
        self._optimizer._experiment_updated(self)

    def _update_event(self, now: float) -> dict[str, Any] | None:
        """The ``update`` event for what was logged since the last record, or None.

        Asked for under the store's lock: of two updates queued for the same
        changes (threads, a signal handler's), the second finds nothing to add.
        """
        if self._revision == self._recorded_revision:
            return None
        return self.result_event("update", now)

    def _update_recorded(self) -> None:
        self._recorded_revision = max(self._recorded_revision, self._snapshot_revision)

    def _record_progress(self) -> None:
        """The metrics so far into the journal, if they changed (`comet_optimize.progress`)."""
        self._progress_due = time.monotonic() + self._progress_interval
        with self._lock:
            if self.metrics == self._progress_written:
                return
            metrics = {name: dict(summary) for name, summary in self.metrics.items()}
        if self._optimizer is not None and self._optimizer._experiment_progressed(self, metrics):
            self._progress_written = metrics

    # -- ending

    def score(self) -> float | None:
        """The experiment's result under the spec's reduction; None when never logged."""
        with self._lock:
            values = list(self._objective_values)
            if not values and len(self._context_values) == 1:
                values = list(next(iter(self._context_values.values())))
        if not values:
            return None
        if self.reduction == "last":
            return values[-1]
        numbers = [v for v in values if not math.isnan(v)]
        if not numbers:
            return math.nan
        if self.reduction == "mean":
            return sum(numbers) / len(numbers)
        return max(numbers) if self.objective == "maximize" else min(numbers)

    def result_event(self, kind: str, now: float, failed: str | None = None) -> dict[str, Any]:
        """The journal event that records this experiment's outcome (``end`` or ``update``).

        Pure: builds the event without changing the experiment, so a write that
        fails leaves everything as it was.
        """
        score = self.score()
        if failed is not None:
            status, reason = State.FAILED, failed
        elif score is None:
            status, reason = State.ABORTED, None
        else:
            status, reason = State.COMPLETED, None
        if status is State.FAILED:
            score = None  # partial metrics stay in "metrics", for inspection only
        event: dict[str, Any] = {"type": kind, "count": self.count, "status": status.value,
                                 "score": encode_score(score), "time": now}
        if reason:
            event["reason"] = reason
        with self._lock:
            self._snapshot_revision = self._revision
            if self.metrics:
                event["metrics"] = {k: dict(v) for k, v in self.metrics.items()}
            if self._plain_parameters:
                event["logged_parameters"] = dict(self._plain_parameters)
            user_others = {k: v for k, v in self.others.items()
                           if not k.startswith("optimizer_")}
            if self._name is not None:
                event["name"] = self._name
            if self.tags:
                event["tags"] = list(self.tags)
            if self.assets:
                event["assets"] = [dict(a) for a in self.assets]
            if self.texts:
                event["texts"] = [dict(t) for t in self.texts]
            if self.dataset_hash is not None:
                event["dataset_hash"] = self.dataset_hash
        if user_others:  # the optimizer_* ones are derived from the assignment itself
            event["others"] = user_others
        return self._within_bound(event)

    def _within_bound(self, event: dict[str, Any]) -> dict[str, Any]:
        """The event, shed of its bulkiest parts if it would pass MAX_EVENT_BYTES.

        Each value is bounded when logged, but not how many: an experiment that
        logged thousands of texts would make a journal line every reader refuses.
        The status and score are never shed; what is, is named (``dropped``).
        """
        parts = sum(len(event.get(key, ())) for key in
                    ("metrics", "logged_parameters", "others", "assets", "texts", "tags"))
        # A part is a name (<= 1,000 characters) and a value (<= 64 KiB), which JSON's
        # escapes can grow up to 6 times: so few parts cannot be too big, unmeasured.
        if parts * 8 * encoding.MAX_VALUE_BYTES < MAX_EVENT_BYTES:
            return event
        dropped = []
        for key in ("texts", "others", "assets", "logged_parameters", "tags", "metrics"):
            if jsontext.size(event) <= MAX_EVENT_BYTES:
                break
            if key == "metrics":  # keep the objective's own summary
                kept = {k: v for k, v in event.get(key, {}).items() if k == self.metric}
                if len(kept) == len(event.get(key, {})):
                    continue
                event[key] = kept
            elif event.pop(key, None) is None:
                continue
            dropped.append(key)
        if dropped:
            event["dropped"] = dropped
            messages.warning(f"experiment #{self.count} logged more than "
                             f"{MAX_EVENT_BYTES >> 20} MiB for the journal; its "
                             f"{', '.join(dropped)} were left out of the record (its status "
                             f"and score are kept): keep large data in files (log_asset)")
        return event

    @property
    def logged_anything(self) -> bool:
        with self._lock:
            return bool(self.metrics or self._plain_parameters or any(
                not key.startswith("optimizer_") for key in self.others)
                or self._name is not None or self.tags or self.assets or self.texts
                or self.dataset_hash is not None)

    def _mark_ended(self, status: State | None) -> None:
        """Called by the search once the end is written (None: nothing needed writing)."""
        self._recorded_revision = self._snapshot_revision
        self.ended = True
        if status is State.COMPLETED:
            self.others["optimizer_metric_value"] = self.score()
        elif status is State.ABORTED:
            logged = (f"it logged: {', '.join(sorted(self.metrics))}" if self.metrics
                      else "it logged no metric")
            hint = ""
            if len(self._context_values) > 1:
                hint = (f"; it was logged in several contexts ("
                        f"{', '.join(sorted(self._context_values))}): set spec.metric to one "
                        f"of their prefixed names, e.g. "
                        f"'{sorted(self._context_values)[0]}_{self.metric}'")
            if not hint and _standalone_metrics.get(self.metric, -1) > self._opened_at:
                hint = ("; a standalone Experiment() of this process logged it instead: log "
                        "it on the experiment get_experiments() gave (or make the Experiment "
                        "with optimizer_data=)")
            what = f"ended without logging the metric {self.metric!r} ({logged}){hint}"
            if self._handed_out_as_data and not self.logged_anything:
                # next_data() / get_parameters() held it, and no handle of the script's
                # took it up: the script trained without telling the search.
                what = (f"(parameters handed out by get_parameters() / next_data()) was "
                        f"never reported: no Experiment(optimizer_data=...) logged the "
                        f"metric {self.metric!r} for it")
            if self.metric in self.metrics:  # logged, but never a number (None, a text)
                last = repr(self.metrics[self.metric].get("last"))[:80]
                what = (f"logged the metric {self.metric!r} only as values that are not "
                        f"numbers (the last: {last})")
            messages.warning(f"experiment #{self.count} {what}; recorded as aborted")
        if self._optimizer is not None and self._revision != self._recorded_revision:
            # Logged while the end was being written (another thread, a signal handler):
            # recorded now, as an update of the result.
            self._optimizer._experiment_updated(self)

    def end(self) -> None:
        """Record the result now; safe to call twice."""
        if self.ended:
            return
        if self._optimizer is None:
            self.ended = True
            return
        self._optimizer._experiment_ended(self, None)

    def _fail(self, reason: str) -> None:
        """End as failed (the script raised): partial metrics are kept for inspection."""
        if not self.ended and self._optimizer is not None:
            self._optimizer._experiment_ended(self, reason)

    def __enter__(self) -> Experiment:
        return self

    def __exit__(self, kind: Any, error: Any, traceback: Any) -> None:
        if kind is None:
            self.end()
        else:
            self._fail(failure_reason(error))

    def __repr__(self) -> str:
        return f"<Experiment #{self.count} {self.params}>"


unsupported.install(Experiment)


def _file_name(name: Any) -> str:
    """A file name or type as given (a str, a ``Path``), as the text the journal keeps."""
    if isinstance(name, os.PathLike):
        name = os.fspath(name)
    if isinstance(name, bytes):
        return name.decode("utf-8", "surrogateescape")
    return name if isinstance(name, str) else str(name)


def _seconds(value: Any, what: str) -> float | None:
    if value is None:
        return None
    seconds = encoding.to_float(value)
    if seconds is None or not math.isfinite(seconds):
        raise encoding.Refused(what, f"{what} {encoding.short(value)} is not a number of "
                                     f"seconds")
    return seconds


def _as_mapping(values: Any, method: str, attributes: bool = False) -> Mapping[str, Any]:
    """What a ``log_*s`` call was given, as a mapping: a dict (any Mapping), the
    ``argparse.Namespace`` scripts pass straight from their parser, or None (nothing).

    With ``attributes``, any other object that keeps its settings as attributes (a
    script's own config holder, ``args = Dict2Obj(config)``, which public scripts give
    Comet's log_parameters; or a class of settings, ``class Config: lr = 0.01``, or
    its instance) gives its public values that are not functions."""
    if values is None:
        return {}
    if isinstance(values, Mapping):
        return _snapshot(values, method)  # the script may change it while we log
    argparse = sys.modules.get("argparse")  # a Namespace means its module is loaded
    if argparse is not None and isinstance(values, argparse.Namespace):
        return vars(values)
    settings_class = isinstance(values, type) and values.__module__ != "builtins"
    if attributes and (settings_class or not callable(values)) and not isinstance(
            values, (str, bytes, numbers.Number, types.ModuleType)) \
            and isinstance(getattr(values, "__dict__", None), (dict, types.MappingProxyType)):
        return _public_values(values)
    raise OptimizerException(f"{method}: expected a dict of names to values, not "
                             f"{type(values).__name__}")


def _public_values(holder: Any) -> dict[str, Any]:
    """A settings object's public, non-function values: its own and its class's (a value
    set in the class body was left out, and nothing was recorded)."""
    found = {}
    for name in dir(holder):
        if name.startswith("_"):
            continue
        try:
            value = getattr(holder, name)
        except Exception:  # noqa: BLE001 - a property that fails is no setting
            continue
        if not callable(value):
            found[name] = value
    return found


def _snapshot(values: Mapping[Any, Any], method: str) -> dict[Any, Any]:
    """A copy of a mapping; an item that raises when read (Hydra's "???" for a value
    nobody set) is recorded as the error's text, with a warning: ``dict(cfg)`` raised
    out of ``log_parameters(cfg)`` and ended the trial."""
    try:
        return dict(values)
    except Exception:  # noqa: BLE001 - anything a script's mapping raises: item by item
        pass
    try:
        keys = list(values)
    except Exception as error:  # noqa: BLE001
        raise encoding.Refused(method, f"{method}: the {type(values).__name__} could not be "
                                       f"read ({encoding.short(error, 80)}), so nothing was "
                                       f"recorded") from None
    snapshot = {}
    for key in keys:
        try:
            snapshot[key] = values[key]
        except Exception as error:  # noqa: BLE001
            snapshot[key] = encoding.as_text(error, f"{method}: {encoding.short(key, 40)}",
                                             "was raised reading it")
    return snapshot


def _as_source(data: Any) -> Any:
    """A path-like as a path string; anything else as given (bytes, file objects)."""
    return os.fspath(data) if isinstance(data, (str, os.PathLike)) else data


def _source_name(data: Any, what: str) -> str:
    if isinstance(data, (str, os.PathLike)):
        return os.path.basename(os.fspath(data))
    name = getattr(data, "name", None)
    if isinstance(name, str):
        return os.path.basename(name)
    raise OptimizerException(f"{what}: give file_name= for data that is not a file path")


def _caller_file() -> str | None:
    """The script that called log_code (the first frame outside this module)."""
    for frame in inspect.stack()[2:]:
        if frame.filename != __file__ and os.path.isfile(frame.filename):
            return frame.filename
    return None


def failure_reason(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    text = text.splitlines()[0] if text else type(error).__name__
    return f"raised {text[:200]}"


_DATA_KEYS = ("parameters", "pid", "trial", "count")


def _checked_data(data: Any) -> dict[str, Any]:
    """``optimizer_data`` in either shape (Comet's, or ours) as one dict, or a clear error.

    Comet's ``id`` is the optimizer id; our experiment key and store travel under
    keys of their own. The dict may have made a JSON round trip.
    """
    if not isinstance(data, dict):
        raise OptimizerException(
            f"optimizer_data must be the dict that next_data() returned, not "
            f"{type(data).__name__}")
    missing = [key for key in _DATA_KEYS if key not in data]
    optimizer_id = data.get("optimizer_id") or data.get("id")
    if optimizer_id is None:
        missing.insert(0, "id")
    if missing:
        raise OptimizerException(f"optimizer_data lacks {', '.join(map(repr, missing))} "
                                 f"(pass the dict that next_data() returned)")
    if not isinstance(data["parameters"], dict) or not isinstance(data["count"], int):
        raise OptimizerException("optimizer_data is damaged: 'parameters' must be a dict and "
                                 "'count' a whole number")
    return {**data, "optimizer_id": str(optimizer_id),
            "experiment_key": data.get("experiment_key")}  # the assignment's, if missing


def _find_optimizer(data: dict[str, Any]) -> Search:
    """An Optimizer of this process on the same search, or a fresh attachment.

    Any Optimizer on the search can record the result: they all replay one journal.
    """
    from comet_optimize.optimizer import Optimizer, live_optimizers

    store = data.get("store")
    for optimizer in live_optimizers():
        if optimizer.id == data["optimizer_id"] and (
                store is None or optimizer.store.location == store):
            return optimizer
    return Optimizer(data["optimizer_id"], verbose=0, store=_with_credentials(store))


def _with_credentials(location: str | None) -> str | None:
    """The configured store when it is the one named (a printable URL has no password).

    Data handed to another process names its store by its printable location; that
    process's own ``COMET_OPTIMIZE_STORE`` (the launcher sets it) may carry the password.
    """
    configured = os.environ.get("COMET_OPTIMIZE_STORE")
    if location is None or not configured or "://" not in location:
        return location
    from comet_optimize.store import open_store

    try:
        if open_store(configured).location == location:
            return configured
    except Exception:  # an unusable configured store: try the named one as it is
        pass
    return location
