"""The local review server: stdlib `http.server`, one page and a few JSON endpoints.

Safety, in order: it binds to 127.0.0.1 unless told otherwise; every request must
carry the token printed at start (the page's URL holds it, the page's script sends
it in the `X-Recon-Token` header), else 403; the Host header must name the address
the server listens on (no DNS rebinding), and a POST's Origin must be that same
host; actions accept only `application/json` bodies, which a cross-site form
cannot send. The token is never logged: the access log shows paths without their
query, and any message holding the token is redacted.

DuckDB lets one process open a store file read-write at a time, so the server opens
the store per request only to read or change it, and closes it before rendering and
sending the answer: `recon run` can run between two requests, and one that starts
during a request waits the moment it takes (`open_store` retries). A request that
finds the store busy waits a few seconds at most (a run holds it for minutes), then
gets a 503 that says so.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import secrets
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs

from recon.errors import ReconError, StoreBusyError, UserError
from recon.review_web.actions import perform
from recon.review_web.page import render_page
from recon.review_web.page_data import ReviewData, load_review_data
from recon.store import Store, open_store
from recon.store.connection import store_wait_seconds

__all__ = ["ReviewServer", "make_server", "new_token", "serve"]

TOKEN_HEADER = "X-Recon-Token"
MAX_BODY = 64 * 1024
T = TypeVar("T")
REQUEST_STORE_WAIT_SECONDS = 5.0  # a person waits at the page; RECON_STORE_WAIT lowers it


def new_token() -> str:
    return secrets.token_urlsafe(24)


def _is_wildcard(host: str) -> bool:
    return host in ("", "0.0.0.0", "::")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class ReviewServer(ThreadingHTTPServer):
    """A review server bound to one address, for one store, with one token."""

    daemon_threads = True

    def __init__(self, host: str, port: int, *, store_path: Path, token: str, by: str):
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), ReviewHandler)
        self.store_path = store_path
        self.token = token
        self.by = by
        self.store_lock = threading.Lock()  # one request at a time holds the store file
        self.allowed_hosts = self._allowed_hosts(host)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def _allowed_hosts(self, host: str) -> set[str] | None:
        """Host header values that name this server; None when bound to every interface (any name is fine)."""
        if _is_wildcard(host):
            return None
        names = {f"[{host}]" if ":" in host else host}
        if _is_loopback(host):
            names |= {"localhost", "127.0.0.1", "[::1]"}
        return {f"{name}:{self.port}" for name in names}

    @property
    def url(self) -> str:
        """The page's address with its token: printed once, for the user."""
        host = str(self.server_address[0])
        shown = "127.0.0.1" if _is_wildcard(host) else f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port}/?token={self.token}"


@dataclass(frozen=True, slots=True)
class Answer:
    """A response, rendered and sent after the store is closed."""

    code: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, code: int, payload: dict[str, Any]) -> Answer:
        return cls(code, json.dumps(payload).encode(), "application/json")

    @classmethod
    def error(cls, code: int, message: str, *, as_json: bool) -> Answer:
        if as_json:
            return cls.json(code, {"ok": False, "error": message})
        return cls(code, (message + "\n").encode(), "text/plain; charset=utf-8")


