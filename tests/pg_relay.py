"""A TCP relay between a worker and the test PostgreSQL server, which a test can misdirect.

It can turn new connections away (a server that is down), hold everything in
both directions (a server whose processes are stopped: its kernel still
accepts connections and data, and nothing comes back), or hold only what the
server sends on the connections open at that moment (a network path that lost
one direction). Holding keeps the bytes: they flow on when released.
"""

from __future__ import annotations

import socket
import threading
from urllib.parse import urlsplit

from tests.conftest import postgres_server_url


class _Pipe:
    """One direction of one relayed connection."""

    def __init__(self, source: socket.socket, sink: socket.socket, flowing: bool):
        self.source, self.sink = source, sink
        self.flowing = threading.Event()
        if flowing:
            self.flowing.set()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        try:
            while data := self.source.recv(65536):
                self.flowing.wait()
                self.sink.sendall(data)
        except OSError:
            pass
        for end in (self.source, self.sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Relay:
    """Relays connections to the test server; ``allowed`` of them before `refuse` applies."""

    def __init__(self, allowed: int | None = None):
        target = urlsplit(postgres_server_url())
        self.target = (target.hostname, target.port or 5432)
        self.allowed = allowed  # None: every connection; a number: that many, then refuse
        self.refused = 0
        self.frozen = False  # new connections are held too
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = [self.listener]
        self.pipes: list[tuple[_Pipe, _Pipe]] = []  # (to the server, to the client)
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, store_url: str) -> str:
        """``store_url`` with its host and port replaced by the relay's."""
        parts = urlsplit(store_url)
        user = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        return parts._replace(netloc=f"{user}127.0.0.1:{self.port}").geturl()

    def open(self) -> None:
        """Let every connection through from now on."""
        self.allowed = None

    def freeze(self) -> None:
        """Hold everything, both ways, on every connection, new ones included."""
        with self._lock:
            self.frozen = True
            for pipes in self.pipes:
                for pipe in pipes:
                    pipe.flowing.clear()

    def hold_replies(self) -> None:
        """Hold what the server sends on the connections open now; new ones flow."""
        with self._lock:
            for _, to_client in self.pipes:
                to_client.flowing.clear()

    def thaw(self) -> None:
        with self._lock:
            self.frozen = False
            for pipes in self.pipes:
                for pipe in pipes:
                    pipe.flowing.set()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.allowed is not None and self.allowed <= 0:
                self.refused += 1
                client.close()
                continue
            if self.allowed is not None:
                self.allowed -= 1
            server = socket.create_connection(self.target)
            with self._lock:
                self.sockets += [client, server]
                flowing = not self.frozen
                self.pipes.append((_Pipe(client, server, flowing),
                                   _Pipe(server, client, flowing)))

    def close(self) -> None:
        self.thaw()
        for sock in self.sockets:
            sock.close()
