"""`comet optimize` with real worker processes: budget sharing, env, GPUs, failures, Ctrl-C.

Every test runs the real console entry point in a subprocess against its own
store. Synchronisation is on what the processes print or record, never on sleeps.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time

import pytest

from comet_optimize import Optimizer
from tests.conftest import log_folder

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "scripts", "launched_worker.py")
COMET = [sys.executable, "-m", "comet_optimize.cli"]


def write_config(tmp_path, values, **spec) -> str:
    path = tmp_path / "opt.config"
    config = {"algorithm": "grid", "parameters": {"x": list(values)}, "spec": spec}
    path.write_text(json.dumps(config))
    return str(path)


def environment(store: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "COMET_OPTIMIZER_ID"}
    env["COMET_OPTIMIZE_STORE"] = store
    env.update(extra)
    return env


def comet(store: str, *args: str, env: dict[str, str] | None = None,
          timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*COMET, *args], env=env or environment(store),
                          capture_output=True, text=True, timeout=timeout)


def worker_lines(stdout: str, prefix: str) -> dict[int, list[str]]:
    """Worker output by worker number, prefix stripped, keeping lines that start with prefix."""
    out: dict[int, list[str]] = {}
    for line in stdout.splitlines():
        tag, _, text = line.partition("] ")
        if tag.startswith("[w") and text.startswith(prefix):
            out.setdefault(int(tag[2:]), []).append(text)
    return out


def hellos(stdout: str) -> dict[int, dict]:
    return {w: json.loads(lines[0])["hello"]
            for w, lines in worker_lines(stdout, '{"hello"').items()}


def only_search(store: str) -> Optimizer:
    from comet_optimize.store import open_store

    ids = open_store(store).list_ids()
    assert len(ids) == 1, ids
    return Optimizer(ids[0], verbose=0, store=store)


def test_three_workers_share_the_budget_and_get_args_env_and_logs(tmp_path, store):
    config = write_config(tmp_path, range(12), maxCombo=12)  # the whole grid (0: 10 x 1)
    run = comet(store, "optimize", "-j", "3", WORKER, config, "--", "--flag", "v")
    assert run.returncode == 0, run.stderr

    seen = hellos(run.stdout)
    assert sorted(seen) == [0, 1, 2]
    opt = only_search(store)
    for index, hello in seen.items():
        assert hello["argv"] == [config, "--flag", "v"]  # the optimizer first, as written
        assert hello["env"]["COMET_OPTIMIZER_ID"] == opt.id
        assert hello["env"]["COMET_OPTIMIZER_PROCESS_ID"] == str(index)
        assert hello["env"]["COMET_OPTIMIZER_PROCESS_JOBS"] == "3"
        assert hello["env"]["COMET_OPTIMIZE_STORE"] == store
        assert hello["env"]["PYTHONUNBUFFERED"] == "1"
        assert hello["sid"] == hello["pid"]  # its own session: the terminal's ^C skips it
    assert len({hello["pid"] for hello in seen.values()}) == 3

    status = opt.status()
    assert (status["status"], status["assigned"], status["completed"]) == ("completed", 12, 12)
    experiments = opt.experiments()
    assert sorted(e["parameters"]["x"] for e in experiments) == list(range(12))
    assert len({e["pid"] for e in experiments}) == 12
    assert {e["process"] for e in experiments} <= {h["pid"] for h in seen.values()}
    done = worker_lines(run.stdout, "done ")
    assert sorted(int(line.split()[1]) for lines in done.values() for line in lines) == \
        list(range(1, 13))

    logs = log_folder(store, opt.id)
    for index in range(3):
        with open(os.path.join(logs, f"worker-{index}.log")) as handle:
            log = handle.read()
        assert '{"hello"' in log and "[w" not in log
    assert "resume" not in run.stderr  # complete: nothing to resume
    assert "3, all exited with status 0" in run.stderr


def test_gpus_are_given_round_robin_and_set_the_default_jobs(tmp_path, store):
    config = write_config(tmp_path, range(4))
    run = comet(store, "optimize", "--gpus", "0,1", "-j", "4", WORKER, config)
    assert run.returncode == 0, run.stderr
    seen = hellos(run.stdout)
    assert [seen[i]["env"]["CUDA_VISIBLE_DEVICES"] for i in range(4)] == ["0", "1", "0", "1"]

    run = comet(store, "optimize", "--gpus", "3,5", WORKER, config)  # -j defaults to 2 GPUs
    assert run.returncode == 0, run.stderr
    seen = hellos(run.stdout)
    assert {i: h["env"]["CUDA_VISIBLE_DEVICES"] for i, h in seen.items()} == {0: "3", 1: "5"}


def test_a_failing_worker_makes_the_exit_status_1_while_the_others_finish(tmp_path, store):
    config = write_config(tmp_path, range(6))
    run = comet(store, "optimize", "-j", "3", WORKER, config, "--", "--fail-process", "1")
    assert run.returncode == 1
    assert "[w1] failing on purpose" in run.stderr
    assert "worker 1 (pid" in run.stderr and "exited with status 1" in run.stderr
    status = only_search(store).status()
    assert (status["status"], status["completed"], status["failed"]) == ("completed", 6, 0)


def test_trials_reach_every_worker_and_dump_writes_the_final_status(tmp_path, store):
    config = write_config(tmp_path, [1, 2])
    dump = tmp_path / "final.json"
    run = comet(store, "optimize", "-j", "2", "-t", "3", "-d", str(dump), WORKER, config)
    assert run.returncode == 0, run.stderr
    for hello in hellos(run.stdout).values():
        assert hello["argv"] == [config, "--trials", "3"]
    final = json.loads(dump.read_text())
    assert (final["trials"], final["completed"], final["status"]) == (3, 6, "completed")
    assert [w["returncode"] for w in final["workers"]] == [0, 0]
    assert final["best"]["parameters"] == {"x": 1}


def test_one_argument_prints_only_the_id_and_the_env_id_is_attached_to(tmp_path, store):
    config = write_config(tmp_path, range(3))
    created = comet(store, "optimize", config)
    assert created.returncode == 0, created.stderr
    optimizer_id = created.stdout.strip()
    assert created.stdout == optimizer_id + "\n"
    assert f"COMET INFO: COMET_OPTIMIZER_ID={optimizer_id}" in created.stderr

    env = environment(store, COMET_OPTIMIZER_ID=optimizer_id)
    run = comet(store, "optimize", "-j", "2", WORKER, config, env=env)
    assert run.returncode == 0, run.stderr
    assert only_search(store).id == optimizer_id  # attached, no second search
    assert only_search(store).status()["completed"] == 3


def start_launcher(store: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([*COMET, "optimize", *args], env=environment(store),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_until_ready(launcher: subprocess.Popen, workers: int) -> list[int]:
    """Read the launcher's output until every worker holds an experiment; their pids."""
    pids = []
    while len(pids) < workers:
        line = launcher.stdout.readline()
        assert line, f"launcher ended early: {launcher.stderr.read()}"
        tag, _, text = line.partition("] ")
        if text.startswith("ready "):
            pids.append(int(text.split()[2]))
    return pids


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_ctrl_c_stops_workers_fails_their_experiments_and_the_resume_finishes(tmp_path, store):
    config = write_config(tmp_path, range(5), retryAssignLimit=1)
    hang = tmp_path / "hang"
    hang.touch()
    launcher = start_launcher(store, "-j", "2", "--grace", "10", WORKER, config,
                              "--", "--hang-while", str(hang))
    pids = wait_until_ready(launcher, 2)
    opt = only_search(store)
    assert opt.status()["running"] == 2

    sent = time.monotonic()
    launcher.send_signal(signal.SIGINT)
    out, err = launcher.communicate(timeout=30)
    assert time.monotonic() - sent < 10  # they stopped on SIGINT, not at the SIGKILL
    assert launcher.returncode == 130
    assert all(gone(pid) for pid in pids)
    status = Optimizer(opt.id, verbose=0, store=store).status()
    assert (status["running"], status["failed"], status["completed"]) == (0, 2, 0)
    assert "SIGINT: stopping 2 worker(s)" in err

    resume = next(line.split("resume", 1)[1].strip() for line in err.splitlines()
                  if line.strip().startswith("resume "))
    words = shlex.split(resume)
    assert words[0] == f"COMET_OPTIMIZER_ID={opt.id}" and words[1:3] == ["comet", "optimize"]
    hang.unlink()
    env = environment(store, COMET_OPTIMIZER_ID=opt.id)
    run = subprocess.run([*COMET, *words[2:]], env=env, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    final = Optimizer(opt.id, verbose=0, store=store)
    status = final.status()
    assert (status["status"], status["completed"], status["failed"], status["assigned"]) == \
        ("completed", 5, 2, 7)
    completed = [e for e in final.experiments() if e["status"] == "completed"]
    assert sorted(e["parameters"]["x"] for e in completed) == list(range(5))
    retried = [e for e in completed if e["retry"] == 1]
    assert len(retried) == 2  # the two interrupted ones, re-run once each


def test_a_worker_ignoring_ctrl_c_is_killed_after_the_grace_period(tmp_path, store):
    config = write_config(tmp_path, range(3))
    hang = tmp_path / "hang"
    hang.touch()
    launcher = start_launcher(store, "-j", "1", "--grace", "0.5", WORKER, config,
                              "--", "--hang-while", str(hang), "--ignore-sigint")
    (pid,) = wait_until_ready(launcher, 1)
    launcher.send_signal(signal.SIGINT)
    out, err = launcher.communicate(timeout=30)
    assert launcher.returncode == 130
    assert gone(pid)
    assert "grace period over: killing 1 worker(s)" in err
    status = only_search(store).status()
    assert (status["running"], status["failed"]) == (0, 1)
    killed = only_search(store).experiments()[0]
    assert killed["status"] == "failed" and "died" in killed["reason"]


@pytest.mark.parametrize("signum", [signal.SIGTERM])
def test_sigterm_is_forwarded_like_ctrl_c(tmp_path, store, signum):
    config = write_config(tmp_path, range(3))
    hang = tmp_path / "hang"
    hang.touch()
    launcher = start_launcher(store, "-j", "2", WORKER, config, "--", "--hang-while", str(hang))
    pids = wait_until_ready(launcher, 2)
    launcher.send_signal(signum)
    launcher.communicate(timeout=30)
    assert launcher.returncode == 128 + signum
    assert all(gone(pid) for pid in pids)
    status = only_search(store).status()
    assert (status["running"], status["failed"]) == (0, 2)


def test_workers_do_not_outlive_a_killed_launcher(tmp_path, store):
    config = write_config(tmp_path, range(3), retryAssignLimit=1)
    hang = tmp_path / "hang"
    hang.touch()
    launcher = start_launcher(store, "-j", "2", WORKER, config, "--", "--hang-while", str(hang))
    pids = wait_until_ready(launcher, 2)
    launcher.send_signal(signal.SIGKILL)  # no chance to forward anything
    launcher.communicate(timeout=30)
    import psutil

    for pid in pids:  # the kernel sends them SIGTERM when their parent dies
        try:
            psutil.Process(pid).wait(timeout=10)
        except psutil.NoSuchProcess:
            pass
        assert gone(pid)
    status = only_search(store).status()  # their experiments fail and can be resumed
    assert (status["running"], status["failed"]) == (0, 2)


# -- a sink that fails (issue 8, item 12): drop it, say so once, finish with the summary

CHATTY = """\
import sys
from comet_optimize import Optimizer
opt = Optimizer(sys.argv[1], verbose=0)
for experiment in opt.get_experiments():
    for line in range({lines}):
        print(f"line {{line}} of #{{experiment.count}} " + "x" * 1000)
    print("to stderr", file=sys.stderr)
    experiment.log_metric("loss", experiment.params["x"])
"""


def chatty_script(tmp_path, lines: int = 5) -> str:
    path = tmp_path / "chatty.py"
    path.write_text(CHATTY.format(lines=lines))
    return str(path)


def assert_summary_and_no_traceback(err: str, completed: int, store: str) -> None:
    assert "Traceback" not in err, err
    assert "comet optimize: summary" in err
    assert "all exited with status 0" in err
    assert only_search(store).status()["completed"] == completed


def test_stdout_on_a_full_device_is_dropped_once_and_the_run_completes(tmp_path, file_store):
    store = file_store
    config = write_config(tmp_path, range(4))
    with open("/dev/full", "wb") as full:
        run = subprocess.run([*COMET, "optimize", "-j", "2", chatty_script(tmp_path), config],
                             env=environment(store), stdout=full, stderr=subprocess.PIPE,
                             text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stderr.count("cannot write to stdout (No space left on device)") == 1
    assert "[w0] to stderr" in run.stderr or "[w1] to stderr" in run.stderr  # stderr still shown
    assert_summary_and_no_traceback(run.stderr, 4, store)
    opt = only_search(store)
    logs = "".join((tmp_path / "store" / opt.id / "logs" / f"worker-{i}.log").read_text()
                   for i in range(2))
    assert logs.count("line 4 of #") == 4  # every line still kept in the logs


@pytest.mark.parametrize("closed", [1, 2])
def test_a_closed_stdout_or_stderr_is_not_an_error(tmp_path, store, closed):
    config = write_config(tmp_path, range(3))
    run = subprocess.run([*COMET, "optimize", "-j", "2", chatty_script(tmp_path), config],
                         env=environment(store), capture_output=True, text=True, timeout=60,
                         preexec_fn=lambda: os.close(closed))  # as `>&-` / `2>&-` would
    assert run.returncode == 0, run.stderr
    shown = run.stderr if closed == 1 else run.stdout  # the summary goes where it can
    if closed == 1:
        assert run.stderr.count("stdout is closed: worker output goes only to the logs") == 1
    assert "Traceback" not in run.stderr + run.stdout
    assert "comet optimize: summary" in shown and "all exited with status 0" in shown
    assert only_search(store).status()["completed"] == 3


LEAVES_A_CHILD = """
import subprocess, sys
from comet_optimize import Optimizer

for experiment in Optimizer().get_experiments():
    experiment.log_metric("loss", experiment.params["x"])
# A daemon left behind (as a data loader or a tensorboard might be): it holds
# this worker's stdout and stderr open long after the worker has exited.
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
open(sys.argv[-1], "a").write(f"{child.pid}\\n")
print("worker done", flush=True)
"""


def test_a_grandchild_holding_the_output_open_does_not_break_or_hold_the_launcher(tmp_path,
                                                                                    store):
    script = tmp_path / "leaves_a_child.py"
    script.write_text(LEAVES_A_CHILD)
    pids = tmp_path / "children"
    config = write_config(tmp_path, range(4))
    try:
        run = comet(store, "optimize", "-j", "2", str(script), config, "--", str(pids))
    finally:
        for pid in pids.read_text().split() if pids.exists() else []:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert run.returncode == 0, run.stderr
    assert len(pids.read_text().split()) == 2  # both children were alive past their worker
    assert sorted(worker_lines(run.stdout, "worker done")) == [0, 1]
    assert_summary_and_no_traceback(run.stderr, 4, store)


def fill_the_log_folder(store: str, optimizer_id: str) -> str:
    """Make worker 0's log unwritable for lack of space; return the log folder.

    (A link to /dev/full is no longer a way to do it: a log planted as a link is
    refused, see test_planted_files.py.)
    """
    logs = log_folder(store, optimizer_id)
    os.makedirs(logs, exist_ok=True)
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", logs],
                           capture_output=True, text=True)
    if mount.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mount.stderr.strip()}")
    with open(os.path.join(logs, "filler"), "wb") as handle:  # leave a few KiB free
        try:
            handle.write(b"\0" * (60 * 1024))
        except OSError:
            pass
    return logs


