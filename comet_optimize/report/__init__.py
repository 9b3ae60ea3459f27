"""Look at a search: a one-file HTML report and a live local dashboard.

``render(optimizer)`` returns the report's HTML; ``comet optimize report``,
``comet optimize dashboard`` and ``comet optimize -j N ... --report FILE``
are its command-line faces. plotly and scikit-learn come from the
``comet_optimize[report]`` extra and are imported only here, when needed.
"""

from __future__ import annotations

from typing import Any

from comet_optimize.report.extra import INSTALL, MissingExtra, require

__all__ = ["INSTALL", "MissingExtra", "require", "payload_of", "render"]


def payload_of(status: dict[str, Any], experiments: list[dict[str, Any]]) -> dict[str, Any]:
    """The data every view is drawn from, parameter importance included."""
    from comet_optimize.report import data, importance

    require()
    payload, _ = data.build(status, experiments)
    payload["importance"] = importance.compute(payload)
    return payload


def render(optimizer: Any) -> str:
    """The self-contained HTML report of an `Optimizer` (a snapshot of it now)."""
    from comet_optimize.report.page import report_html

    require()
    status = optimizer.status()
    return report_html(payload_of(status, optimizer.experiments()))