class ReviewHandler(BaseHTTPRequestHandler):
    server: ReviewServer
    server_version = "recon-review"
    sys_version = ""

    # -- logging: paths without their query, never the token --------------------------------

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = self.path.split("?", 1)[0] if hasattr(self, "path") else "?"
        self.log_message("%s %s %s", getattr(self, "command", "?"), path, code)

    def log_message(self, format: str, *args: Any) -> None:
        message = (format % args).replace(self.server.token, "<token>")
        sys.stderr.write(f"review: {message}\n")

    def _send(self, answer: Answer) -> None:
        self.send_response(answer.code)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        for key, value in answer.headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(answer.body)

    # -- checks ----------------------------------------------------------------------------

    def _token_ok(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.server.token.encode())

    def _host_ok(self) -> bool:
        allowed = self.server.allowed_hosts
        return allowed is None or self.headers.get("Host", "") in allowed

    def _origin_ok(self) -> bool:
        origin = self.headers.get("Origin")
        return origin is None or origin == f"http://{self.headers.get('Host', '')}"

    def _with_store(self, work: Callable[[Store], T], *, as_json: bool) -> T | Answer:
        """Open the store, do `work`, close the store: it is held only this long, so `work` only reads or
        changes the store; rendering and sending happen after."""
        with self.server.store_lock:
            try:
                wait = min(store_wait_seconds(), REQUEST_STORE_WAIT_SECONDS)
                store = open_store(self.server.store_path, wait_seconds=wait)
            except StoreBusyError:  # its hint to set RECON_STORE_WAIT does not apply to a page
                busy = "the store is in use by another recon process (a run, an import?)"
                return Answer.error(503, f"{busy}; try again in a moment", as_json=as_json)
            except ReconError as exc:
                return Answer.error(500, f"cannot open the store: {exc}", as_json=as_json)
            try:
                return work(store)
            except Exception as exc:  # the page says what failed; the transaction was rolled back
                self.log_message("error: %s: %s", type(exc).__name__, exc)
                return Answer.error(500, f"internal error: {type(exc).__name__}: {exc}", as_json=as_json)
            finally:
                store.close()

    # -- routes ----------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._send(self._get())

    def _get(self) -> Answer:
        path, _, query = self.path.partition("?")
        given = parse_qs(query).get("token", [None])[0] or self.headers.get(TOKEN_HEADER)
        if not self._token_ok(given):
            message = "forbidden: open the address printed by 'recon review' (it carries the token)"
            return Answer.error(403, message, as_json=False)
        if not self._host_ok():
            return Answer.error(403, "forbidden: unexpected Host header", as_json=False)
        if path != "/":
            return Answer.error(404, "not found", as_json=False)
        data = self._with_store(load_review_data, as_json=False)
        return data if isinstance(data, Answer) else self._page(data)

    def _page(self, data: ReviewData) -> Answer:
        nonce = secrets.token_urlsafe(16)
        store_name = self.server.store_path.name
        page = render_page(data, token=self.server.token, nonce=nonce, by=self.server.by, store_name=store_name)
        csp = (
            f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; connect-src 'self'; "
            "img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        )
        return Answer(200, page.encode(), "text/html; charset=utf-8", {"Content-Security-Policy": csp})

    def do_POST(self) -> None:
        self._send(self._post())

    def _post(self) -> Answer:
        path = self.path.split("?", 1)[0]
        if not self._token_ok(self.headers.get(TOKEN_HEADER)):
            return Answer.error(403, f"forbidden: the {TOKEN_HEADER} header is missing or wrong", as_json=True)
        if not self._host_ok() or not self._origin_ok():
            return Answer.error(403, "forbidden: the request comes from another site", as_json=True)
        if not path.startswith("/api/"):
            return Answer.error(404, "not found", as_json=True)
        if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
            return Answer.error(415, "send the action as application/json", as_json=True)
        length_text = self.headers.get("Content-Length") or "0"
        if not length_text.isdigit():
            return Answer.error(400, "bad Content-Length", as_json=True)
        length = int(length_text)
        if length > MAX_BODY:
            return Answer.error(413, "request too large", as_json=True)
        try:
            payload = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return Answer.error(400, "the request body is not JSON", as_json=True)
        action = path.removeprefix("/api/")
        answer = self._with_store(lambda store: self._act(store, action, payload), as_json=True)
        assert isinstance(answer, Answer)
        return answer

    def _act(self, store: Store, action: str, payload: object) -> Answer:
        try:
            message = perform(store, action, payload, by=self.server.by)
        except UserError as exc:
            return Answer.error(400, str(exc), as_json=True)
        except ReconError as exc:
            return Answer.error(500, str(exc), as_json=True)
        return Answer.json(200, {"ok": True, "message": message})


def make_server(store_path: Path, *, host: str, port: int, by: str, token: str | None = None) -> ReviewServer:
    """A server ready to `serve_forever()`; port 0 picks a free port."""
    return ReviewServer(host, port, store_path=store_path, token=token or new_token(), by=by)


def serve(store_path: Path, *, host: str, port: int, by: str, announce: Callable[[str], None]) -> None:
    """Serve until interrupted; `announce` receives the one line that shows the token."""
    server = make_server(store_path, host=host, port=port, by=by)
    try:
        announce(f"review page: {server.url}  (Ctrl+C to stop)")
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
