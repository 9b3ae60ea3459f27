"""A training script that replaces the json module's functions cannot touch the journal.

Scripts pretty-print their own files with ``json.dumps = functools.partial(json.dumps,
indent=2)``, or swap in a faster parser. The optimizer runs in the same process:
through the patched ``json.dumps`` every event was written over many lines, every
reader took them for damage, and the search showed 0 experiments after its workers had
completed them all; parameter-set ids changed with the indentation.
"""

from __future__ import annotations

import json
import sys

from comet_optimize import Optimizer
from comet_optimize.space import parameter_set_id
from tests.conftest import launch

COMET = [sys.executable, "-m", "comet_optimize.cli"]

SCRIPT = """\
import decimal
import functools
import json
import sys

json.dumps = functools.partial(json.dumps, indent=2, sort_keys=True)
json.dump = functools.partial(json.dump, indent=4)
json.loads = functools.partial(json.loads, parse_float=decimal.Decimal)
json.JSONEncoder.item_separator = " ,  "

from comet_optimize import Optimizer  # noqa: E402  (after the patches, as a script may)

opt = Optimizer(sys.argv[1])
for experiment in opt.get_experiments():
    experiment.log_other("note", {"nested": [1, 2.5]})
    experiment.log_metric("loss", experiment.get_parameter("x"))
"""

CONFIG = {"algorithm": "grid", "spec": {"metric": "loss", "seed": 3},
          "parameters": {"x": [0.5, 0.25, 0.125, 0.0625]}}


def test_a_script_that_pretty_prints_json_leaves_a_journal_every_reader_reads(store,
                                                                               tmp_path):
    run = launch(tmp_path, SCRIPT, CONFIG, store)
    assert "damage" not in run.stderr.lower() and "damaged" not in run.stderr
    optimizer_id = run.stderr.split("COMET_OPTIMIZER_ID=")[1].split()[0]
    opt = Optimizer(optimizer_id, verbose=0, store=store)
    status = opt.status()
    assert (status["completed"], status["damage"]) == (4, [])
    records = opt.experiments()
    assert sorted(r["score"] for r in records) == [0.0625, 0.125, 0.25, 0.5]
    assert all(isinstance(r["score"], float) for r in records)
    assert all(r["pid"] == parameter_set_id(r["parameters"]) for r in records)
    assert all(r["others"]["note"] == {"nested": [1, 2.5]} for r in records)


def test_a_script_that_makes_every_object_serializable_cannot_get_one_into_the_journal(
        monkeypatch):
    """Packages that make any object "JSON serializable" set ``JSONEncoder.default`` on
    the class; the journal's strict encoder still refuses what JSON does not know."""
    import pytest

    from comet_optimize import jsontext

    monkeypatch.setattr(json.JSONEncoder, "default", lambda self, o: str(o))
    assert json.dumps({"x": object()}).startswith('{"x": "<object')  # the patch works...
    with pytest.raises(TypeError):
        jsontext.line({"x": object()})  # ...and not on ours
    assert jsontext.line({"x": [1, 2.5]}) == '{"x":[1,2.5]}'
