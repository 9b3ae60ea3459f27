"""``comet optimize check ID``: verify a journal and say what its damage loses.

Read-only: the journal is read from the start with a fresh state, exactly as
a new worker would, so what this reports is what every process will see.
"""

from __future__ import annotations

import os
from typing import Any

from comet_optimize.store.base import Damage

MAX_LOST_LINES = 50


def check_search(opt: Any) -> tuple[str, int]:
    """The report, and the exit status: 0 when the journal is whole, 1 when it is damaged."""
    journal = opt.store.journal(opt.id, readonly=True)
    try:
        events = journal.read_new()
        torn = getattr(journal, "_torn", False)  # only a file can end in half a line
        problems: list[Damage] = list(journal.damage)
    finally:
        journal.close()
    state = opt._new_state()
    for event in events:
        problem = state.apply(event)
        if problem is not None:
            problems.append(Damage(event.get("_at", -1), 1, problem))
    problems.sort(key=lambda d: d.offset)
    outcomes = {e["count"]: e for e in events
                if e.get("type") in ("end", "update") and isinstance(e.get("count"), int)}
    assigned = set(state.assignments)
    where = getattr(journal, "path", opt.store.location)
    size = os.path.getsize(where) if os.path.isfile(where) else None
    lines = [f"journal {where}",
             f"  {len(events)} events, {len(assigned)} experiments"
             + (f", {size} bytes" if size is not None else "")]
    if not problems and not torn:
        lines.append("  OK: every line is a valid event")
        return "\n".join(lines), 0
    if problems:
        lines.append(f"  DAMAGED: {len(problems)} region{'s' if len(problems) > 1 else ''}")
        for region in problems:
            lines.append(f"    at byte {region.offset}: {region.reason}"
                         + (f" ({region.length} bytes)" if region.length > 1 else ""))
    lost = _what_is_lost(state.max_count, assigned, outcomes)
    if lost or torn:
        lines.append("  what that loses:")
        lines.extend(f"    {text}" for text in lost)
        if torn:
            lines.append("    an incomplete last line (a write cut short): the next write "
                         "seals it and it is skipped")
    else:
        lines.append("  no experiment is lost: the damaged lines held nothing the search needs")
    lines.append("  new experiments are numbered above every number seen, so none is reused "
                 "(a reservation given back unstarted keeps its own)")
    return "\n".join(lines), 1


def _what_is_lost(max_count: int, assigned: set[int], outcomes: dict[int, dict]) -> list[str]:
    """One line per experiment that lost its assignment, and one per run of numbers of
    which nothing can be read: a damaged journal may name any number (a hostile one,
    2**62), so the gaps are never walked one by one, and the list is cut short."""
    lost = []
    expected = 1
    for count in sorted(c for c in assigned | outcomes.keys() if c <= max_count):
        if count > expected:
            lost.append(_nothing_read(expected, count - 1))
        if count not in assigned:
            outcome = outcomes[count]
            lost.append(f"experiment #{count}: its assignment (parameters); its outcome "
                        f"({outcome.get('status')}, score {outcome.get('score')}) survives "
                        f"but cannot be used")
        expected = count + 1
        if len(lost) > MAX_LOST_LINES:
            break
    else:
        if max_count >= expected:
            lost.append(_nothing_read(expected, max_count))
    if len(lost) > MAX_LOST_LINES:
        lost[MAX_LOST_LINES:] = ["... and more (the list stops here)"]
    return lost


def _nothing_read(first: int, last: int) -> str:
    if first == last:
        return f"experiment #{first}: everything (no event of it can be read)"
    return f"experiments #{first} to #{last}: everything (no event of them can be read)"
