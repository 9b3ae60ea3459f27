"""A search folder with links or FIFOs planted in it (a tarball from someone else, a
shared disk): nothing outside the search changes, nothing hangs, one clear line.

Each test plants the file, runs the real commands in subprocesses, and compares
the outside target byte for byte (and its modification time) before and after.
"""

from __future__ import annotations

import os
import subprocess
import textwrap

import pytest

from tests.e2e.test_launcher import comet, write_config

# Long enough for a slow, loaded machine; a command that waits on a FIFO never ends.
NO_HANG = 60


class Outside:
    """A file outside the search that a planted link points at."""

    def __init__(self, path):
        self.path = str(path)
        with open(self.path, "w") as handle:
            handle.write("precious: must never change\n")
        os.utime(self.path, (1_000_000_000, 1_000_000_000))
        self.before = self._state()

    def _state(self) -> tuple[bytes, float]:
        with open(self.path, "rb") as handle:
            return handle.read(), os.stat(self.path).st_mtime

    def unchanged(self) -> bool:
        return self._state() == self.before


def new_search(tmp_path, store: str) -> str:
    config = write_config(tmp_path, range(4))
    run = comet(store, "optimize", config)
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


def script(tmp_path, body: str) -> str:
    """A Comet-style training script; ``body`` runs for each experiment before its metric."""
    path = tmp_path / "train.py"
    head = "import sys\nfrom comet_optimize import Optimizer\n\nopt = Optimizer(sys.argv[1])\n"
    loop = "for experiment in opt.get_experiments():\n"
    tail = '    experiment.log_metric("loss", experiment.params["x"])\n'
    path.write_text(head + loop + textwrap.indent(textwrap.dedent(body), "    ") + "\n" + tail)
    return str(path)


def replace_with_link(path: str, target: str) -> None:
    os.unlink(path)
    os.symlink(target, path)


def one_line_naming(stderr: str, *words: str) -> bool:
    return any(all(word in line for word in words) for line in stderr.splitlines())


@pytest.mark.parametrize("command", ["status", "export", "check", "run"])
def test_a_journal_planted_as_a_link_is_refused_and_what_it_points_at_is_untouched(
        tmp_path, file_store, command):
    optimizer_id = new_search(tmp_path, file_store)
    outside = Outside(tmp_path / "bashrc")
    journal = os.path.join(file_store, optimizer_id, "journal.jsonl")
    replace_with_link(journal, outside.path)

    if command == "run":
        args = ["optimize", script(tmp_path, "pass"), optimizer_id]
    else:
        args = ["optimize", command, optimizer_id]
    run = comet(file_store, *args, timeout=NO_HANG)

    assert run.returncode != 0, run.stdout
    assert "Traceback" not in run.stderr, run.stderr
    assert one_line_naming(run.stderr, "journal.jsonl", "symbolic link"), run.stderr
    assert outside.unchanged()


@pytest.mark.parametrize("command", ["status", "run"])
def test_a_journal_planted_as_a_fifo_is_refused_at_once(tmp_path, file_store, command):
    optimizer_id = new_search(tmp_path, file_store)
    journal = os.path.join(file_store, optimizer_id, "journal.jsonl")
    os.unlink(journal)
    os.mkfifo(journal)

    if command == "run":
        args = ["optimize", script(tmp_path, "pass"), optimizer_id]
    else:
        args = ["optimize", command, optimizer_id]
    try:
        run = comet(file_store, *args, timeout=NO_HANG)
    except subprocess.TimeoutExpired:
        pytest.fail(f"'comet optimize {command}' waited on the FIFO for {NO_HANG} s")

    assert run.returncode != 0
    assert "Traceback" not in run.stderr, run.stderr
    assert one_line_naming(run.stderr, "journal.jsonl", "FIFO"), run.stderr


def test_a_worker_log_planted_as_a_link_is_not_written_through_and_the_run_completes(
        tmp_path, file_store):
    optimizer_id = new_search(tmp_path, file_store)
    outside = Outside(tmp_path / "authorized_keys")
    logs = os.path.join(file_store, optimizer_id, "logs")
    os.makedirs(logs)
    os.symlink(outside.path, os.path.join(logs, "worker-0.log"))

    run = comet(file_store, "optimize", "-j", "2", script(tmp_path, "print('epoch')"),
                optimizer_id, timeout=NO_HANG)

    assert run.returncode == 0, run.stderr
    assert one_line_naming(run.stderr, "worker-0.log", "symbolic link"), run.stderr
    assert "4 completed" in run.stderr
    assert outside.unchanged()


def test_a_log_folder_planted_as_a_link_is_refused_before_any_worker_starts(
        tmp_path, file_store):
    optimizer_id = new_search(tmp_path, file_store)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(elsewhere, os.path.join(file_store, optimizer_id, "logs"))

    run = comet(file_store, "optimize", script(tmp_path, "pass"), optimizer_id,
                timeout=NO_HANG)

    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    assert one_line_naming(run.stderr, "logs", "symbolic link"), run.stderr
    assert os.listdir(elsewhere) == []