def test_a_full_disk_under_the_worker_logs_stops_logging_not_the_run(tmp_path, file_store):
    store = file_store
    config = write_config(tmp_path, range(4))
    optimizer_id = comet(store, "optimize", config).stdout.strip()
    logs = fill_the_log_folder(store, optimizer_id)
    try:
        env = environment(store, COMET_OPTIMIZER_ID=optimizer_id)
        run = comet(store, "optimize", "-j", "2", chatty_script(tmp_path, lines=20), config,
                    env=env)
    finally:
        subprocess.run(["umount", logs], check=True)
    assert run.returncode == 0, run.stderr
    full = [line for line in run.stderr.splitlines() if "No space left on device" in line]
    assert 1 <= len(full) <= 2, run.stderr  # once per log that filled up, not once per line
    assert all("no longer logging that worker" in line for line in full)
    assert run.stdout.count("line 19 of #") == 4  # the terminal still shows everything
    assert_summary_and_no_traceback(run.stderr, 4, store)


def limit_open_files(soft: int, hard: int):
    import resource

    return lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_more_workers_than_open_files_allow_is_one_line_before_anything_starts(tmp_path,
                                                                               file_store):
    store = file_store
    script = tmp_path / "hi.sh"
    script.write_text("echo hi\n")
    config = write_config(tmp_path, range(3))
    args = ["optimize", "-j", "30", "-e", "/bin/sh", str(script), config]
    run = subprocess.run([*COMET, *args], env=environment(store), capture_output=True,
                         text=True, timeout=60, preexec_fn=limit_open_files(40, 40))
    assert run.returncode == 2, run.stderr
    assert run.stderr.count("\n") == 1 and "-j 30: 30 workers need about" in run.stderr
    assert "ulimit -n" in run.stderr and not os.path.exists(store)

    # a low soft limit under a high hard one is simply raised
    run = subprocess.run([*COMET, *args], env=environment(store), capture_output=True,
                         text=True, timeout=120, preexec_fn=limit_open_files(40, 4096))
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("] hi\n") == 30


