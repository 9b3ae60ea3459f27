"""How a training script ends decides how its open experiment is recorded (issue 7 item 4).

Real scripts in real processes: only one that ends normally records a
completed result; an uncaught exception, a non-zero ``sys.exit`` or a crash in
a multiprocessing child leaves a failed experiment (partial metrics kept) that
is re-assigned as ``retryAssignLimit`` allows.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from comet_optimize import Optimizer

CONFIG = {"algorithm": "grid", "spec": {"retryAssignLimit": 2, "seed": 1},
          "parameters": {"x": [1, 2, 3]}}


def run_script(body: str, optimizer_id: str, store: str) -> subprocess.CompletedProcess:
    script = "from comet_optimize import Optimizer, Experiment\nimport sys\n" + \
        textwrap.dedent(body)
    env = {**os.environ, "COMET_OPTIMIZE_STORE": store, "COMET_OPTIMIZER_ID": optimizer_id}
    return subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=60)


ENDINGS = {
    "an uncaught exception": ("""
        opt = Optimizer(verbose=0)
        for experiment in opt.get_experiments():
            experiment.log_metric("loss", 0.9, epoch=1)
            raise RuntimeError("CUDA out of memory")
        """, "RuntimeError: CUDA out of memory"),
    "sys.exit(3)": ("""
        opt = Optimizer(verbose=0)
        experiment = opt.next()
        experiment.log_metric("loss", 0.9)
        sys.exit(3)
        """, "sys.exit(3)"),
    "the exit builtin, exit(3)": ("""
        opt = Optimizer(verbose=0)
        experiment = opt.next()
        experiment.log_metric("loss", 0.9)
        exit(3)
        """, "exit(3)"),
    "the quit builtin, quit(2)": ("""
        opt = Optimizer(verbose=0)
        experiment = opt.next()
        experiment.log_metric("loss", 0.9)
        quit(2)
        """, "exit(2)"),
    "exit('bad') with a message": ("""
        opt = Optimizer(verbose=0)
        experiment = opt.next()
        experiment.log_metric("loss", 0.9)
        sys.exit("diverged")
        """, "sys.exit(diverged)"),
    "an exception inside a with block that is caught outside": ("""
        opt = Optimizer(verbose=0)
        try:
            with opt.next() as experiment:
                experiment.log_metric("loss", 0.9)
                raise ValueError("bad batch")
        except ValueError:
            pass
        """, "ValueError: bad batch"),
    "a multiprocessing child whose target raises": ("""
        import multiprocessing
        opt = Optimizer(verbose=0)
        data = opt.next_data()
        def train(data):
            experiment = Experiment(optimizer_data=data)
            experiment.log_metric("loss", 0.9)
            raise RuntimeError("worker blew up")
        if __name__ == "__main__":
            child = multiprocessing.get_context("fork").Process(target=train, args=(data,))
            child.start(); child.join()
            sys.exit(0)
        """, "worker blew up"),
}


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_an_abnormal_end_fails_the_experiment_keeps_its_metrics_and_retries_it(store, ending):
    body, reason = ENDINGS[ending]
    opt = Optimizer(CONFIG, verbose=0, store=store)
    run_script(body, opt.id, store)
    records = Optimizer(opt.id, verbose=0, store=store).experiments()
    assert records[0]["status"] == "failed", records[0]
    assert reason in records[0]["reason"]
    assert records[0]["metrics"]["loss"]["last"] == 0.9
    status = Optimizer(opt.id, verbose=0, store=store).status()
    assert status["best"] is None and status["completed"] == 0

    retried = Optimizer(opt.id, verbose=0, store=store).next()
    assert (retried.data["pid"], retried.data["retry"]) == (records[0]["pid"], 1)


def test_a_normal_end_without_end_records_the_result(store):
    opt = Optimizer(CONFIG, verbose=0, store=store)
    run = run_script("""
        opt = Optimizer(verbose=0)
        a, b = opt.next(), opt.next()
        a.log_metric("loss", 0.5)
        b.log_metric("loss", 0.25)
        """, opt.id, store)
    assert run.returncode == 0, run.stderr
    records = Optimizer(opt.id, verbose=0, store=store).experiments()
    assert [(r["status"], r["score"]) for r in records] == [("completed", 0.5),
                                                            ("completed", 0.25)]


def test_sys_exit_zero_is_a_normal_end(store):
    opt = Optimizer(CONFIG, verbose=0, store=store)
    run_script("""
        opt = Optimizer(verbose=0)
        opt.next().log_metric("loss", 0.5)
        sys.exit(0)
        """, opt.id, store)
    assert Optimizer(opt.id, verbose=0, store=store).experiments()[0]["status"] == "completed"


def test_an_optimizer_the_script_let_go_of_still_ends_its_experiments(store):
    opt = Optimizer(CONFIG, verbose=0, store=store)
    run = run_script("""
        import gc
        def train():
            Optimizer(verbose=0).next().log_metric("loss", 0.5)
        train()
        gc.collect()
        """, opt.id, store)
    assert run.returncode == 0, run.stderr
    record = Optimizer(opt.id, verbose=0, store=store).experiments()[0]
    assert (record["status"], record["score"]) == ("completed", 0.5)


@pytest.mark.parametrize("exit_code", [0, 1])
@pytest.mark.parametrize("where", [("_assign", 1), ("locked", 2)])
def test_a_signal_between_the_assignment_and_the_script_is_recorded_at_exit(
        store, exit_code, where):
    """A preemption handler (SIGTERM -> sys.exit) that fires after the next assignment
    was written but before the loop handed it over (as the lock is let go and the
    append flushed, or on the way back to the loop): it used to stay running until
    another worker took the process for dead ("died"), never re-assigned by this one."""
    opt = Optimizer(CONFIG, verbose=0, store=store)
    function, nth = where
    run = run_script(f"""
        import os, signal
        signal.signal(signal.SIGTERM, lambda *_: sys.exit({exit_code}))
        opt = Optimizer(verbose=0)
        returns = []
        def preempt_on_return(frame, event, arg):
            # a generator's "return" comes at each yield: the nth is after the append
            # the optimizer's own: the search state has an _assign too, run mid-decision
            if event == "return" and frame.f_code.co_name == {function!r} \
                    and frame.f_code.co_filename.endswith(("optimizer.py", "journal.py",
                                                           "postgres.py")):
                returns.append(1)
                if len(returns) == {nth}:
                    sys.setprofile(None)
                    os.kill(os.getpid(), signal.SIGTERM)  # handled as this returns
        for experiment in opt.get_experiments():
            experiment.log_metric("loss", 0.5)
            sys.setprofile(preempt_on_return)
        """, opt.id, store)
    assert run.returncode == exit_code, run.stderr
    records = Optimizer(opt.id, verbose=0, store=store).experiments()
    assert [(r["status"], r["score"]) for r in records] == [("completed", 0.5),
                                                            ("failed", None)]
    assert "before the experiment reached the script" in records[1]["reason"] or (
        exit_code == 1 and "sys.exit(1)" in records[1]["reason"])
    retried = Optimizer(opt.id, verbose=0, store=store).next()
    assert (retried.data["pid"], retried.data["retry"]) == (records[1]["pid"], 1)


def test_a_script_that_closes_every_descriptor_and_reuses_the_numbers_loses_nothing(
        store, tmp_path):
    """Daemonizing libraries close every descriptor; the next files the script opens get
    the same numbers. The file store's journal then wrote its events into the script's
    file and the search lost its results; the PostgreSQL store's libpq closed the
    script's file when it dropped the dead socket, and handed its number to a new one."""
    opt = Optimizer({**CONFIG, "spec": {"seed": 1}}, verbose=0, store=store)
    run = run_script(f"""
        import os
        opt = Optimizer(verbose=0)
        kept, folder = [], {str(tmp_path)!r}
        for experiment in opt.get_experiments():
            if not kept:
                os.closerange(3, 4096)
                for i in range(64):  # take the low numbers, whichever were ours
                    kept.append(open(os.path.join(folder, f"mine-{{i}}"), "a+"))
            experiment.log_metric("loss", experiment.params["x"])
        for handle in kept:
            handle.write("mine")  # every file of the script still works, and is its own
            handle.flush()
        """, opt.id, store)

    assert run.returncode == 0, run.stderr
    mine = [path for path in tmp_path.iterdir() if path.name.startswith("mine-")]
    assert len(mine) == 64 and all(path.read_text() == "mine" for path in mine)
    status = Optimizer(opt.id, verbose=0, store=store).status()
    assert (status["completed"], status["failed"]) == (3, 0), status
