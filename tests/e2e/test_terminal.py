"""`comet optimize` and terminals: redraws shown promptly, pseudo-terminals, -j 1 interactive.

The launcher runs under a real pseudo-terminal (``pty.openpty``) where a test
needs one. Synchronisation is on output and on FIFOs the workers block on,
never on sleeps.
"""

from __future__ import annotations

import errno
import json
import os
import pty
import re
import select
import subprocess
import sys
import time

import pytest

from comet_optimize.store import FileStore

HERE = os.path.dirname(os.path.abspath(__file__))
REDRAW = os.path.join(HERE, "scripts", "redraw_worker.py")
COMET = [sys.executable, "-m", "comet_optimize.cli"]


def environment(store: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("COMET_OPTIMIZER_ID", "PYTHONBREAKPOINT")}
    env["COMET_OPTIMIZE_STORE"] = store
    return env


def write_config(tmp_path) -> str:
    path = tmp_path / "opt.config"
    path.write_text(json.dumps({"algorithm": "grid", "parameters": {"x": [1, 2]}}))
    return str(path)


def fifos(tmp_path, jobs: int) -> str:
    prefix = str(tmp_path / "go")
    for index in range(jobs):
        os.mkfifo(f"{prefix}-{index}")
    return prefix


def release(prefix: str, index: int) -> None:
    """Let worker ``index`` finish: it blocks reading its FIFO until a writer comes and goes."""
    with open(f"{prefix}-{index}", "w"):
        pass


def log_of(store: str, index: int) -> str:
    (optimizer_id,) = FileStore(store).list_ids()
    with open(os.path.join(store, optimizer_id, "logs", f"worker-{index}.log")) as handle:
        return handle.read()


