"""The dashboard refuses what it must: every hostile request is a 4xx and changes nothing.

The real `comet optimize dashboard` runs in a subprocess over a real store;
requests go over a socket to 127.0.0.1. "Nothing else happens" is checked on
the store (every file's size, mode and mtime), on the file system next to it
(no file appears where a traversal aimed), on the server (it still answers)
and on its stderr (no traceback).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys

import pytest

from comet_optimize import Optimizer

pytest.importorskip("plotly", reason="the dashboard needs the report extra")
COMET = [sys.executable, "-m", "comet_optimize.cli", "optimize"]
WORKER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "workers",
                      "worker.py")


def snapshot(folder: str) -> dict[str, tuple[int, int, int]]:
    found = {}
    for base, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = os.path.join(base, name)
            info = os.lstat(path)
            found[os.path.relpath(path, folder)] = (info.st_size, info.st_mode,
                                                     info.st_mtime_ns)
    return found


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("dash-security")
    store = str(root / "store")
    opt = Optimizer({"algorithm": "grid", "parameters": {"x": [1, 2, 3]}}, verbose=0,
                    store=store)
    for experiment in opt.get_experiments():
        experiment.log_metric("loss", experiment.get_parameter("x"))
    env = {k: v for k, v in os.environ.items() if k != "COMET_OPTIMIZER_ID"}
    process = subprocess.Popen([*COMET, "dashboard", "--port", "0", "--store", store],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    line = process.stdout.readline()
    port = int(re.search(r"127\.0\.0\.1:(\d+)/", line).group(1))
    yield {"port": port, "store": store, "root": str(root), "id": opt.id,
           "process": process}
    process.terminate()
    process.wait(timeout=10)


def request(port: int, method: str, target: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.putrequest(method, target, skip_host=bool(headers and "Host" in headers),
                    skip_accept_encoding=True)
    for key, value in (headers or {}).items():
        conn.putheader(key, value)
    if body is not None:
        conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data


HOSTILE = [
    ("GET", "/../config.json"),
    ("GET", "/search/../../../../etc/passwd"),
    ("GET", "/api/search/..%2f..%2f..%2fetc%2fpasswd"),
    ("GET", "/api/search/%2e%2e"),
    ("GET", "/static/../../comet_optimize/optimizer.py"),
    ("GET", "/static/..%2fserver.py"),
    ("GET", "//etc/passwd"),
    ("GET", "/api/search/" + "0" * 31 + "g"),  # not hex
    ("GET", "/api/search/" + "A" * 32),  # upper case is not an id
    ("GET", "/api/search/" + "0" * 32),  # well formed, no such search
    ("GET", "/api/search/" + "0" * 32 + "/../x"),
    ("GET", "/api/search/ID?since=-1"),
    ("GET", "/api/searches?x=1"),
    ("GET", "/api/search/ID?since=1&since=2&since=3"),
    ("GET", "/api/search/ID?since=1;rm"),
    ("GET", "/api/search/ID?since=" + "9" * 40),
    ("GET", "/api/searches?" + "a=b&" * 20_000),  # a huge query
    ("GET", "/?" + "x" * 60_000),
    ("POST", "/api/searches"),
    ("POST", "/api/search/ID"),
    ("PUT", "/api/search/ID"),
    ("DELETE", "/api/search/ID"),
    ("PATCH", "/"),
    ("OPTIONS", "/"),
    ("BREW", "/"),
]


@pytest.mark.parametrize("method,target", HOSTILE)
def test_hostile_request_is_refused_and_changes_nothing(served, method, target):
    target = target.replace("ID", served["id"])
    before = snapshot(served["root"])
    body = b'{"type":"end","count":1,"status":"failed"}' if method != "GET" else None
    status, data = request(served["port"], method, target, body=body)
    assert 400 <= status < 500, (status, data[:200])
    assert snapshot(served["root"]) == before
    assert request(served["port"], "GET", "/api/searches")[0] == 200


def test_a_foreign_host_header_is_refused(served):
    """DNS rebinding: a page from evil.example that resolves to 127.0.0.1 gets nothing."""
    status, _ = request(served["port"], "GET", "/api/searches",
                        headers={"Host": f"evil.example:{served['port']}"})
    assert status == 421


def test_a_huge_request_line_or_header_is_refused(served):
    status, _ = request(served["port"], "GET", "/" + "a" * 70_000)
    assert 400 <= status < 500
    status, _ = request(served["port"], "GET", "/", headers={"X-Big": "b" * 70_000})
    assert 400 <= status < 500


def test_garbage_on_the_socket_is_a_4xx(served):
    """(A request line without a version is answered the HTTP/0.9 way: no status line.)"""
    for garbage in (b"\x00\x01\x02 not http at all\r\n\r\n", b"GET /\x00 HTTP/1.1 x\r\n\r\n"):
        with socket.create_connection(("127.0.0.1", served["port"]), timeout=10) as sock:
            sock.sendall(garbage)
            reply = sock.recv(400)
        assert re.match(rb"HTTP/1\.[01] 4\d\d", reply) or b"Error code: 400" in reply, reply


def test_the_good_routes_answer_and_the_server_never_wrote(served):
    before = snapshot(served["root"])
    for target in ("/", "/static/views.js", "/api/searches", f"/search/{served['id']}",
                   f"/api/search/{served['id']}", f"/api/search/{served['id']}?since=0"):
        status, data = request(served["port"], "GET", target)
        assert status == 200, target
        assert data
    status, data = request(served["port"], "HEAD", "/api/searches")
    assert status == 200 and data == b""
    assert snapshot(served["root"]) == before


def test_a_dead_worker_is_shown_failed_without_writing_it_down(served):
    """Reading never writes: the worker that died is recorded by the next worker, not us."""
    opt = Optimizer({"algorithm": "grid", "parameters": {"x": [1, 2]}}, verbose=0,
                    store=served["store"])
    env = {k: v for k, v in os.environ.items() if k != "COMET_OPTIMIZER_ID"}
    worker = subprocess.Popen([sys.executable, WORKER, opt.id, "--hang"], env={
        **env, "COMET_OPTIMIZE_STORE": served["store"]}, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, text=True)
    assert worker.stdout.readline().startswith("ready 1")
    worker.kill()
    worker.wait(timeout=10)
    before = snapshot(served["root"])
    status, data = request(served["port"], "GET", f"/api/search/{opt.id}")
    assert status == 200
    payload = json.loads(data)["payload"]
    state = payload["rows"][0][payload["fields"].index("state")]
    assert payload["states"][state] == "failed"
    assert snapshot(served["root"]) == before


def test_no_traceback_was_printed(served):
    process = served["process"]
    assert request(served["port"], "GET", "/")[0] == 200
    process.terminate()
    process.wait(timeout=10)
    stderr = process.stderr.read()
    assert "Traceback" not in stderr, stderr
    assert "404" in stderr  # refusals are logged, one line each
