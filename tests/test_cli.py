"""The `comet` command line: dispatch, bad input, status/list/export output, start-up cost."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import threading
import time

import pytest

from comet_optimize import Optimizer
from comet_optimize.cli import commands
from comet_optimize.cli.launcher import BadInput, Plan, parse_gpus
from comet_optimize.cli.main import first_positional
from comet_optimize.cli.main import split_script_args as commands_split

COMET = [sys.executable, "-m", "comet_optimize.cli"]
HELLO = "import sys; print('hello from', sys.argv[1:])\n"


def comet(*args: str, store: str, cwd: str | None = None, **env: str
          ) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "COMET_OPTIMIZER_ID"}
    environment.update(COMET_OPTIMIZE_STORE=store, **env)
    return subprocess.run([*COMET, *args], env=environment, capture_output=True, text=True,
                          cwd=cwd, timeout=60)


@pytest.fixture
def finished(store) -> Optimizer:
    """A completed search: x in 1..4, loss (x - 3)^2, so the best is x=3."""
    opt = Optimizer({"algorithm": "grid", "name": "finished", "spec": {"metric": "loss"},
                     "parameters": {"x": [1, 2, 3, 4], "opt": ["adam"]}}, verbose=0, store=store)
    for experiment in opt.get_experiments():
        experiment.log_metric("loss", (experiment.params["x"] - 3) ** 2)
    return opt


def test_first_positional_skips_options_and_their_values():
    values = {"-j", "--store"}
    assert first_positional(["-j", "2", "status", "x"], values) == 2
    assert first_positional(["--store=/s", "list"], values) == 1
    assert first_positional(["-j2", "--", "status"], values) is None


def test_parse_gpus_accepts_indices_and_uuids():
    assert parse_gpus("0, 1,3") == ["0", "1", "3"]
    assert parse_gpus("GPU-8f2a-11") == ["GPU-8f2a-11"]
    for garbage in ("", "a", "0,,1", "0;1", "-1"):
        with pytest.raises(BadInput):
            parse_gpus(garbage)


def test_resume_command_attaches_through_the_env_when_given_a_config():
    plan = Plan(script="train.py", optimizer="my opt.config", optimizer_id="a" * 32,
                store="/s", jobs=2, executable="python", args=["--lr", "0.1"], trials=2,
                store_given=True)
    assert plan.resume_command() == (
        f"COMET_OPTIMIZER_ID={'a' * 32} comet optimize -j 2 -t 2 --store /s train.py "
        f"'my opt.config' -- --lr 0.1")
    plan.optimizer = "a" * 32
    assert plan.resume_command().startswith("comet optimize -j 2")


def test_help_and_version_do_not_import_numpy():
    code = ("import sys\nfrom comet_optimize.cli.main import cli\n"
            "for args in (['--help'], ['optimize', '--help'], ['--version']):\n"
            "    cli.main(args=args, prog_name='comet', standalone_mode=False)\n"
            "assert 'numpy' not in sys.modules, 'numpy imported'\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "comet_optimize 0.1.0" in run.stdout
    assert "[OPTIONS] [SCRIPT] OPTIMIZER [[--] ARGS...]" in run.stdout
    assert "-j, --jobs, --parallel N" in run.stdout
    assert "status" in run.stdout and "export" in run.stdout


def bad_inputs(tmp_path) -> list[tuple[list[str], str]]:
    script = tmp_path / "train.py"
    script.write_text(HELLO)
    config = tmp_path / "opt.config"
    config.write_text('{"algorithm": "grid", "parameters": {"x": [1, 2]}}')
    invalid = tmp_path / "invalid.config"
    invalid.write_text('{"algorithm": "baye", "parameters": {"x": [1, 2]}}')
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    unknown = "0123456789abcdef0123456789abcdef"
    s, c = str(script), str(config)
    return [
        (["optimize", "-j", "2", str(tmp_path / "missing.py"), c], "missing.py: no such file"),
        (["optimize", str(tmp_path), c], "not a file"),
        (["optimize", s, unknown], f"unknown optimizer id {unknown}"),
        (["optimize", s, "not-an-id"], "neither a config file nor an optimizer id"),
        (["optimize", s, str(invalid)], 'unknown algorithm "baye"'),
        (["optimize", "-j", "0", s, c], "0 is not in the range"),
        (["optimize", "--gpus", "zero,one", s, c], '"zero" is not a GPU index'),
        (["optimize", "--store", str(a_file), s, c], "not a directory"),
        (["optimize", "--store", str(a_file), "list"], "not a directory"),
        (["optimize", "status", "not-an-id"], "is not an optimizer id"),
        # a huge value is repeated short, never whole
        (["optimize", "status", "a" * 5000], '"' + "a" * 40 + '..." is not an optimizer id'),
        (["optimize", "--grace", "9" * 5000, s, c], '"' + "9" * 40 + '..." is not a number'),
        (["optimize", "status", unknown], "unknown optimizer id"),
        (["optimize", "export", unknown, "--format", "xml"], "'xml' is not one of"),
        (["optimize", "--epochs", "5", s, c], "No such option '--epochs'"),  # before SCRIPT
        (["optimize", c, "--", "--epochs", "5"], "need a SCRIPT"),
        (["optimize", s], "give the OPTIMIZER"),
        (["optimize"], "missing OPTIMIZER"),
        (["optimize", "-e", "no-such-python", s, c], "no such executable"),
        (["optimize", "--bogus", s, c], "No such option"),
        # numeric options are finite and in range (--grace nan once made Ctrl-C spin)
        (["optimize", "--grace", "nan", s, c], '"nan" is not a number of seconds from 0'),
        (["optimize", "--grace", "inf", s, c], '"inf" is not a number of seconds'),
        (["optimize", "--grace", "-1", s, c], '"-1" is not a number of seconds'),
        (["optimize", "--grace", "1e9", s, c], "from 0 to 86400"),
        (["optimize", "--grace", "soon", s, c], '"soon" is not a number of seconds'),
        (["optimize", "-t", str(10**20), s, c], "is not in the range 1<=x<="),
        (["optimize", "-j", str(10**20), s, c], "more memory than this machine has"),
        # -d is checked before the search is created or a worker started
        (["optimize", "-d", str(tmp_path / "no-dir" / "x.json"), s, c], "no such directory"),
        (["optimize", "-d", str(tmp_path), s, c], "is a directory"),
        (["optimize", "-d", str(tmp_path / "no-dir" / "x.json"), c], "no such directory"),
        # -d taken for something else: the script or the config would be replaced by JSON
        (["optimize", "-d", s, c], "the file exists and is not a dump (JSON)"),
        (["optimize", "-d", s, s, c], "the file exists and is not a dump (JSON)"),
        (["optimize", "--report", s, s, c], "the file exists and is not a report (HTML)"),
        # a folder no file can be made in, though root may "write" it
        *([(["optimize", "-d", "/proc/comet-status.json", s, c], "not writable"),
           (["optimize", "--report", "/proc/comet-report.html", s, c], "not writable")]
          if os.path.isdir("/proc/self") else []),
    ]


def test_every_bad_input_is_one_line_and_exit_2(tmp_path, store):
    for args, expected in bad_inputs(tmp_path):
        run = comet(*args, store=store)
        assert run.returncode == 2, (args, run.stderr)
        assert run.stderr.count("\n") == 1 and run.stderr.startswith("Error: "), (args, run.stderr)
        assert expected in run.stderr, (args, run.stderr)
        assert "Traceback" not in run.stderr and run.stdout == ""
    assert not os.path.exists(os.path.join(store))  # nothing was created by a mistake
    assert (tmp_path / "train.py").read_text() == HELLO  # nor overwritten


def test_a_dump_overwrites_an_earlier_dump_or_an_empty_file(tmp_path, store):
    config = tmp_path / "opt.config"
    config.write_text('{"algorithm": "grid", "parameters": {"x": [1, 2]}}')
    for earlier in ("", '  {"id": "an earlier dump"}\n'):
        dump = tmp_path / "status.json"
        dump.write_text(earlier)
        run = comet("optimize", "-d", str(dump), str(config), store=store)
        assert run.returncode == 0, run.stderr
        assert json.loads(dump.read_text())["algorithm"] == "grid"


def test_split_script_args_keeps_the_launchers_options_and_forwards_the_rest():
    known = {"-j", "--jobs", "--parallel", "-t", "--store", "-h", "--help"}
    values = {"-j", "--jobs", "--parallel", "-t", "--store"}
    mine, theirs = commands_split(["-j", "2", "a.py", "b", "--lr", "0.1", "data.csv",
                                   "--store=/s", "-t3", "--", "-j", "5"], known, values)
    assert mine == ["-j", "2", "a.py", "b", "--store=/s", "-t3"]
    assert theirs == ["--lr", "0.1", "data.csv", "-j", "5"]
    mine, _ = commands_split(["--lr", "1", "a.py", "b"], known, values)
    assert mine[0] == "--lr"  # before OPTIMIZER: left for click to refuse
    assert commands_split(["a.py", "b", "--lr", "-0.5"], known, values) == (
        ["a.py", "b"], ["--lr", "-0.5"])


def test_parallel_is_j_and_unknown_arguments_after_optimizer_reach_the_script(tmp_path, store):
    (tmp_path / "train.py").write_text(HELLO)
    config = tmp_path / "opt.config"
    config.write_text('{"algorithm": "grid", "parameters": {"x": [1]}}')
    run = comet("optimize", "--parallel", "2", "train.py", str(config), "--epochs", "5",
                "data.csv", "-t", "1", "--", "-j", "3", store=store, cwd=str(tmp_path))
    assert run.returncode == 0, run.stderr
    expected = repr([str(config), "--epochs", "5", "data.csv", "-j", "3", "--trials", "1"])
    assert sorted(run.stdout.splitlines()) == [f"[w0] hello from {expected}",
                                               f"[w1] hello from {expected}"]
    assert "-j 2 -t 1" in run.stderr  # the resume line keeps them apart again
    assert "-- --epochs 5 data.csv -j 3" in run.stderr


def test_a_script_named_like_a_subcommand_runs_as_dot_slash(tmp_path, store):
    (tmp_path / "status").write_text(HELLO)
    config = tmp_path / "opt.config"
    config.write_text('{"algorithm": "grid", "parameters": {"x": [1]}}')
    run = comet("optimize", "./status", str(config), store=store, cwd=str(tmp_path))
    assert run.returncode == 0, run.stderr
    assert f"[w0] hello from ['{config}']" in run.stdout


def test_status_counts_what_a_worker_has_reserved(store):
    opt = Optimizer({"algorithm": "grid", "spec": {"maxCombo": 100},
                     "parameters": {"x": {"type": "double", "min": 0, "max": 1,
                                          "gridSize": 100}}}, verbose=0, store=store)
    loop = opt.get_experiments()  # fast experiments: the loop reserves ahead
    for _ in range(10):
        experiment = next(loop)
        experiment.log_metric("loss", experiment.params["x"])
    reserved = opt.status()["reserved"]
    assert reserved > 0
    text = comet("optimize", "status", opt.id, store=store).stdout
    assert f"10 assigned: 9 completed, 1 running, 0 aborted, 0 failed, {reserved} reserved" \
        in text
    loop.close()  # gives them back (the experiment in hand stays open)
    text = comet("optimize", "status", opt.id, store=store).stdout
    assert "10 assigned: 9 completed, 1 running, 0 aborted, 0 failed\n" in text
    experiment.end()


def test_status_table_shows_counts_best_and_top(finished, store):
    run = comet("optimize", "status", finished.id, store=store)
    assert run.returncode == 0, run.stderr
    text = run.stdout
    assert f"Search {finished.id}  'finished'" in text
    assert "algorithm    grid" in text and "status       completed" in text
    assert "4 assigned: 4 completed, 0 running, 0 aborted, 0 failed" in text
    assert "best         loss=0 (minimize) at #3: x=3, opt=adam" in text
    top = text.split("Top 4 (by loss, minimize)\n")[1].splitlines()
    assert top[0].split() == ["count", "trial", "loss", "x", "opt"]
    assert [line.split()[3] for line in top[1:5]] == ["3", "2", "4", "1"]
    assert "Nothing running." in text


def test_status_json_is_the_status_plus_top_and_running(finished, store):
    run = comet("optimize", "--store", store, "status", finished.id, "--json",
                store="/nonexistent-default")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["id"] == finished.id and data["status"] == "completed"
    assert (data["completed"], data["failed"], data["budget"]) == (4, 0, 4)
    assert data["best"]["parameters"] == {"x": 3, "opt": "adam"}
    assert [e["parameters"]["x"] for e in data["top"]] == [3, 2, 4, 1]
    assert data["running_workers"] == []


def test_status_shows_who_is_running_what(store):
    opt = Optimizer({"algorithm": "grid", "parameters": {"x": [1, 2]}}, verbose=0, store=store)
    experiment = opt.next()
    data = json.loads(commands.status_text(opt.id, store, as_json=True))
    (worker,) = data["running_workers"]
    assert worker["process"] == os.getpid() and worker["counts"] == [experiment.count]
    assert "Running now" in commands.status_text(opt.id, store)


def test_list_shows_every_search(finished, store):
    Optimizer({"algorithm": "random", "parameters": {"y": [1, 2]}}, verbose=0, store=store)
    run = comet("optimize", "list", store=store)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == f"Searches in {store}"
    assert lines[1].split() == ["id", "name", "algorithm", "status", "done/budget", "best",
                                "started"]
    assert lines[2].split()[:6] == [finished.id, "finished", "grid", "completed", "4/4", "0"]
    assert lines[3].split()[2:5] == ["random", "running", "0/2"]
    rows = json.loads(comet("optimize", "list", "--json", store=store).stdout)
    assert [r["id"] for r in rows][0] == finished.id


def test_export_has_one_row_per_experiment_with_parameters_as_columns(finished, store, tmp_path):
    run = comet("optimize", "export", finished.id, store=store)
    assert run.returncode == 0, run.stderr
    rows = list(csv.DictReader(io.StringIO(run.stdout)))
    assert list(rows[0])[:6] == ["count", "trial", "status", "score", "x", "opt"]
    assert [(r["count"], r["x"], r["score"]) for r in rows] == [
        ("1", "1", "4.0"), ("2", "2", "1.0"), ("3", "3", "0.0"), ("4", "4", "1.0")]
    assert [r["metric_loss"] for r in rows] == ["4", "1", "0", "1"]  # each metric's last value
    out = tmp_path / "rows.json"
    run = comet("optimize", "export", finished.id, "--format", "json", "-o", str(out),
                store=store)
    assert run.returncode == 0 and run.stdout == ""
    rows = json.loads(out.read_text())
    assert rows[2]["x"] == 3 and rows[2]["status"] == "completed" and rows[2]["opt"] == "adam"


def test_export_says_why_an_experiment_failed(store):
    """The reason was recorded but no export showed it: a failed row said nothing."""
    opt = Optimizer({"algorithm": "grid", "parameters": {"reason": [1, 2]}}, verbose=0,
                    store=store)
    with pytest.raises(RuntimeError), opt.next():
        raise RuntimeError("CUDA out of memory")
    second = opt.next()
    second.log_metric("loss", 1.0)
    second.end()
    rows = list(csv.DictReader(io.StringIO(comet("optimize", "export", opt.id,
                                                 store=store).stdout)))
    assert list(rows[0])[-1] == "reason" and "param_reason" in rows[0]
    assert [(r["status"], r["reason"]) for r in rows] == [
        ("failed", "raised RuntimeError: CUDA out of memory"), ("completed", "")]


def test_status_of_an_explicit_id_ignores_comet_optimizer_id(finished, store):
    other = Optimizer({"algorithm": "grid", "parameters": {"y": [1]}}, verbose=0, store=store)
    run = comet("optimize", "status", finished.id, "--json", store=store,
                COMET_OPTIMIZER_ID=other.id)
    assert json.loads(run.stdout)["id"] == finished.id
    run = comet("optimize", "status", "--json", store=store, COMET_OPTIMIZER_ID=other.id)
    assert json.loads(run.stdout)["id"] == other.id


HOSTILE_TEXT = "\x1b[2J\x1b]0;title\x07\r\nfake line\u202e"


def search_with_a_hostile_host_and_name(store: str) -> Optimizer:
    """A search named ``HOSTILE_TEXT`` whose experiment #2 runs on a host of that name,
    as another machine sharing the store could write it."""
    opt = Optimizer({"algorithm": "random", "name": HOSTILE_TEXT, "spec": {"maxCombo": 3},
                     "parameters": {"x": {"type": "float", "min": 0, "max": 1}}},
                    verbose=0, store=store)
    experiment = opt.next()
    experiment.log_metric("loss", 0.5)
    experiment.end()
    journal = os.path.join(store, opt.id, "journal.jsonl")
    assign = next(json.loads(line) for line in open(journal) if '"assign"' in line)
    assign.update(count=2, experiment="b" * 32, pid="c" * 32, host=HOSTILE_TEXT,
                  process=999999)
    with open(journal, "a") as handle:
        handle.write(json.dumps(assign) + "\n")
    return opt


def test_control_characters_from_a_shared_store_are_shown_escaped(file_store):
    """A name, tag or host read from a store others write to cannot rewrite the terminal
    (clear it, set its title) or fake a line of status."""
    opt = search_with_a_hostile_host_and_name(file_store)
    for args in (["status", opt.id], ["list"]):
        run = comet("optimize", *args, store=file_store)
        assert run.returncode == 0, run.stderr
        assert "\x1b" not in run.stdout and "\r" not in run.stdout and "\u202e" not in run.stdout
        assert not any(line.startswith("fake line") for line in run.stdout.splitlines())
        assert "\\x1b[2J" in run.stdout


def test_watch_shows_control_characters_from_a_shared_store_escaped(file_store):
    """The redrawn frame of ``status --watch`` too: a host name that clears the screen or
    fakes a line is written as escapes (the frame's own cursor moves are the only ones)."""
    from comet_optimize.cli import watch

    opt = search_with_a_hostile_host_and_name(file_store)
    out = io.StringIO()

    def stop(seconds: float) -> None:
        raise KeyboardInterrupt

    watch.watch(Optimizer(opt.id, verbose=0, store=file_store), out, is_terminal=True,
                sleep=stop)
    shown = out.getvalue()
    assert "\\x1b[2J" in shown and "running:" in shown
    assert "\x1b" not in shown and "\r" not in shown and "\u202e" not in shown
    assert not any(line.startswith("fake line") for line in shown.splitlines())


def test_a_terminal_in_a_legacy_encoding_shows_every_name(file_store):
    opt = Optimizer({"algorithm": "grid", "name": "überprüfung 😀", "spec": {"maxCombo": 2},
                     "parameters": {"act": ["relu", "tänh ✓"]}}, verbose=0, store=file_store)
    for experiment in opt.get_experiments():
        experiment.log_metric("loss", 1.0)
    for args in (["status", opt.id], ["list"], ["export", opt.id]):
        run = subprocess.run([*COMET, "optimize", *args], capture_output=True,
                             env={**os.environ, "COMET_OPTIMIZE_STORE": file_store,
                                  "PYTHONIOENCODING": "latin-1"}, timeout=60)
        assert run.returncode == 0, run.stderr
        assert b"Traceback" not in run.stderr
    assert "t\xe4nh \\u2713".encode("latin-1") in run.stdout  # what latin-1 cannot say, escaped


def test_a_config_can_come_through_a_pipe(file_store):
    """``cat opt.config | comet optimize /dev/stdin`` and ``<(...)`` read the config once."""
    config = json.dumps({"algorithm": "random", "spec": {"maxCombo": 2},
                         "parameters": {"x": {"type": "float", "min": 0, "max": 1}}})
    run = subprocess.run([*COMET, "optimize", "/dev/stdin"], input=config, text=True,
                         capture_output=True, timeout=60,
                         env={**os.environ, "COMET_OPTIMIZE_STORE": file_store})
    assert run.returncode == 0, run.stderr
    optimizer_id = run.stdout.strip()
    assert Optimizer(optimizer_id, verbose=0, store=file_store).status()["budget"] == 2


def test_output_that_cannot_be_written_is_one_line(finished, store):
    """``export ID > out.csv`` on a full disk (here /dev/full) says so, without a traceback."""
    for args in (["export", finished.id], ["status", finished.id], ["list"]):
        with open("/dev/full", "w") as full:
            run = subprocess.run([*COMET, "optimize", *args], stdout=full,
                                 stderr=subprocess.PIPE, text=True, timeout=60,
                                 env={**os.environ, "COMET_OPTIMIZE_STORE": store})
        assert run.returncode == 1, run.stderr
        assert run.stderr == ("Error: cannot write to the standard output "
                              "(No space left on device)\n"), run.stderr


def test_an_output_fifo_is_written_once_read_and_refused_when_nothing_reads(tmp_path,
                                                                          monkeypatch):
    """``-o`` or ``-d`` naming a FIFO with no reader waited forever in open(), after the
    whole search had run. It is refused after ``PIPE_READER_SECONDS``; a reader that
    opens the FIFO after us (``comet ... -o p & cat p``) still gets the output."""
    from comet_optimize import safe_files

    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    monkeypatch.setattr(safe_files, "PIPE_READER_SECONDS", 0.0, raising=False)
    with pytest.raises(OSError, match="a named pipe that nothing read within 0 s"):
        safe_files.write_output(str(fifo), b"{}")

    # A reader that opens the FIFO only once the writer is waiting for one.
    monkeypatch.setattr(safe_files, "PIPE_READER_SECONDS", 60.0)
    waiting = threading.Event()
    real_sleep = time.sleep

    def sleep(seconds: float) -> None:
        waiting.set()
        real_sleep(seconds)

    monkeypatch.setattr(safe_files.time, "sleep", sleep)
    writer = threading.Thread(target=safe_files.write_output, args=(str(fifo), b'{"rows": 4}'))
    writer.start()
    assert waiting.wait(timeout=60), "the writer did not wait for a reader"
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        writer.join(timeout=60)
        received = os.read(reader, 1 << 20)
    finally:
        os.close(reader)
    assert json.loads(received) == {"rows": 4}


def test_a_dump_to_the_launchers_own_stdout_keeps_what_was_written_there(tmp_path, store):
    """``-d /dev/stdout`` with stdout redirected to a file opened the file again with
    O_TRUNC: the workers' lines before the dump were lost."""
    script = tmp_path / "train.py"
    script.write_text("import sys\nfrom comet_optimize import Optimizer\n"
                      "for e in Optimizer(sys.argv[1]).get_experiments():\n"
                      "    print('trained', e.params['x'], flush=True)\n"
                      "    e.log_metric('loss', e.params['x'])\n")
    config = tmp_path / "opt.config"
    config.write_text('{"algorithm": "grid", "parameters": {"x": [1, 2]}, '
                      '"spec": {"metric": "loss"}}')
    log = tmp_path / "run.log"
    with open(log, "wb") as out:
        run = subprocess.run([*COMET, "optimize", "-d", "/dev/stdout", str(script),
                              str(config)], stdout=out, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "COMET_OPTIMIZE_STORE": store}, timeout=120)
    assert run.returncode == 0, run.stderr
    text = log.read_text()
    assert "trained 1" in text and "trained 2" in text, text
    assert json.loads(text[text.index("\n{") + 1:])["algorithm"] == "grid"