def test_more_workers_than_the_machine_could_hold_is_one_line_before_anything_starts(
        tmp_path, file_store):
    """Under a high open-file limit (containers often allow a million), a -j this large
    used to start worker after worker until the machine ran out of memory."""
    import psutil

    jobs = psutil.virtual_memory().total // (8 << 20) + 1
    script = tmp_path / "hi.sh"
    script.write_text("echo hi\n")
    run = subprocess.run([*COMET, "optimize", "-j", str(jobs), "-e", "/bin/sh", str(script),
                          write_config(tmp_path, range(3))], env=environment(file_store),
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2, run.stderr
    assert run.stderr.count("\n") == 1 and "need more memory than this machine has" in \
        run.stderr
    assert not os.path.exists(file_store)


RUN_OUT_OF_FILES = """\
import os, resource, sys
from comet_optimize.cli.launcher import Plan, run_workers
resource.setrlimit(resource.RLIMIT_NOFILE, (48, 48))
hoard = []
while True:  # use up all but a few descriptors, as a leaky library might
    try:
        hoard.append(os.open(os.devnull, os.O_RDONLY))
    except OSError:
        break
for fd in hoard[:12]:
    os.close(fd)
plan = Plan(script=sys.argv[1], optimizer="x", optimizer_id="0" * 32, store=sys.argv[2],
            jobs=8, executable="/bin/sh", log_folder=sys.argv[2])
result = run_workers(plan, stdout=sys.stdout.buffer, stderr=sys.stderr.buffer)
print("exits", len(result.exits), [e.returncode for e in result.exits])
"""


def test_a_worker_that_cannot_start_leaves_the_others_running(tmp_path):
    script = tmp_path / "hi.sh"
    script.write_text("echo hi\n")
    driver = tmp_path / "driver.py"
    driver.write_text(RUN_OUT_OF_FILES)
    run = subprocess.run([sys.executable, str(driver), str(script), str(tmp_path)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    started = int(run.stdout.split("exits ")[1].split()[0])
    assert 1 <= started < 8
    assert run.stderr.count("cannot start worker") == 1
    assert f"cannot start worker {started} (Too many open files): going on with {started}" \
        in run.stderr
    assert run.stdout.count("] hi\n") == started
