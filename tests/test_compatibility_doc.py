"""docs/compatibility.md and the Experiment class say the same thing (issue 9)."""

from __future__ import annotations

import os
import re
from collections import Counter

from comet_optimize import Experiment, Optimizer
from comet_optimize.unsupported import NO_OPS, REFUSED

DOC = os.path.join(os.path.dirname(__file__), "..", "docs", "compatibility.md")
ROW = re.compile(r"^\| `(\w+)` \| (implemented|no-op|refused) \|")


def table() -> dict[str, str]:
    with open(DOC, encoding="utf-8") as handle:
        return {m.group(1): m.group(2) for m in map(ROW.match, handle) if m}


def test_every_row_matches_the_code(store):
    rows = table()
    experiment = Optimizer({"algorithm": "grid", "parameters": {"x": [1]}}, verbose=0,
                           store=store).next()
    for name, kind in rows.items():
        assert hasattr(experiment, name), name
        if kind == "no-op":
            assert name in NO_OPS, name
        elif kind == "refused":
            assert name in REFUSED, name
        else:
            assert name not in NO_OPS and name not in REFUSED, name
    assert set(NO_OPS) | set(REFUSED) <= set(rows)


def test_every_public_method_is_in_the_table():
    rows = table()
    ours_only = {"score", "result_event", "logged_anything", "params", "get_experiments"}
    public = {n for n in dir(Experiment) if not n.startswith("_") and n not in ours_only}
    assert public - set(rows) == set()


def test_the_totals_line_adds_up():
    counts = Counter(table().values())
    with open(DOC, encoding="utf-8") as handle:
        text = handle.read()
    expected = (f"**Totals: {sum(counts.values())} methods and properties: "
                f"{counts['implemented']} implemented, {counts['no-op']} no-op, "
                f"{counts['refused']} refused.**")
    assert expected in text
