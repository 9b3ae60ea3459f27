"""A full disk under a file store: the worker waits for space instead of losing a result.

The store lives on a real, tiny tmpfs that a filler file fills to the last
byte; the worker's next append fails with ENOSPC, says so once on stderr and
retries; the test frees the space when it reads that line (synchronised on the
worker's output, never on a sleep), and every result is then recorded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from comet_optimize import Optimizer

COUNT = 40
WORKER = """
from comet_optimize import Optimizer
for experiment in Optimizer().get_experiments():
    experiment.log_metric("loss", experiment.params["x"] * 2)
print("worker done", flush=True)
"""


@pytest.fixture
def tiny_disk(tmp_path):
    folder = tmp_path / "disk"
    folder.mkdir()
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(folder)],
                           capture_output=True, text=True)
    if mount.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mount.stderr.strip()}")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder) -> str:
    """Use up every free byte of the file system under ``folder``."""
    path = os.path.join(folder, "filler")
    with open(path, "wb", buffering=0) as handle:
        for size in (65536, 4096, 512, 64, 1):
            try:
                while True:
                    handle.write(b"\0" * size)
            except OSError:
                pass
    return path


def start_worker(tmp_path, store: str, optimizer_id: str, wait: str) -> subprocess.Popen:
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = {**os.environ, "COMET_OPTIMIZE_STORE": store, "COMET_OPTIMIZER_ID": optimizer_id,
           "COMET_OPTIMIZE_DISK_WAIT": wait}
    return subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def search(store: str) -> Optimizer:
    # 40 experiments write ~40 KiB: well past the slack of the journal's last page
    return Optimizer({"algorithm": "grid", "parameters": {"x": list(range(1, COUNT + 1))},
                      "spec": {"maxCombo": COUNT, "metric": "loss"}}, verbose=0, store=store)


def test_a_worker_waits_for_space_and_then_records_every_result(tmp_path, tiny_disk):
    store = str(tiny_disk / "store")
    opt = search(store)
    filler = fill(tiny_disk)
    worker = start_worker(tmp_path, store, opt.id, wait="60")
    try:
        seen = []
        for line in worker.stderr:  # the worker says it waits, and only then is space freed
            seen.append(line)
            if "retrying for up to 60 s" in line:
                break
        assert seen and "No space left on device" in seen[-1], seen
        os.unlink(filler)
        out, err = worker.communicate(timeout=60)
    finally:
        worker.kill()
    assert worker.returncode == 0, "".join(seen) + err
    assert "Traceback" not in "".join(seen) + err
    assert sum("retrying for up to" in line for line in seen + err.splitlines()) == 1
    done = Optimizer(opt.id, verbose=0, store=store, readonly=True)
    status = done.status()
    assert status["completed"] == COUNT and not status["damage"]
    assert sorted((e["parameters"]["x"], e["score"]) for e in done.experiments()) == [
        (x, 2.0 * x) for x in range(1, COUNT + 1)]


def test_with_no_wait_the_worker_stops_in_one_line_and_the_journal_stays_whole(tmp_path,
                                                                             tiny_disk):
    store = str(tiny_disk / "store")
    opt = search(store)
    experiment = opt.next()
    experiment.log_metric("loss", 7.0)
    experiment.end()
    journal = os.path.join(store, opt.id, "journal.jsonl")
    before = open(journal, "rb").read()
    fill(tiny_disk)
    worker = start_worker(tmp_path, store, opt.id, wait="0")
    out, err = worker.communicate(timeout=60)
    assert worker.returncode != 0
    assert "cannot append to the journal (No space left on device)" in err
    after = open(journal, "rb").read()  # what fitted in the last page's slack, then nothing
    assert after.startswith(before) and after.endswith(b"\n")  # nothing torn
    lines = [json.loads(line) for line in after.splitlines()]  # nothing half-written
    assert any(e["type"] == "end" and e.get("score") == 7.0 for e in lines)
    assert Optimizer(opt.id, verbose=0, store=store, readonly=True).status()["damage"] == []
