"""A host that redirects every request to a second host that records whatever reaches it: the test that a
client never carries its credentials (Plaid keys, a bearer token, a webhook's token) to where a 3xx points."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LEAKY_QUERY = "key=where-it-leaks"
"""The query of the `Location`: no message may repeat it."""


@dataclass
class Redirect:
    """`url`: the redirecting host; `received`: every request (path, headers, body) that reached the other one."""

    url: str
    received: list[str] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    def answer(self) -> None:
        raise NotImplementedError

    def do_GET(self) -> None:
        self.answer()

    def do_POST(self) -> None:
        self.answer()

    def do_PUT(self) -> None:
        self.answer()

    def log_message(self, *args: object) -> None:
        pass


def _serve(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@contextmanager
def redirect_to_a_recorder(status: int = 307) -> Iterator[Redirect]:
    """The redirecting host answers `status` with `Location: http://localhost:PORT/collect?key=...`."""
    redirect = Redirect("")

    class Recorder(_Handler):
        def answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            redirect.received.append(f"{self.command} {self.path} {dict(self.headers)} {body!r}")
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

    recorder = _serve(Recorder)
    location = f"http://localhost:{recorder.server_address[1]}/collect?{LEAKY_QUERY}"

    class Redirector(_Handler):
        def answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(status)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

    redirector = _serve(Redirector)
    redirect.url = f"http://127.0.0.1:{redirector.server_address[1]}"
    try:
        yield redirect
    finally:
        for server in (redirector, recorder):
            server.shutdown()
            server.server_close()
