"""Run N worker processes of one search, stream their output, stop them cleanly.

The launcher is deliberately dumb about the search itself: the optimizer is
created (or attached to) once, then every worker is an ordinary process
running ``EXECUTABLE SCRIPT OPTIMIZER ARGS... [--trials T]`` that joins the
search through ``COMET_OPTIMIZER_ID``. The store's lock, not the launcher,
keeps workers from taking the same experiment, so a worker started by hand
on another terminal joins the same search just as well.

What the launcher owns is the processes:

* each worker starts in its own session (so the terminal's Ctrl-C reaches
  only the launcher, which forwards it once, explicitly, to each worker's
  process group);
* its stdout and stderr are read through one ``selectors`` loop, whole lines
  at a time, written to the terminal with a ``[wI]`` prefix and to
  ``<store>/<id>/logs/worker-I.log``; lines that redraw themselves with
  ``\r`` are shown as they change (see `comet_optimize.cli.output`);
* when the launcher's stdout is a terminal, a worker's outputs are
  pseudo-terminals (so progress bars and colours behave), and a lone worker
  gets the terminal itself, stdin included (so pdb and input() work);
* an output that fails (a full disk, a closed terminal) is dropped with one
  message, never the run: the summary and the resume command still come out;
* worker exits wake the same loop through SIGCHLD and the signal wakeup fd,
  so nothing polls with sleeps: the loop blocks until output, an exit, a
  signal or the end of the grace period.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import re
import selectors
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from comet_optimize import encoding, safe_files
from comet_optimize.cli.output import Lines, LiveArea, Sink
from comet_optimize.echo import show
from comet_optimize.store import printable_location

DEFAULT_GRACE = 30.0
MAX_GRACE = 86400.0  # a day: longer is a typo, and a NaN or an infinity would never end
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
_GPU = re.compile(r"\d+|(?:GPU|MIG)-[0-9A-Za-z/_-]+")


class BadInput(Exception):
    """The user's command line cannot work (exit status 2, one line, no traceback)."""


def parse_gpus(text: str) -> list[str]:
    """``"0,1"`` -> ``["0", "1"]``; GPU indices or ``GPU-``/``MIG-`` UUIDs, as CUDA takes them."""
    gpus = [item.strip() for item in text.split(",")]
    bad = [item for item in gpus if not _GPU.fullmatch(item)]
    if not text.strip() or bad:
        what = f"{show(bad[0])} is not a GPU index or UUID" if bad and bad[0] else "empty item"
        raise BadInput(f"--gpus {show(text)}: {what} (expected e.g. --gpus 0,1)")
    return gpus


def check_grace(grace: float) -> float:
    """``--grace``: finite seconds in [0, MAX_GRACE]; NaN once made the Ctrl-C loop spin."""
    if not (isinstance(grace, (int, float)) and math.isfinite(grace)
            and 0 <= grace <= MAX_GRACE):
        raise BadInput(f"--grace {show(grace)}: must be a number of seconds from 0 to "
                       f"{MAX_GRACE:g}")
    return float(grace)


def check_dump(path: str) -> None:
    """``-d FILE``: JSON, written once at the end of the run."""
    check_final_output("-d", path, "a dump (JSON)", (b"{",))


def check_final_output(option: str, path: str, kind: str, starts: tuple[bytes, ...]) -> None:
    """Refuse a file the launcher writes at the end of the run (``-d``, ``--report``) that
    could not be written, before any search or worker exists. Nothing is left here (a
    new file is made and removed to prove it can be).

    An existing file is overwritten only when it is empty or starts as ``kind`` does
    (``starts``), as an earlier run leaves it: ``comet optimize -d train.py opt.config``
    (the option taken for something else) replaced the script at the end of the run.
    """
    target = os.path.abspath(path)
    folder = os.path.dirname(target)
    if safe_files.standard_stream(target) is not None:
        return  # -d /dev/stdout: written where the launcher's own output goes
    if os.path.isdir(target):
        raise BadInput(f"{option} {path}: is a directory (give a file name)")
    if not os.path.isdir(folder):
        raise BadInput(f"{option} {path}: no such directory {folder}")
    if os.path.exists(target):
        writable = os.access(target, os.W_OK)
        if not _empty_or_starting_with(target, starts):
            raise BadInput(f"{option} {path}: the file exists and is not {kind}, so it would "
                           f"be lost; give a new file name")
    else:
        writable = os.access(folder, os.W_OK | os.X_OK) and _can_create(target)
    if not writable:
        raise BadInput(f"{option} {path}: not writable")