def test_a_dump_that_fails_at_the_end_still_writes_the_report_and_exits_1(tmp_path, store):
    """A ``-d`` write that failed after the search had run ended the launcher with 2
    before ``--report`` was written."""
    pytest.importorskip("plotly", reason="the report is in the 'report' extra")
    folder = tmp_path / "gone"
    folder.mkdir()
    script = tmp_path / "train.py"
    script.write_text("import shutil, sys\nfrom comet_optimize import Optimizer\n"
                      f"shutil.rmtree({str(folder)!r}, ignore_errors=True)\n"
                      "for e in Optimizer(sys.argv[1]).get_experiments():\n"
                      "    e.log_metric('loss', e.params['x'])\n")
    config = tmp_path / "opt.config"
    config.write_text('{"algorithm": "grid", "parameters": {"x": [1, 2]}, '
                      '"spec": {"metric": "loss"}}')
    report = tmp_path / "report.html"
    run = comet("optimize", "-d", str(folder / "status.json"), "--report", str(report),
                str(script), str(config), store=store)
    assert run.returncode == 1, run.stderr
    assert f"comet optimize: no dump: -d {folder / 'status.json'}: No such file or " \
           f"directory" in run.stderr
    assert report.read_text().startswith("<!doctype html")


NONBLOCKING_STDOUT = """
import fcntl, os, select, sys
from comet_optimize import safe_files

fcntl.fcntl(1, fcntl.F_SETFL, fcntl.fcntl(1, fcntl.F_GETFL) | os.O_NONBLOCK)
filled = 0
try:
    while True:  # fill the pipe: the next write cannot go through at once
        filled += os.write(1, b"x" * 4096)
except BlockingIOError:
    pass
sys.stderr.write(f"{filled}\\n")
sys.stderr.flush()
real_poll = select.poll


def poll_saying_so():  # the parent starts reading only once the writer waits
    sys.stderr.write("waiting\\n")
    sys.stderr.flush()
    return real_poll()


select.poll = poll_saying_so
safe_files.write_output("/dev/stdout", b"y" * 300_000)
"""


def test_an_output_to_a_non_blocking_stdout_is_written_whole():
    """A stdout left non-blocking by whoever started us (a CI runner) took what its pipe
    could hold of a ``-d /dev/stdout`` dump, then raised BlockingIOError: the log had a
    truncated dump."""
    child = subprocess.Popen([sys.executable, "-c", NONBLOCKING_STDOUT],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    filled = int(child.stderr.readline())  # the pipe is full
    child.stderr.readline()  # "waiting" (or the end, when the write gave up): now read
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err.decode()[-2000:]
    assert len(out) == filled + 300_000 and out.endswith(b"y" * 300_000)
