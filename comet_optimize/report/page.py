"""The HTML around the views: the one-file report, and the dashboard's two pages.

The report inlines everything (plotly.js as the plotly package bundles it,
our ``views.js``, and the data), so it opens with no network from an e-mail
attachment or a CI artifact. The dashboard's pages load the same two scripts
from the server instead, so a browser fetches them once.
"""

from __future__ import annotations

import html
from importlib import resources
from typing import Any

from comet_optimize import jsontext
from comet_optimize.report.extra import require

# No favicon request (a 404 would be an error in the browser's console).
HEAD = ('<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<link rel="icon" href="data:,">')

STYLE = """
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1280px; padding: 16px 24px;
       color: #212529; background: #fff; }
h1 { font-size: 20px; margin: 8px 0 12px; word-break: break-all; }
h2 { font-size: 17px; margin: 28px 0 6px; }
section { border-top: 1px solid #dee2e6; }
.muted { color: #6c757d; font-size: 13px; }
table.kv th { text-align: left; padding: 2px 16px 2px 0; color: #495057; font-weight: 600; }
table.kv td, table.list td { padding: 2px 12px 2px 0; }
table.list { border-collapse: collapse; font-size: 13px; }
table.list th { text-align: left; border-bottom: 1px solid #adb5bd; padding: 4px 12px 4px 0; }
table.list tr:nth-child(even) td { background: #f8f9fa; }
.best h2 { margin-top: 16px; }
#best-score { font-family: ui-monospace, monospace; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
.plot { min-height: 60px; }
.plot.empty { color: #6c757d; padding: 16px 0; }
.state-completed { color: #2f9e44; } .state-running { color: #7048e8; }
.state-failed { color: #e03131; } .state-aborted { color: #f08c00; }
.live { float: right; font-size: 13px; padding: 2px 8px; border-radius: 4px; }
.live.ok { background: #ebfbee; color: #2b8a3e; }
.live.lost { background: #fff5f5; color: #c92a2a; }
nav a { color: #1c7ed6; }
@media (max-width: 900px) { .pair { grid-template-columns: 1fr; } }
"""


def views_js() -> str:
    return resources.files("comet_optimize.report").joinpath("static/views.js").read_text(
        encoding="utf-8")


def plotly_js() -> str:
    """plotly.js exactly as the installed plotly package bundles it (no CDN)."""
    require()
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def _script_json(data: Any) -> str:
    """JSON that is safe inside a <script> element (no '</' can close it early)."""
    text = jsontext.line(data)
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def report_html(payload: dict[str, Any]) -> str:
    """The self-contained report of one search."""
    title = html.escape(f"comet optimize report {payload['header']['id']}")
    return (
        f"{HEAD}"
        f"<title>{title}</title>"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<style>{STYLE}</style>"
        f"<script>{plotly_js()}</script>"
        f"<script>{views_js()}</script>"
        "</head><body><main id=\"comet-root\"></main>"
        f"<script type=\"application/json\" id=\"comet-data\">{_script_json(payload)}</script>"
        "<script>CometReport.render(JSON.parse("
        "document.getElementById('comet-data').textContent));</script>"
        "</body></html>\n"
    )


def dashboard_search_html(optimizer_id: str, interval_ms: int) -> str:
    """The live page of one search; ``optimizer_id`` is validated by the caller."""
    return (
        f"{HEAD}"
        f"<title>search {optimizer_id}</title>"
        f"<style>{STYLE}</style>"
        "<script src=\"/static/plotly.js\"></script><script src=\"/static/views.js\"></script>"
        "</head><body><nav><a href=\"/\">&larr; all searches</a>"
        "<span id=\"live-state\" class=\"live\">connecting\u2026</span></nav>"
        "<main id=\"comet-root\"></main>"
        f"<script>CometReport.live('/api/search/{optimizer_id}', {interval_ms});</script>"
        "</body></html>\n"
    )


INDEX_SCRIPT = """
function fmt(x) { return x === null || x === undefined ? "-" : CometReport.fmt(x); }
function cell(tr, text, cls) { var td = document.createElement("td"); td.textContent = text;
  if (cls) td.className = cls; tr.appendChild(td); return td; }
function refresh() {
  fetch("/api/searches", {cache: "no-store"}).then(function (r) {
    if (!r.ok) throw new Error("HTTP " + r.status); return r.json();
  }).then(function (data) {
    var body = document.getElementById("search-rows"); body.textContent = "";
    document.getElementById("store").textContent = data.store;
    data.searches.forEach(function (s) {
      var tr = document.createElement("tr");
      var td = document.createElement("td"), a = document.createElement("a");
      a.href = "/search/" + s.id; a.textContent = s.id; td.appendChild(a); tr.appendChild(td);
      cell(tr, s.name || "-"); cell(tr, s.algorithm || "-");
      cell(tr, s.status, "state-" + s.status);
      cell(tr, (s.completed === undefined ? "-" : s.completed) + "/" + (s.budget || "-"));
      cell(tr, fmt(s.best));
      cell(tr, s.started ? new Date(s.started * 1000).toLocaleString() : "-");
      body.appendChild(tr);
    });
    document.getElementById("empty").hidden = data.searches.length > 0;
    var badge = document.getElementById("live-state");
    badge.textContent = "live \\u2014 updated " + new Date().toLocaleTimeString();
    badge.className = "live ok";
  }).catch(function (e) {
    var badge = document.getElementById("live-state");
    badge.textContent = "connection lost (" + e.message + "), retrying\\u2026";
    badge.className = "live lost";
  }).then(function () { setTimeout(refresh, INTERVAL); });
}
refresh();
"""


def dashboard_index_html(interval_ms: int) -> str:
    return (
        f"{HEAD}"
        "<title>comet optimize dashboard</title>"
        f"<style>{STYLE}</style><script src=\"/static/views.js\"></script>"
        "</head><body><span id=\"live-state\" class=\"live\">connecting\u2026</span>"
        "<h1>Searches</h1><p class=\"muted\">Store: <span id=\"store\"></span></p>"
        "<table class=\"list\" id=\"searches\"><thead><tr><th>id</th><th>name</th>"
        "<th>algorithm</th><th>status</th><th>done/budget</th><th>best</th><th>started</th>"
        "</tr></thead><tbody id=\"search-rows\"></tbody></table>"
        "<p id=\"empty\" class=\"muted\" hidden>No search in this store yet.</p>"
        f"<script>var INTERVAL = {interval_ms};{INDEX_SCRIPT}</script>"
        "</body></html>\n"
    )