class Reader:
    """Everything a file descriptor yields, read as it comes, until some text shows up."""

    def __init__(self, fd: int):
        self.fd = fd
        self.text = ""
        self.closed = False

    def until(self, pattern: str, timeout: float = 30.0) -> re.Match:
        deadline = time.monotonic() + timeout
        while True:
            match = re.search(pattern, self.text)
            if match:
                return match
            left = deadline - time.monotonic()
            assert left > 0 and not self.closed, f"no {pattern!r} in {self.text!r}"
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                self._read()

    def _read(self) -> None:
        try:
            data = os.read(self.fd, 65536)
        except OSError as error:  # EIO: the pseudo-terminal's last writer is gone
            if error.errno != errno.EIO:
                raise
            data = b""
        if not data:
            self.closed = True
        self.text += data.decode("utf-8", "replace").replace("\r\n", "\n")

    def rest(self, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while not self.closed and time.monotonic() < deadline:
            ready, _, _ = select.select([self.fd], [], [], deadline - time.monotonic())
            if ready:
                self._read()
        return self.text


def test_redraws_reach_a_pipe_promptly_and_the_log_once(tmp_path, file_store):
    store = file_store
    prefix = fifos(tmp_path, 1)
    launcher = subprocess.Popen(
        [*COMET, "optimize", REDRAW, write_config(tmp_path), prefix, "500", "stderr"],
        env=environment(store), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    err = Reader(launcher.stderr.fileno())
    err.until(r"\[w0\] progress 500/500\n")  # while the worker is still alive, blocked
    assert launcher.poll() is None
    release(prefix, 0)
    out = Reader(launcher.stdout.fileno()).rest()
    text = err.rest()
    assert launcher.wait(timeout=30) == 0, text
    assert "[w0] finished" in out
    shown = [line for line in text.splitlines() if "progress" in line]
    assert 2 <= len(shown) <= 4, shown  # the first redraw, the latest, the finished line
    assert shown[-1] == "[w0] progress 500/500"
    log = log_of(store, 0)
    assert log.count("progress") == 1 and "progress 500/500\n" in log  # no flooding
    assert "\r" not in log


def launch_in_terminal(tmp_path, store: str, *args: str, columns: int = 100
                       ) -> tuple[subprocess.Popen, Reader, int]:
    master, slave = pty.openpty()
    import fcntl
    import struct
    import termios

    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    launcher = subprocess.Popen(  # a session of its own, led from this terminal, as in a shell
        [*COMET, "optimize", *args], env=environment(store), stdin=slave, stdout=slave,
        stderr=slave, start_new_session=True,
        preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
    os.close(slave)
    return launcher, Reader(master), master


def test_workers_get_pseudo_terminals_when_the_launcher_has_a_terminal(tmp_path, file_store):
    store = file_store
    prefix = fifos(tmp_path, 2)
    launcher, terminal, master = launch_in_terminal(
        tmp_path, store, "-j", "2", REDRAW, write_config(tmp_path), prefix, "300", "stdout")
    try:
        for index in (0, 1):
            hello = json.loads(terminal.until(rf"\[w{index}\] hello (\{{.*?\}})\n").group(1))
            assert hello["stdout"] and hello["stderr"]  # tqdm, Keras, colours: a terminal
            assert hello["stdin"] is False  # several workers cannot share the keyboard
            assert hello["columns"] == 100 - len("[w1] ")
        for index in (0, 1):  # the latest redraw of each, in place, before they end
            terminal.until(rf"\[w{index}\] progress 300/300")
        assert launcher.poll() is None
        assert "\x1b[K" in terminal.text  # drawn in place, not as new lines
        release(prefix, 0)
        release(prefix, 1)
        text = terminal.rest()
    finally:
        os.close(master)
    assert launcher.wait(timeout=30) == 0, text
    assert "[w0] finished\n" in text and "[w1] finished\n" in text
    assert "comet optimize: summary" in text
    for index in (0, 1):
        log = log_of(store, index)
        assert log.count("progress") == 1 and "progress 300/300\n" in log
        assert "hello" in log and "[w" not in log


INTERACTIVE = """\
import os, sys
print("tty", sys.stdin.isatty(), sys.stdout.isatty(), os.ttyname(0) == os.ttyname(1))
name = input("name? ")
x = 41
breakpoint()
print("got", name, x + 1)
"""


def test_one_worker_on_a_terminal_gets_it_stdin_included(tmp_path, file_store):
    store = file_store
    script = tmp_path / "interactive.py"
    script.write_text(INTERACTIVE)
    launcher, terminal, master = launch_in_terminal(tmp_path, store, str(script),
                                                    write_config(tmp_path))
    try:
        terminal.until(r"tty True True True\n")
        terminal.until(r"name\? ")
        os.write(master, b"ada\n")
        terminal.until(r"\(Pdb\) ")
        os.write(master, b"p x * 2\n")
        terminal.until(r"\n82\n")
        os.write(master, b"c\n")
        terminal.until(r"got ada 42\n")
        text = terminal.rest()
    finally:
        os.close(master)
    assert launcher.wait(timeout=30) == 0, text
    assert "[w0]" not in text  # the worker's own terminal: nothing in between
    assert "comet optimize: summary" in text
    assert "its output went to the terminal" in log_of(store, 0)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_on_the_terminal_still_stops_the_workers(tmp_path, file_store, jobs):
    store = file_store
    prefix = fifos(tmp_path, int(jobs))
    launcher, terminal, master = launch_in_terminal(
        tmp_path, store, "-j", jobs, "--grace", "20", REDRAW, write_config(tmp_path), prefix,
        "3", "stdout")
    try:
        for index in range(int(jobs)):
            terminal.until("progress 3/3" if jobs == "1" else rf"\[w{index}\] progress 3/3")
        os.write(master, b"\x03")  # Ctrl-C, as typed: the terminal signals its foreground
        text = terminal.rest()
    finally:
        os.close(master)
    assert launcher.wait(timeout=30) == 130, text
    assert f"SIGINT: stopping {jobs} worker(s)" in text
    assert "resume" in text


def test_stderr_on_a_full_device_moves_the_summary_to_stdout(tmp_path, file_store):
    script = tmp_path / "hello.py"
    script.write_text("print('hello')\n")
    with open("/dev/full", "w") as full:
        run = subprocess.run([*COMET, "optimize", "-j", "2", str(script),
                              write_config(tmp_path)], env=environment(file_store),
                             stdout=subprocess.PIPE, stderr=full, text=True, timeout=60)
        bad = subprocess.run([*COMET, "optimize", "--grace", "nan", str(script),
                              write_config(tmp_path)], env=environment(file_store),
                             stdout=subprocess.PIPE, stderr=full, text=True, timeout=60)
    assert run.returncode == 0  # the COMET INFO line that cannot be printed costs nothing
    assert run.stdout.count("] hello\n") == 2
    assert "comet optimize: summary" in run.stdout and "all exited with status 0" in run.stdout
    assert (bad.returncode, bad.stdout) == (2, "")  # the error is lost, the status is not


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_resized_terminal_resizes_the_workers_terminals_and_tells_them(tmp_path, file_store,
                                                                         jobs):
    import fcntl
    import struct
    import termios

    prefix = fifos(tmp_path, int(jobs))
    launcher, terminal, master = launch_in_terminal(
        tmp_path, file_store, "-j", jobs, REDRAW, write_config(tmp_path), prefix, "3", "stdout")
    tag = "" if jobs == "1" else r"\[w{}\] "
    try:
        for index in range(int(jobs)):
            terminal.until(tag.format(index) + "progress 3/3")
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        columns = 120 if jobs == "1" else 120 - len("[w1] ")
        for index in range(int(jobs)):
            terminal.until(tag.format(index) + f"winch {columns}\n")
            release(prefix, index)
        text = terminal.rest()
    finally:
        os.close(master)
    assert launcher.wait(timeout=30) == 0, text


def test_printing_the_id_to_a_full_stdout_is_one_line_that_still_names_it(tmp_path, file_store):
    with open("/dev/full", "w") as full:
        run = subprocess.run([*COMET, "optimize", write_config(tmp_path)],
                             env=environment(file_store), stdout=full, stderr=subprocess.PIPE,
                             text=True, timeout=60)
    (optimizer_id,) = FileStore(file_store).list_ids()
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert run.stderr.splitlines()[-1] == (
        f"Error: cannot write the optimizer id to stdout (No space left on device); "
        f"it is {optimizer_id}")