def test_an_asset_folder_planted_as_a_link_keeps_the_files_out_of_it(tmp_path, file_store):
    optimizer_id = new_search(tmp_path, file_store)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(elsewhere, os.path.join(file_store, optimizer_id, "assets"))
    body = """\
        try:
            experiment.log_text("hello")
            experiment.log_html("<b>hi</b>")
        except Exception as error:
            print("refused:", error)
        """

    run = comet(file_store, "optimize", script(tmp_path, body), optimizer_id, timeout=NO_HANG)

    assert run.returncode == 0, run.stderr
    # refused in a warning (a logging call does not end the script for its data)
    assert "refused:" not in run.stdout
    assert "log_html: could not store the page" in run.stderr
    assert "symbolic link" in run.stderr, run.stderr
    assert "4 completed" in run.stderr  # the results are recorded all the same
    assert list(elsewhere.iterdir()) == []


def test_a_heartbeat_planted_as_a_link_is_replaced_not_touched_through(tmp_path, file_store):
    optimizer_id = new_search(tmp_path, file_store)
    outside = Outside(tmp_path / "timestamp")
    heartbeats = os.path.join(file_store, optimizer_id, "heartbeats")
    os.makedirs(heartbeats)
    os.symlink(outside.path, os.path.join(heartbeats, ".clock"))
    from comet_optimize.store import open_store

    store = open_store(file_store)
    store.beat(optimizer_id, ".clock")
    store.lease_lapsed(optimizer_id, "someone-elsewhere", 60.0, 0.0)

    assert outside.unchanged()
    assert not os.path.islink(os.path.join(heartbeats, ".clock"))


def test_a_planted_config_temporary_is_not_truncated_through(tmp_path, file_store):
    """create() writes config.json.tmp first: a link planted there must not be followed."""
    from comet_optimize.store import open_store

    store = open_store(file_store)
    optimizer_id = "ab" * 16
    folder = os.path.join(file_store, optimizer_id)
    os.makedirs(folder)
    outside = Outside(tmp_path / "profile")
    os.symlink(outside.path, os.path.join(folder, "config.json.tmp"))

    store.create(optimizer_id, {"algorithm": "random", "parameters": {"x": [1, 2]}})

    assert outside.unchanged()
    assert store.read_config(optimizer_id)["algorithm"] == "random"


def test_a_copy_leaves_planted_links_behind_and_never_follows_them(tmp_path, file_store):
    optimizer_id = new_search(tmp_path, file_store)
    body = 'experiment.log_asset_data("mine", name="mine.txt")'
    run = comet(file_store, "optimize", script(tmp_path, body), optimizer_id, timeout=NO_HANG)
    assert run.returncode == 0, run.stderr
    assets = os.path.join(file_store, optimizer_id, "assets")
    experiment = sorted(os.listdir(assets))[0]
    secret = tmp_path / "id_rsa"
    secret.write_text("PRIVATE KEY")
    secrets = tmp_path / "dot-ssh"
    secrets.mkdir()
    (secrets / "id_ed25519").write_text("PRIVATE KEY")
    os.symlink(secret, os.path.join(assets, experiment, "stolen"))
    os.symlink(secrets, os.path.join(assets, experiment, "stolen-folder"))

    target = str(tmp_path / "copy")
    run = comet(file_store, "optimize", "copy", optimizer_id, "--to", target,
                timeout=NO_HANG)

    assert run.returncode == 0, run.stderr
    copied = {}
    for folder, _, names in os.walk(os.path.join(target, optimizer_id, "assets")):
        for name in names:
            with open(os.path.join(folder, name)) as handle:
                copied[os.path.join(folder, name)] = handle.read()
    assert len(copied) == 4 and all("PRIVATE" not in text for text in copied.values()), copied


@pytest.mark.parametrize("planted", ["link to /dev/zero", "huge file"])
def test_a_stored_config_that_never_ends_is_refused_without_reading_it_all(
        tmp_path, file_store, planted):
    optimizer_id = new_search(tmp_path, file_store)
    config = os.path.join(file_store, optimizer_id, "config.json")
    os.unlink(config)
    if planted == "huge file":
        with open(config, "wb") as handle:
            handle.truncate(1 << 30)  # sparse: a gigabyte of NUL bytes, no disk used
    else:
        os.symlink("/dev/zero", config)

    run = comet(file_store, "optimize", "status", optimizer_id, timeout=NO_HANG)

    assert run.returncode == 2
    assert "Traceback" not in run.stderr, run.stderr
    reason = "symbolic link" if planted.startswith("link") else "over 16,777,216 bytes"
    assert one_line_naming(run.stderr, "config.json", reason), run.stderr
