"""Text that is not valid UTF-8 (lone surrogates) is recorded, never a crash.

Python decodes bytes that are not UTF-8 with ``errors="surrogateescape"`` in
file names (``os.listdir``), command-line arguments and environment values, so
a script that logs the name of its data folder may hand us a string that strict
UTF-8 refuses. That killed the script at ``log_parameter`` (UnicodeEncodeError)
and the launcher before it started a worker (an argument after ``--``).
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest

from comet_optimize import Optimizer

ESCAPED = "caf\udce9"  # b"caf\xe9" decoded with surrogateescape
LONE = "x\ud800y"  # a lone surrogate from nowhere (JSON "\ud800" decodes to it)

CONFIG = {"algorithm": "grid", "parameters": {"x": [1, 2]},
          "spec": {"metric": "loss", "seed": 1}}


@pytest.mark.parametrize("text", [ESCAPED, LONE], ids=["escaped-bytes", "lone-surrogate"])
def test_every_kind_of_logged_text_is_recorded(store, tmp_path, text):
    data_file = tmp_path / os.fsdecode(b"data-\xff.csv")
    data_file.write_bytes(b"a,b\n1,2\n")
    opt = Optimizer(CONFIG, store=store, verbose=0)
    for experiment in opt.get_experiments():
        experiment.set_name(f"run {text}")
        experiment.add_tag(text)
        experiment.log_parameter("data_dir", text)
        experiment.log_parameters({f"key {text}": 1, "nested": {"k": [text]}})
        experiment.log_metric(f"acc {text}", 0.5)
        experiment.log_other("note", text)
        experiment.log_text(f"text {text}")
        experiment.log_html(f"<p>{text}</p>")
        experiment.log_code(code=f"# {text}\n", code_name="code.py")
        experiment.log_asset_data(text, name=f"data {text}.txt")
        experiment.log_asset(str(data_file))
        experiment.log_metric("loss", experiment.get_parameter("x"))
        experiment.end()

    reader = Optimizer(opt.id, store=store, verbose=0)
    records = reader.experiments()
    assert [r["status"] for r in records] == ["completed", "completed"]
    assert [r["score"] for r in records] == [1, 2]
    assert records[0]["logged_parameters"]["data_dir"] == text
    assert records[0]["tags"] == [text]

    cli = [sys.executable, "-m", "comet_optimize.cli", "optimize"]
    export = subprocess.run([*cli, "export", opt.id, "--store", store, "--format", "json"],
                            capture_output=True, timeout=60)
    assert export.returncode == 0, export.stderr.decode(errors="replace")
    assert b"Traceback" not in export.stderr
    assert len(json.loads(export.stdout)) == 2
    exported = tmp_path / "out.csv"
    to_file = subprocess.run([*cli, "export", opt.id, "--store", store, "-o", str(exported)],
                             capture_output=True, timeout=60)
    assert to_file.returncode == 0, to_file.stderr.decode(errors="replace")
    rows = list(csv.DictReader(io.StringIO(exported.read_bytes().decode(errors="replace"))))
    assert [row["status"] for row in rows] == ["completed", "completed"]
    for command in (["status", opt.id], ["check", opt.id], ["list"],
                    ["report", opt.id, "-o", str(tmp_path / "report.html")]):
        result = subprocess.run([*cli, *command, "--store", store], capture_output=True,
                                timeout=60)
        assert result.returncode == 0 and b"Traceback" not in result.stderr, command


def test_an_argument_that_is_not_utf8_reaches_the_script(file_store, tmp_path):
    """``comet optimize ... -- caf\\xe9``: the worker gets the argument's own bytes."""
    config = tmp_path / "opt.json"
    config.write_text(json.dumps(CONFIG))
    script = tmp_path / "train.py"
    script.write_text(
        "import os, sys\n"
        "from comet_optimize import Optimizer\n"
        "opt = Optimizer()\n"
        "for experiment in opt.get_experiments():\n"
        "    experiment.log_parameter('argument', sys.argv[-1])\n"
        "    sys.stdout.buffer.write(os.fsencode(sys.argv[-1]) + b'\\n')\n"
        "    experiment.log_metric('loss', experiment.get_parameter('x'))\n")
    argument = os.fsdecode(b"caf\xe9")
    result = subprocess.run(
        [sys.executable, "-m", "comet_optimize.cli", "optimize", "-j", "1", str(script),
         str(config), "--store", file_store, "--", argument],
        capture_output=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    assert b"Traceback" not in result.stderr
    assert result.stdout.count(b"caf\xe9\n") == 2
    (optimizer_id,) = os.listdir(file_store)
    records = Optimizer(optimizer_id, store=file_store, verbose=0).experiments()
    assert [r["status"] for r in records] == ["completed", "completed"]
    assert records[0]["logged_parameters"]["argument"] == argument
    (log,) = (tmp_path / file_store / optimizer_id / "logs").glob("worker-*.log")
    assert b"caf\xe9" in log.read_bytes()