def _empty_or_starting_with(target: str, starts: tuple[bytes, ...]) -> bool:
    if not os.path.isfile(target):
        return True  # a pipe or a device: written as asked (or refused then)
    try:
        with open(target, "rb") as handle:
            start = handle.read(4096).lstrip()
    except OSError:
        return True  # unreadable: written as asked, or refused then
    return not start or start.lower().startswith(starts)


def _can_create(target: str) -> bool:
    """Create the file and remove it again: permissions alone say yes to root in a
    folder no file can be made in (``/proc``), and the run would fail only at its end."""
    try:
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
    except FileExistsError:
        return True  # made meanwhile: writable or not, open() will say at the end
    except OSError:
        return False
    with contextlib.suppress(OSError):
        os.unlink(target)
    return True


def _refuse_to_overwrite_what_is_not_a_dump(path: str, target: str) -> None:
    """``comet optimize -d train.py opt.config`` (``-d`` taken for something else) would
    replace the script with JSON at the end of the run: an existing file is overwritten
    only when it is empty or a dump (JSON, an object), as a rerun leaves it."""
    if not os.path.isfile(target):
        return  # a pipe or a device: written as asked (or refused then)
    try:
        with open(target, "rb") as handle:
            start = handle.read(4096).lstrip()
    except OSError:
        return  # unreadable: written as asked, or refused then
    if start and not start.startswith(b"{"):
        raise BadInput(f"-d {path}: the file exists and is not a dump (JSON), so it would "
                       f"be lost; give a new file name")


_FILES_PER_WORKER = 3  # the read ends of its stdout and stderr, and its log
_FILES_SPARE = 32  # the launcher's own: std streams, the store, a worker being started


def ensure_open_files(jobs: int) -> None:
    """Make room for ``jobs`` workers' pipes and logs, or refuse before any starts.

    A soft open-file limit below the need is raised up to the hard limit (as
    ``ulimit -n`` in the shell would); beyond the hard limit it is the user's call.
    """
    try:
        import resource
    except ImportError:  # not a POSIX system: nothing to check
        return
    needed = jobs * _FILES_PER_WORKER + _FILES_SPARE
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or needed <= soft:
        return
    if hard == resource.RLIM_INFINITY or needed <= hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
            return
        except (ValueError, OSError):
            pass
    limit = soft if hard == resource.RLIM_INFINITY else hard
    raise BadInput(f"-j {jobs}: {jobs} workers need about {needed} open files, more than "
                   f"this process may open ({limit}; raise 'ulimit -n' or use fewer workers)")


# The least a worker process takes (a shell; a Python worker takes several times
# more): a guard against a typo such as -j 100000, not an estimate of what fits.
_MEMORY_PER_WORKER = 8 << 20


def ensure_memory(jobs: int) -> None:
    """Refuse, before anything starts, a number of workers no machine this size can hold."""
    import psutil

    total = psutil.virtual_memory().total
    if jobs * _MEMORY_PER_WORKER > total:
        raise BadInput(f"-j {jobs}: {jobs} worker processes need more memory than this "
                       f"machine has ({total / 2**30:.1f} GiB, at {_MEMORY_PER_WORKER >> 20} MiB "
                       f"or more each); use fewer workers")


def check_script(script: str) -> None:
    if not os.path.exists(script):
        raise BadInput(f"{script}: no such file")
    if not os.path.isfile(script):
        raise BadInput(f"{script}: not a file (SCRIPT must be the program to run)")


def check_executable(executable: str) -> str:
    """The interpreter's path; ``-e python3.11`` is looked up on PATH like a shell would."""
    import shutil

    found = shutil.which(executable)
    if found is None:
        raise BadInput(f"-e {executable}: no such executable")
    return found


