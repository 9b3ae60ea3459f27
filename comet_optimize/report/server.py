"""``comet optimize dashboard``: a read-only web server over a whole store.

Built on the standard library's ``http.server`` (threaded): the dashboard
serves two pages, two scripts and two JSON routes to one person's browser,
so an ASGI stack would add dependencies and a larger attack surface for
nothing it needs (see docs/report.md).

Safety, in the order a request meets it:

* it binds 127.0.0.1 unless told otherwise (and then warns: no authentication);
* the Host header must name this server (a web page in the same browser
  cannot reach it through DNS rebinding);
* only GET and HEAD exist; every other method is 405 and its body is not read;
* the request target is limited in length, matched against fixed routes and
  query keys, and an optimizer id is checked as 32 hex characters and looked
  up in the store's own list before anything is opened; no path is ever
  built from the URL;
* nothing writes: pages and JSON are computed from the searches as they are.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from comet_optimize import encoding, jsontext
from comet_optimize.report import page
from comet_optimize.report.feed import SearchFeed

POLL_MS = 1500
MAX_TARGET = 512  # bytes of path + query: ids are 32 characters, `since` a number
_SEARCH_PAGE = re.compile(r"/search/([^/]*)")
_SEARCH_API = re.compile(r"/api/search/([^/]*)")
_SINCE = re.compile(r"[0-9]{1,12}")
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class Dashboard:
    """The store, the open searches, and the scripts the pages load."""

    def __init__(self, root: str):
        from comet_optimize.store import open_store

        self.root = root
        self.store = open_store(root)
        self.feeds: dict[str, SearchFeed] = {}
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="importance")
        self.scripts = {"/static/plotly.js": page.plotly_js().encode(),
                        "/static/views.js": page.views_js().encode()}

    def ids(self) -> list[str]:
        return self.store.list_ids()

    def feed(self, optimizer_id: str) -> SearchFeed | None:
        """The open search, or None when the store has no search by that (valid) id."""
        from comet_optimize.store import is_optimizer_id

        if not is_optimizer_id(optimizer_id):
            return None
        with self.lock:
            feed = self.feeds.get(optimizer_id)
            if feed is not None:
                return feed
            if optimizer_id not in self.ids():
                return None
            from comet_optimize.optimizer import Optimizer

            feed = SearchFeed(Optimizer(optimizer_id, verbose=0, store=self.root), self.pool)
            self.feeds[optimizer_id] = feed
            return feed

    def searches(self) -> dict[str, Any]:
        rows = []
        for optimizer_id in self.ids():
            try:
                feed = self.feed(optimizer_id)
                if feed is not None:
                    rows.append(feed.summary())
            except Exception as error:  # a damaged search is listed, not fatal
                rows.append({"id": optimizer_id, "status": f"unreadable: {error}"})
        return {"store": self.root, "searches": rows}

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


class Handler(BaseHTTPRequestHandler):
    """Fixed routes, GET/HEAD only; every refusal is a 4xx with a one-line JSON reason."""

    server_version = "comet-optimize-dashboard"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    dashboard: Dashboard
    allowed_hosts: set[str] | None

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        """Quiet: a page polls every 1.5 s; refusals are logged by `refuse`."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):  # PUT, DELETE, PATCH, anything made up: not allowed
            return self._not_allowed
        raise AttributeError(name)

    def do_POST(self) -> None:
        self._not_allowed()

    def do_OPTIONS(self) -> None:
        self._not_allowed()

    def _not_allowed(self) -> None:
        self.close_connection = True  # the body, if any, is never read
        self.refuse(HTTPStatus.METHOD_NOT_ALLOWED, "read-only: only GET and HEAD",
                    {"Allow": "GET, HEAD"})

    def do_HEAD(self) -> None:
        self.do_GET(head=True)

    def do_GET(self, head: bool = False) -> None:
        self.head = head
        if len(self.path) > MAX_TARGET:
            return self.refuse(HTTPStatus.REQUEST_URI_TOO_LONG, "request target too long")
        if self.allowed_hosts is not None and \
                (self.headers.get("Host") or "").lower() not in self.allowed_hosts:
            return self.refuse(HTTPStatus.MISDIRECTED_REQUEST, "unexpected Host header")
        target = urlsplit(self.path)
        try:
            query = dict(parse_qsl(target.query, keep_blank_values=True, strict_parsing=True,
                                   max_num_fields=2)) if target.query else {}
        except ValueError:
            return self.refuse(HTTPStatus.BAD_REQUEST, "malformed query")
        path = target.path
        if path in ("/", "/index.html") and not query:
            return self.send(page.dashboard_index_html(POLL_MS), "text/html")
        if path in self.dashboard.scripts and not query:
            return self.send(self.dashboard.scripts[path], "text/javascript", cache=True)
        if path == "/api/searches" and not query:
            return self.send_json(self.dashboard.searches())
        match = _SEARCH_PAGE.fullmatch(path) or _SEARCH_API.fullmatch(path)
        if match is None:
            return self.refuse(HTTPStatus.NOT_FOUND, "no such page")
        is_api = path.startswith("/api/")
        allowed = {"since"} if is_api else set()
        if set(query) - allowed:
            return self.refuse(HTTPStatus.BAD_REQUEST,
                               f"unknown query key {sorted(set(query) - allowed)[0]!r}")
        since = query.get("since")
        if since is not None and not _SINCE.fullmatch(since):
            return self.refuse(HTTPStatus.BAD_REQUEST, "since must be a version number")
        from comet_optimize.store import is_optimizer_id

        optimizer_id = match.group(1)
        if not is_optimizer_id(optimizer_id):
            return self.refuse(HTTPStatus.NOT_FOUND, "not an optimizer id")
        try:
            feed = self.dashboard.feed(optimizer_id)
        except Exception as error:
            return self.refuse(HTTPStatus.INTERNAL_SERVER_ERROR, f"unreadable search: {error}")
        if feed is None:
            return self.refuse(HTTPStatus.NOT_FOUND, "no such search in this store")
        if not is_api:
            return self.send(page.dashboard_search_html(optimizer_id, POLL_MS), "text/html")
        return self.send_json(feed.delta(int(since) if since is not None else None))

    # -- answering

    def send(self, body: str | bytes, content_type: str, cache: bool = False,
             status: HTTPStatus = HTTPStatus.OK, headers: dict[str, str] | None = None) -> None:
        data = encoding.utf8(body) if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "max-age=3600" if cache else "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Referrer-Policy", "no-referrer")
        # plotly's WebGL plots compile their shaders' code with Function(): 'unsafe-eval'.
        self.send_header("Content-Security-Policy",
                         "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
                         "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
                         "connect-src 'self'; frame-ancestors 'none'")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if not getattr(self, "head", False) and self.command != "HEAD":
            self.wfile.write(data)

    def send_json(self, value: Any, status: HTTPStatus = HTTPStatus.OK,
                  headers: dict[str, str] | None = None) -> None:
        from comet_optimize.cli.commands import json_safe

        text = jsontext.line(json_safe(value))
        self.send(text, "application/json", status=status, headers=headers)

    def refuse(self, status: HTTPStatus, reason: str,
               headers: dict[str, str] | None = None) -> None:
        sys.stderr.write(f"dashboard: {status.value} {self.command} "
                         f"{self.path[:80]!r}: {reason}\n")
        self.send_json({"error": reason}, status=status, headers=headers)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_server(root: str, host: str = "127.0.0.1", port: int = 8050) -> ThreadingHTTPServer:
    """A server bound and ready (``serve_forever`` runs it); port 0 picks a free port."""
    dashboard = Dashboard(root)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET

    class Server(ThreadingHTTPServer):
        address_family = family
        daemon_threads = True

    handler = type("DashboardHandler", (Handler,), {"dashboard": dashboard,
                                                    "allowed_hosts": None})
    server = Server((host, port), handler)
    bound = server.server_address[1]
    if is_loopback(host):
        names = {"127.0.0.1", "localhost", "[::1]", host if ":" not in host else f"[{host}]"}
        handler.allowed_hosts = {f"{name}:{bound}" for name in names}
    server.dashboard = dashboard  # type: ignore[attr-defined]
    return server


def url_of(server: ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def serve(root: str, host: str, port: int, out=None) -> None:
    """Run until Ctrl-C; say where, and warn when reachable from other machines."""
    out = out or sys.stdout
    os.environ.pop("COMET_OPTIMIZER_ID", None)  # the dashboard shows every search
    server = make_server(root, host, port)
    if not is_loopback(host):
        sys.stderr.write(f"warning: --host {host} makes the dashboard reachable from other "
                         f"machines, with no authentication: anyone who can reach it can "
                         f"read every search in {root}\n")
    out.write(f"comet optimize dashboard: {root} at {url_of(server)} (Ctrl-C to stop)\n")
    out.flush()
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        server.dashboard.close()  # type: ignore[attr-defined]
