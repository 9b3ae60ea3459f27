"""Readers need neither the writers' lock nor write access; the store touches only its own.

Issue 8 items 1-4: a worker stopped while holding the lock cannot freeze
``status``/``list``/``export``/``check``; those commands work on a read-only
mount; a writer that waits long says who holds the lock; an existing store
folder keeps its mode, and what the store creates is private.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys

import pytest

from comet_optimize import Optimizer, OptimizerException
from comet_optimize.store import open_store

CONFIG = {"algorithm": "random", "spec": {"maxCombo": 20, "seed": 2},
          "parameters": {"x": {"type": "double", "min": 0, "max": 1}}}
HOLD_THE_LOCK = """
import os, signal, sys
from comet_optimize.store import open_store
journal = open_store(sys.argv[1]).journal(sys.argv[2])
with journal.locked():
    print("locked", flush=True)
    os.kill(os.getpid(), signal.SIGSTOP)
"""


def comet(*args: str, store: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "comet_optimize.cli", "optimize", *args,
                           "--store", store], capture_output=True, text=True, timeout=timeout)


def finished_search(store: str) -> Optimizer:
    opt = Optimizer(CONFIG, verbose=0, store=store)
    for experiment in opt.get_experiments():
        experiment.log_metric("loss", experiment.params["x"])
        if experiment.count == 5:
            break
    experiment.end()
    return opt


def test_a_stopped_lock_holder_freezes_no_reader_and_a_waiting_writer_names_it(file_store):
    store = file_store  # naming the holder of a file lock
    opt = finished_search(store)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_THE_LOCK, store, opt.id],
                              stdout=subprocess.PIPE, text=True)
    writer = None
    try:
        assert holder.stdout.readline() == "locked\n"
        for command in (["status", opt.id], ["list"], ["export", opt.id], ["check", opt.id]):
            run = comet(*command, store=store)
            assert run.returncode == 0, (command, run.stderr)
        writer = subprocess.Popen(
            [sys.executable, "-c", f"from comet_optimize import Optimizer\n"
             f"e = Optimizer({opt.id!r}, verbose=0, store={store!r}).next()\n"
             f"print('assigned', e.count, flush=True)"],
            env={**os.environ, "COMET_OPTIMIZE_LOCK_WARNING": "0.5"},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        warning = writer.stderr.readline()
        assert f"held by process {holder.pid} on this host" in warning
    finally:
        os.kill(holder.pid, signal.SIGCONT)
        holder.wait(timeout=30)
        holder.stdout.close()
    assert writer.stdout.readline() == "assigned 6\n"
    writer.wait(timeout=30)
    writer.stdout.close()
    writer.stderr.close()


def can_mount() -> bool:
    if shutil.which("unshare") is None or os.geteuid() != 0:
        return False
    return subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not can_mount(), reason="needs unshare -m (root) for a read-only mount")
def test_every_reading_command_works_on_a_read_only_mount(file_store, tmp_path):
    store = file_store
    opt = finished_search(store)
    view = tmp_path / "read-only-view"
    view.mkdir()
    commands = "\n".join(
        f'"{sys.executable}" -m comet_optimize.cli optimize {c} --store "{view}" >/dev/null'
        f' || exit 10' for c in (f"status {opt.id}", "list", f"export {opt.id}",
                                 f"check {opt.id}", f"status {opt.id} --json"))
    script = (f'mount --bind "{store}" "{view}" && mount -o remount,ro,bind "{view}" && '
              f'touch "{view}/probe" 2>/dev/null && exit 9\n{commands}\n')
    run = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr


def test_an_existing_store_folder_keeps_its_mode(tmp_path, capfd):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    Optimizer(CONFIG, verbose=0, store=str(shared))
    assert stat.S_IMODE(os.stat(shared).st_mode) == 0o1777
    assert "writable by other users" in capfd.readouterr().err


def test_what_the_store_creates_is_private_even_under_umask_0(tmp_path):
    old = os.umask(0)
    try:
        root = tmp_path / "new" / "store"
        opt = finished_search(str(root))
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(root).st_mode) == 0o700
    folder = root / opt.id
    modes = {p.name: stat.S_IMODE(os.stat(p).st_mode) for p in [folder, *folder.rglob("*")]}
    assert all(mode == (0o700 if (folder / name).is_dir() or name == opt.id else 0o600)
               for name, mode in modes.items()), modes


def test_a_symlinked_store_is_used_but_its_target_keeps_its_mode(tmp_path):
    target = tmp_path / "target"
    target.mkdir()
    os.chmod(target, 0o755)
    link = tmp_path / "link"
    link.symlink_to(target)
    Optimizer(CONFIG, verbose=0, store=str(link))
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o755


def test_a_tilde_for_an_unknown_user_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OptimizerException, match="no user 'nouser-xyz'"):
        open_store("~nouser-xyz/x")
    run = comet("list", store="~nouser-xyz/x")
    assert run.returncode == 2 and "no user 'nouser-xyz'" in run.stderr
    assert os.listdir(tmp_path) == []