@dataclass
class Plan:
    """Everything needed to start (and later resume) the workers of one search."""

    script: str
    optimizer: str  # as the user wrote it: a config path or an id
    optimizer_id: str
    store: str
    jobs: int
    executable: str
    args: list[str] = field(default_factory=list)
    trials: int | None = None
    gpus: list[str] | None = None
    grace: float = DEFAULT_GRACE
    executable_given: bool = False
    store_given: bool = False
    log_folder: str = ""
    comet_ml_shim: bool | None = None  # as given: --comet-ml-shim / --no-comet-ml-shim / auto
    shim: bool = False  # whether workers import our comet_ml (see comet_optimize._compat)

    def command(self, index: int) -> list[str]:
        """``EXECUTABLE SCRIPT OPTIMIZER ARGS... [--trials T]``: the docs' ``sys.argv[1]``
        is the optimizer, whatever the script's own arguments are."""
        command = [self.executable, self.script, self.optimizer, *self.args]
        if self.trials is not None:
            command += ["--trials", str(self.trials)]
        return command

    def environment(self, index: int, base: dict[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ if base is None else base)
        env.update({
            "COMET_OPTIMIZER_ID": self.optimizer_id,
            "COMET_OPTIMIZER_PROCESS_ID": str(index),
            "COMET_OPTIMIZER_PROCESS_JOBS": str(self.jobs),
            "COMET_OPTIMIZE_STORE": self.store,
            # The store answered us before any worker starts: a worker that cannot
            # reach it waits it out as an outage (store.postgres.STORE_REACHED).
            "COMET_OPTIMIZE_STORE_REACHED": "1",
            "PYTHONUNBUFFERED": "1",
        })
        if self.shim:
            from comet_optimize import _compat

            env = _compat.with_shim(env)
        if self.gpus:
            env["CUDA_VISIBLE_DEVICES"] = self.gpus[index % len(self.gpus)]
        # N workers each starting a thread per core oversubscribe the machine (a
        # scikit-learn search ran 7x slower): share the cores unless the user chose.
        threads = str(max(1, (os.cpu_count() or 1) // self.jobs))
        for name in _THREAD_VARIABLES:
            env.setdefault(name, threads)
        return env

    def log_path(self, index: int) -> str:
        return os.path.join(self.log_folder, f"worker-{index}.log")

    def resume_command(self) -> str:
        """The exact command line that continues this search where it stopped."""
        words = ["comet", "optimize", "-j", str(self.jobs)]
        if self.trials is not None:
            words += ["-t", str(self.trials)]
        if self.executable_given:
            words += ["-e", self.executable]
        if self.gpus:
            words += ["--gpus", ",".join(self.gpus)]
        if self.grace != DEFAULT_GRACE:
            words += ["--grace", f"{self.grace:g}"]
        if self.comet_ml_shim is not None:
            words.append("--comet-ml-shim" if self.comet_ml_shim else "--no-comet-ml-shim")
        if self.store_given or os.environ.get("COMET_OPTIMIZE_STORE"):
            words += ["--store", printable_location(self.store)]  # never a password
        words += [self.script, self.optimizer]
        if self.args:
            words += ["--", *self.args]
        line = shlex.join(words)
        if self.optimizer != self.optimizer_id:  # a config file: attach through the env
            line = f"COMET_OPTIMIZER_ID={self.optimizer_id} {line}"
        return line


@dataclass
class WorkerExit:
    index: int
    pid: int
    returncode: int

    def describe(self) -> str:
        if self.returncode < 0:
            try:
                name = signal.Signals(-self.returncode).name
            except ValueError:
                name = f"signal {-self.returncode}"
            return f"killed by {name}"
        return f"exited with status {self.returncode}"


@dataclass
class RunResult:
    exits: list[WorkerExit]
    stopped_by: int | None  # the signal that stopped the run, if any
    wall_time: float
    lost: tuple[str, ...] = ()  # "stdout" / "stderr" when writing there failed

    @property
    def all_succeeded(self) -> bool:
        return self.stopped_by is None and all(e.returncode == 0 for e in self.exits)

    def exit_status(self) -> int:
        """0 when every worker exited 0; 128+signal after Ctrl-C/SIGTERM; else 1."""
        if self.stopped_by is not None:
            return 128 + self.stopped_by
        return 0 if self.all_succeeded else 1


REDRAW_LINE_INTERVAL = 1.0  # seconds between two redraws shown as lines where no terminal is


class _Stream:
    """One output (stdout or stderr) of one worker: a pipe or a pseudo-terminal."""

    def __init__(self, index: int, name: str, fd: int, sink: Sink, log: Sink):
        self.index = index
        self.name = name
        self.prefix = f"[w{index}] ".encode()
        self.fd = fd
        self.sink = sink
        self.log = log
        self.lines = Lines()
        self.redraw: bytes | None = None  # shown as a line when the sink is no terminal
        self.redraw_due = 0.0
        self.pty = False  # fd is a pseudo-terminal's master, sized like the launcher's

    def write(self, lines: list[bytes]) -> None:
        if not lines:
            return
        self.log.write(b"".join(lines))
        self.sink.write(b"".join(self.prefix + line for line in lines))


class _Supervisor:
    """The single-threaded event loop that owns the worker processes.

    ``terminal``: the launcher's stdout is a terminal, so workers get one too:
    a pseudo-terminal each (output still prefixed and logged), or with one
    worker the launcher's own terminal, stdin included (for pdb and input()).
    """

    def __init__(self, plan: Plan, stdout: IO[bytes] | None, stderr: IO[bytes] | None,
                 progress: Callable[[], str] | None, progress_interval: float,
                 terminal: bool = False):
        self.plan = plan
        self.stdout = Sink(stdout, "stdout", self._lost)
        self.stderr = Sink(stderr, "stderr", self._lost)
        self.direct = terminal and plan.jobs == 1
        self.ptys = terminal and not self.direct
        live_sink = self.stderr if self.stderr.tty else self.stdout if self.stdout.tty else None
        self.live = LiveArea(live_sink) if live_sink is not None and not self.direct else None
        self.progress = progress if self.live is not None else None
        self.progress_interval = progress_interval
        self.next_progress = 0.0
        self.selector = selectors.DefaultSelector()
        self.processes: dict[int, subprocess.Popen] = {}  # index -> live worker
        self.exits: list[WorkerExit] = []
        self.streams: list[_Stream] = []
        self.logs: list[Sink] = []
        self.pending_signals: list[int] = []
        self.stopped_by: int | None = None
        self.deadline: float | None = None
        self.killed = False
        self.pty_failed = False
        self.resized = False

    # -- messages of the launcher itself

    def say(self, message: str) -> None:
        self._erase(self.stderr)
        self.stderr.write(encoding.utf8(f"comet optimize: {message}\n"))

    def _lost(self, output: Sink, error: BaseException) -> None:
        """A sink failed: say so once (on stderr, unless stderr is what failed)."""
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        if output is self.stdout:
            self.say(f"cannot write to stdout ({reason}): worker output is no longer "
                     f"shown there; it is still in the logs")
        elif output is not self.stderr:
            self.say(f"cannot write {output.name} ({reason}): no longer logging that worker")

    def _erase(self, sink: Sink) -> None:
        """Before ordinary output reaches the terminal, take the live area off it."""
        if self.live is not None and sink.tty:
            self.live.erase()

    def _update_progress(self, now: float) -> None:
        if self.progress is not None and now >= self.next_progress:
            self.live.set_progress(self.progress())
            self.next_progress = now + self.progress_interval

    # -- signals

    def _on_signal(self, signum: int, frame: Any) -> None:
        if signum == signal.SIGWINCH:
            self.resized = True
        elif signum != signal.SIGCHLD:
            self.pending_signals.append(signum)

    def _follow_resize(self) -> None:
        """The terminal changed size: so do the workers' terminals, and they are told.

        A terminal signals its own foreground processes only; workers run in
        sessions of their own, so the launcher passes SIGWINCH on, as the
        terminal would have.
        """
        self.resized = False
        for stream in self.streams:
            if stream.pty and stream.fd >= 0:
                with contextlib.suppress(OSError, ValueError, AttributeError):
                    _size_like(stream.fd, stream.sink, self.plan.jobs)
        for process in self.processes.values():
            self._signal_group(process, signal.SIGWINCH)

    def _signal_group(self, process: subprocess.Popen, signum: int) -> None:
        try:
            os.killpg(process.pid, signum)  # the worker and whatever it started
        except (ProcessLookupError, PermissionError):
            try:
                process.send_signal(signum)
            except ProcessLookupError:
                pass

    def _handle_signals(self, now: float) -> None:
        while self.pending_signals:
            signum = self.pending_signals.pop(0)
            name = signal.Signals(signum).name
            live = list(self.processes.values())
            if self.stopped_by is None:
                self.stopped_by = signum
                self.deadline = now + self.plan.grace
                self.say(f"{name}: stopping {len(live)} worker(s); they are killed in "
                         f"{self.plan.grace:g} s (Ctrl-C again to kill them now)")
                for process in live:
                    self._signal_group(process, signum)
            elif not self.killed:
                self.say(f"{name} again: killing {len(live)} worker(s) now")
                self._kill_all()

    def _kill_all(self) -> None:
        self.killed = True
        self.deadline = None
        for process in self.processes.values():
            self._signal_group(process, signal.SIGKILL)

    # -- processes and their outputs

    def _open_log(self, index: int) -> Sink:
        path = self.plan.log_path(index)
        log = Sink(None, os.path.basename(path), self._lost, own=True)
        try:
            log.handle = open(safe_files.open_plain(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT),
                              "ab")
        except OSError as error:
            log.failed = True
            self._lost(log, error)
        self.logs.append(log)
        return log

    def _terminal_for(self, sink: Sink) -> tuple[int, int] | None:
        """A pseudo-terminal (master, slave) for a worker output bound for a terminal."""
        if not (self.ptys and sink.tty) or self.pty_failed:
            return None
        import pty
        import termios

        try:
            master, slave = pty.openpty()
        except OSError as error:
            self.pty_failed = True
            self.say(f"no pseudo-terminals left ({error.strerror}): workers get pipes")
            return None
        attributes = termios.tcgetattr(slave)
        attributes[1] &= ~termios.OPOST  # bytes as written: no \n -> \r\n
        termios.tcsetattr(slave, termios.TCSANOW, attributes)
        with contextlib.suppress(OSError, ValueError, AttributeError):
            _size_like(slave, sink, self.plan.jobs)
        return master, slave

    def _start(self) -> None:
        for index in range(self.plan.jobs):
            log = self._open_log(index)
            command = self.plan.command(index)
            log.write(encoding.utf8(f"=== {time.strftime('%Y-%m-%d %H:%M:%S')} "
                                    f"{shlex.join(command)}\n"))
            if self.direct:
                log.write(b"=== (one worker on a terminal: its output went to the terminal, "
                          b"not to this log)\n")
            # name -> (the fd we read, the fd the child writes, a terminal?). Our own
            # pipes, not Popen's: a Popen's file objects close their fd when it is
            # collected, while a grandchild may still hold the other end open.
            outputs: dict[str, tuple[int, int, bool]] = {}
            try:
                for name, sink in (("stdout", self.stdout), ("stderr", self.stderr)):
                    if not self.direct:
                        terminal = self._terminal_for(sink)
                        outputs[name] = (*terminal, True) if terminal else (*os.pipe(), False)
                process = subprocess.Popen(
                    command, env=self.plan.environment(index),
                    stdin=None if self.direct else subprocess.DEVNULL,
                    stdout=outputs["stdout"][1] if outputs else None,
                    stderr=outputs["stderr"][1] if outputs else None,
                    start_new_session=True, preexec_fn=_terminate_with(os.getpid()),
                )
            except OSError as error:  # e.g. out of file descriptors or processes
                self._close_outputs(outputs)
                self.say(f"cannot start worker {index} ({error.strerror or error}): "
                         f"going on with {index} worker(s)")
                return
            self.processes[index] = process
            if self.direct:
                continue
            for name, sink in (("stdout", self.stdout), ("stderr", self.stderr)):
                fd, child_end, terminal = outputs[name]
                os.close(child_end)
                os.set_blocking(fd, False)
                stream = _Stream(index, name, fd, sink, log)
                stream.pty = terminal
                self.streams.append(stream)
                self.selector.register(fd, selectors.EVENT_READ, stream)

    @staticmethod
    def _close_outputs(outputs: dict[str, tuple[int, int, bool]]) -> None:
        for ours, child_end, _ in outputs.values():
            os.close(ours)
            os.close(child_end)

    def _read(self, stream: _Stream, now: float, drain: bool = False) -> None:
        while True:
            try:
                data = os.read(stream.fd, 65536)
            except BlockingIOError:
                return
            except OSError as error:  # a pseudo-terminal whose every writer is gone
                if error.errno != errno.EIO:
                    raise
                data = b""
            if not data:
                self._close(stream)
                return
            self._show(stream, stream.lines.feed(data), now)
            if not drain:
                return

    def _show(self, stream: _Stream, lines: list[bytes], now: float) -> None:
        """Finished lines scroll; the unfinished line's latest redraw stays in view."""
        if lines:
            self._erase(stream.sink)
            stream.write(lines)
        redraw = stream.lines.redraw
        if self.live is not None and stream.sink.tty:
            text = None if redraw is None else (stream.prefix + redraw).decode("utf-8", "replace")
            self.live.set((stream.index, stream.name), text)
        else:
            stream.redraw = redraw
            self._show_redraw_line(stream, now)

    def _show_redraw_line(self, stream: _Stream, now: float) -> None:
        """No terminal to redraw on: show the latest redraw as a line, every so often."""
        if stream.redraw is None or now < stream.redraw_due:
            return
        stream.sink.write(stream.prefix + stream.redraw + b"\n")
        stream.redraw = None
        stream.redraw_due = now + REDRAW_LINE_INTERVAL

    def _close(self, stream: _Stream) -> None:
        stream.redraw = None
        if self.live is not None:
            self.live.set((stream.index, stream.name), None)
        rest = stream.lines.rest()
        if rest:
            self._erase(stream.sink)
            stream.write(rest)
        self.selector.unregister(stream.fd)
        os.close(stream.fd)
        stream.fd = -1

    def _reap(self, now: float) -> None:
        for index, process in list(self.processes.items()):
            code = process.poll()
            if code is None:
                continue
            del self.processes[index]
            exit_ = WorkerExit(index, process.pid, code)
            self.exits.append(exit_)
            for stream in self.streams:  # whatever it wrote before dying is in the pipe
                if stream.fd >= 0 and stream.index == index:
                    self._read(stream, now, drain=True)
            if code != 0 and not (self.stopped_by and code in (-self.stopped_by,
                                                                 128 + self.stopped_by)):
                self.say(f"worker {index} (pid {process.pid}) {exit_.describe()}")

    def _timeout(self, now: float) -> float | None:
        """How long the loop may sleep: until the grace ends or something is due on screen."""
        due = [stream.redraw_due for stream in self.streams if stream.redraw is not None]
        if self.deadline is not None:
            due.append(self.deadline)
        if self.progress is not None:
            due.append(self.next_progress)
        if self.live is not None and self.live.wake_at() is not None:
            due.append(self.live.wake_at())
        return max(0.0, min(due) - now) if due else None

    def run(self) -> RunResult:
        start = time.monotonic()
        wake_read, wake_write = os.pipe()
        os.set_blocking(wake_read, False)
        os.set_blocking(wake_write, False)
        handled = (*STOP_SIGNALS, signal.SIGCHLD, signal.SIGWINCH)
        previous = {signum: signal.signal(signum, self._on_signal) for signum in handled}
        previous_wakeup = signal.set_wakeup_fd(wake_write, warn_on_full_buffer=False)
        self.selector.register(wake_read, selectors.EVENT_READ, None)
        try:
            self._start()
            while self.processes:
                for key, _ in self.selector.select(self._timeout(time.monotonic())):
                    if key.data is None:
                        try:
                            os.read(wake_read, 4096)
                        except BlockingIOError:
                            pass
                    else:
                        self._read(key.data, time.monotonic())
                now = time.monotonic()
                self._handle_signals(now)
                if self.resized:
                    self._follow_resize()
                self._reap(now)
                if self.deadline is not None and now >= self.deadline and self.processes:
                    self.say(f"grace period over: killing {len(self.processes)} worker(s)")
                    self._kill_all()
                for stream in self.streams:
                    self._show_redraw_line(stream, now)
                if self.live is not None:
                    self._update_progress(now)
                    self.live.draw(now)
            for stream in self.streams:
                if stream.fd >= 0:
                    self._read(stream, time.monotonic(), drain=True)
                    if stream.fd >= 0:  # a grandchild still holds the pipe: stop listening
                        self._close(stream)
        finally:
            if self.live is not None:
                self.live.erase()
            signal.set_wakeup_fd(previous_wakeup)
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            self.selector.close()
            for fd in (wake_read, wake_write):
                os.close(fd)
            for process in self.processes.values():  # only after an exception of ours
                self._signal_group(process, signal.SIGKILL)
                process.wait()
            for log in self.logs:
                log.close()
        self.exits.sort(key=lambda e: e.index)
        lost = tuple(o.name for o in (self.stdout, self.stderr) if o.failed)
        return RunResult(self.exits, self.stopped_by, time.monotonic() - start, lost)


def _size_like(fd: int, sink: Sink, jobs: int) -> None:
    """Give a worker's terminal the launcher's size, less the ``[wI] `` prefix."""
    import fcntl
    import struct
    import termios

    size = os.get_terminal_size(sink.handle.fileno())  # 0 x 0 when never set
    columns = max(20, (size.columns or 80) - len(f"[w{jobs - 1}] "))
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", size.lines or 24, columns, 0, 0))


def run_workers(plan: Plan, stdout: IO[bytes] | None = None, stderr: IO[bytes] | None = None,
                progress: Callable[[], str] | None = None,
                progress_interval: float = 1.0, terminal: bool = False) -> RunResult:
    """Start ``plan.jobs`` workers and return when every one of them has exited.

    Must run in the main thread (it handles SIGINT, SIGTERM, SIGHUP and SIGCHLD
    while it runs, and restores the previous handlers afterwards).
    ``progress``, when given, returns the status line kept at the bottom of the
    terminal. ``terminal``: the launcher's stdout is a terminal, and workers
    should get one (see `_Supervisor`).
    """
    os.makedirs(plan.log_folder, exist_ok=True)
    return _Supervisor(plan, stdout, stderr, progress, progress_interval, terminal).run()


def summary(status: dict[str, Any], plan: Plan, result: RunResult) -> str:
    """The lines printed when the launcher ends: what happened and how to go on."""
    from comet_optimize.cli import report

    failed = [e for e in result.exits if e.returncode != 0]
    workers = str(len(result.exits))
    if result.stopped_by is not None:
        workers += f", stopped by {signal.Signals(result.stopped_by).name}"
    if failed:
        workers += ": " + "; ".join(f"worker {e.index} {e.describe()}" for e in failed)
    else:
        workers += ", all exited with status 0"
    pairs = [
        ("search", status["id"] + (f"  {report.search_name(status)!r}"
                                   if report.search_name(status) else "")),
        ("algorithm", status["algorithm"]),
        ("status", status["status"]),
        ("experiments", report.counts_text(status)
         + (f" (budget {status['budget']})" if status.get("budget") else "")),
        ("best", report.best_text(status)),
        ("workers", workers),
        ("wall time", report.format_duration(result.wall_time)),
        ("logs", os.path.join(plan.log_folder, "worker-*.log")),
        ("details", f"comet optimize status {status['id']}"
         + (f" --store {shlex.quote(printable_location(plan.store))}" if plan.store_given
            or os.environ.get("COMET_OPTIMIZE_STORE") else "")),
        ("report", f"comet optimize report {status['id']}"
         + (f" --store {shlex.quote(printable_location(plan.store))}" if plan.store_given
            or os.environ.get("COMET_OPTIMIZE_STORE") else "") + "  (plots, as one HTML file)"),
    ]
    if status["status"] != "completed":
        pairs.append(("resume", plan.resume_command()))
    return "comet optimize: summary\n" + report.key_values(pairs)


def default_jobs(jobs: int | None, gpus: Sequence[str] | None) -> int:
    if jobs is not None:
        return jobs
    return len(gpus) if gpus else 1


def _terminate_with(launcher_pid: int) -> Callable[[], None] | None:
    """Linux: have each worker receive SIGTERM if the launcher dies, even by SIGKILL.

    Workers run in their own sessions (so that a terminal's Ctrl-C reaches them only
    through the launcher); without this a killed launcher would leave them running
    unseen, writing into pipes nobody reads. Their experiments then fail like any
    dead worker's and the search resumes as usual. The launcher has no threads, so
    running this between fork and exec is safe.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    set_parent_death_signal = 1  # PR_SET_PDEATHSIG

    def in_child() -> None:
        prctl(set_parent_death_signal, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != launcher_pid:  # the launcher died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return in_child
