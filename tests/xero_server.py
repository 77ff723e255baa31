"""A local Xero for tests: `/BankTransactions` and `/BankTransfers` on 127.0.0.1, with scripted faults,
recording every request.

`XeroServer` keeps bank transactions and bank transfers in memory the way Xero's Accounting
API does for what recon uses: `GET /BankTransactions?where=Reference=="..." OR ...` (with
`page` and `pageSize`), `PUT /BankTransactions` creating them (each gets a `BankTransactionID`),
the same for `/BankTransfers` (no paging; each gets a `BankTransferID`), `GET /Accounts/{AccountID}`
of the one bank account, and
`Idempotency-Key`: a key seen before gets the first answer again and creates nothing.
A request without the expected bearer token or `xero-tenant-id` gets Xero's 401/403.

`POST /connect/token` is Xero's identity server for a Custom Connection: with HTTP Basic
auth of `CLIENT_ID:CLIENT_SECRET` and `grant_type=client_credentials` it issues a new token
(valid for `token_lifetime` seconds, its `expires_in`), which the API then takes like the
fixed one; wrong credentials get 400 `invalid_client`, as Xero answers.

Faults are scripted per method (`fail("PUT", Fault(429, headers={"Retry-After": "1"}), ...)`),
used one per request in order: a status with headers, an answer delayed past the client's
timeout, a write that is booked but whose answer comes too late or is an error (`book_first`),
or every issued token expiring just before the request is read (`expire_tokens`). The token
endpoint is the only one taking POST: `fail("POST", ...)` scripts its faults.

With `upstream` (the URL of a Prism mock of Xero's official spec) every API request that is not a
scripted fault is forwarded there instead, and Prism's status and `sl-violations` header are
recorded: the contract check of the requests recon sends.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "xero-test-token-5Qz8wLmN3vB7"
CLIENT_ID = "7C1A5E0B9D2F4E6A8B3C5D7E9F1A2B4C"
CLIENT_SECRET = "cc-secret-Vt4r9XwQ2mLp8sK1nY6dJ3hZ"
TOKEN_PATH = "/connect/token"
TENANT = "3f0a9c2e-7d41-4b8e-9a55-0c1f2e3d4b6a"
BANK_ACCOUNT_ID = "6f7594f2-f059-4d56-9e67-47ac9733bfe9"

_REFERENCE = re.compile(r'Reference=="((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Fault:
    """How to answer one request instead of (or besides) the normal answer.

    Attributes:
      status: answer this status (with `headers` and a small error body); None answers normally.
      delay: seconds to wait before answering.
      book_first: book the write first, then wait `delay` and answer (too late), or answer `status` (an error
        after the booking, as a gateway's 502).
      expire_tokens: every token issued so far stops being valid before this request is answered.
    """

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    book_first: bool = False
    expire_tokens: bool = False


@dataclass
class Recorded:
    """One request the server got, and how it was answered."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float
    status: int = 0
    violations: str | None = None

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


class XeroServer:
    """Start with `with XeroServer() as xero:`; `xero.url` is the base URL to configure."""

    def __init__(self, *, upstream: str | None = None, token: str = TOKEN, tenant: str = TENANT):
        self.upstream = upstream
        self.token = token
        self.tenant = tenant
        self.token_lifetime = 1800
        self.issued: list[str] = []
        self._valid_until: dict[str, float] = {}
        self.requests: list[Recorded] = []
        self.transactions: list[dict[str, Any]] = []
        self.transfers: list[dict[str, Any]] = []
        self.bank_account = {"AccountID": BANK_ACCOUNT_ID, "Name": "Business Checking", "Type": "BANK",
                             "CurrencyCode": "USD"}  # fmt: skip
        self._faults: dict[str, list[Fault]] = {}
        self._answers_by_key: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> XeroServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail(self, method: str, *faults: Fault, path: str | None = None) -> None:
        """Answer the next requests of `method` (to `path` only, if given) with these faults, one each, in order."""
        with self._lock:
            self._faults.setdefault(method if path is None else f"{method} {path}", []).extend(faults)

    def _next_fault(self, method: str, path: str) -> Fault | None:
        for key in (f"{method} {path}", method):
            if self._faults.get(key):
                return self._faults[key].pop(0)
        return None

    @property
    def token_url(self) -> str:
        return self.url + TOKEN_PATH

    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.method in ("PUT", "POST") and r.path != TOKEN_PATH]

    def token_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path == TOKEN_PATH]

    def api_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path != TOKEN_PATH]

    def references(self) -> list[str]:
        """The Reference of every bank transaction booked, once per booking (a double shows twice)."""
        return [str(t.get("Reference")) for t in self.transactions]

    # -- the handler ------------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def do_GET(self) -> None:
                server._serve(self)

            def do_PUT(self) -> None:
                server._serve(self)

            def do_POST(self) -> None:
                server._serve(self)

        return Handler

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        split = urlsplit(handler.path)
        record = Recorded(
            handler.command, split.path, parse_qs(split.query), dict(handler.headers.items()), body, time.monotonic()
        )
        with self._lock:
            self.requests.append(record)
            fault = self._next_fault(handler.command, split.path)
            if fault is not None and fault.expire_tokens:
                self._valid_until.clear()
        if fault is not None and fault.status is not None:
            if fault.book_first and self.upstream is None:
                self._local(handler, split, body)
            time.sleep(fault.delay)
            # careless servers echo what they were sent: recon must never pass a credential on
            echoed = f"scripted fault for {handler.headers.get('Authorization')}"
            payload = json.dumps({"Title": "scripted", "Status": fault.status, "Detail": echoed}).encode()
            self._answer(handler, record, fault.status, payload, fault.headers)
            return
        if fault is not None and not fault.book_first:
            time.sleep(fault.delay)
        if split.path == TOKEN_PATH:
            status, payload = self._grant(handler, body)
        elif self.upstream is not None:
            status, payload, headers = self._forward(handler, split, body)
            record.violations = headers.get("sl-violations")
        else:
            status, payload = self._local(handler, split, body)
        if fault is not None and fault.book_first:
            time.sleep(fault.delay)
        self._answer(handler, record, status, payload, {})

    def _answer(
        self, handler: BaseHTTPRequestHandler, record: Recorded, status: int, payload: bytes, headers: dict[str, str]
    ) -> None:
        record.status = status
        try:
            handler.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (a timeout test)

    def _forward(self, handler: BaseHTTPRequestHandler, split: Any, body: bytes) -> tuple[int, bytes, dict[str, str]]:
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in ("host", "content-length")}
        request = urllib.request.Request(
            f"{self.upstream}{split.path}{'?' + split.query if split.query else ''}",
            data=body or None,
            method=handler.command,
            headers=headers,
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, answer.read(), dict(answer.headers.items())
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), dict(exc.headers.items())

    def _grant(self, handler: BaseHTTPRequestHandler, body: bytes) -> tuple[int, bytes]:
        """Xero's client credentials grant: a new token for the right Basic auth, else Xero's OAuth2 error."""
        basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if handler.command != "POST" or handler.headers.get("Content-Type") != "application/x-www-form-urlencoded":
            return 400, b'{"error": "invalid_request"}'
        if handler.headers.get("Authorization") != f"Basic {basic}":
            sent = handler.headers.get("Authorization")  # echoed, as careless servers do: recon must hide it
            return 400, json.dumps({"error": "invalid_client", "error_description": f"unknown client {sent}"}).encode()
        if parse_qs(body.decode()).get("grant_type") != ["client_credentials"]:
            return 400, b'{"error": "unsupported_grant_type"}'
        token = f"xero-cc-token-{uuid.uuid4().hex}"
        with self._lock:
            self.issued.append(token)
            self._valid_until[token] = time.monotonic() + self.token_lifetime
        answer = {"access_token": token, "expires_in": self.token_lifetime, "token_type": "Bearer",
                  "scope": "accounting.transactions accounting.settings"}  # fmt: skip
        return 200, json.dumps(answer).encode()

    def _authorized(self, authorization: str | None) -> bool:
        if not authorization or not authorization.startswith("Bearer "):
            return False
        token = authorization.removeprefix("Bearer ")
        with self._lock:
            return token == self.token or self._valid_until.get(token, 0.0) > time.monotonic()

    def _local(self, handler: BaseHTTPRequestHandler, split: Any, body: bytes) -> tuple[int, bytes]:
        if not self._authorized(handler.headers.get("Authorization")):
            return 401, json.dumps({"Title": "Unauthorized", "Status": 401, "Detail": "TokenExpired"}).encode()
        if handler.headers.get("xero-tenant-id") != self.tenant:
            return 403, json.dumps(
                {"Title": "Forbidden", "Status": 403, "Detail": "AuthorizationUnsuccessful"}
            ).encode()
        if split.path == f"/Accounts/{BANK_ACCOUNT_ID}" and handler.command == "GET":
            return 200, json.dumps({"Status": "OK", "Accounts": [self.bank_account]}).encode()
        if split.path not in ("/BankTransactions", "/BankTransfers"):
            return 404, b'{"Title": "Not Found"}'
        collection = split.path.removeprefix("/")
        if handler.command == "GET":
            if collection == "BankTransfers":
                return 200, self._transfers_where(parse_qs(split.query))
            return 200, self._query(parse_qs(split.query))
        key = handler.headers.get("Idempotency-Key")
        with self._lock:
            if key and key in self._answers_by_key:
                return 200, self._answers_by_key[key]
            created = [self._book(collection, document) for document in json.loads(body)[collection]]
            payload = json.dumps({"Status": "OK", collection: created}).encode()
            if key:
                self._answers_by_key[key] = payload
        return 200, payload

    def _book(self, collection: str, document: dict[str, Any]) -> dict[str, Any]:
        """Keep one created document as Xero would answer it (the caller holds the lock)."""
        if collection == "BankTransfers":
            booked = {**document, "BankTransferID": str(uuid.uuid4()), "Status": "AUTHORISED"}
            self.transfers.append(booked)
        else:
            booked = {**document, "BankTransactionID": str(uuid.uuid4()), "Status": "AUTHORISED"}
            booked["BankAccount"] = {**document["BankAccount"], "AccountID": BANK_ACCOUNT_ID}
            self.transactions.append(booked)
        return {**booked, "StatusAttributeString": "OK"}

    def _query(self, query: dict[str, list[str]]) -> bytes:
        references = set(_REFERENCE.findall(query.get("where", [""])[0]))
        page = int(query.get("page", ["1"])[0])
        size = int(query.get("pageSize", ["100"])[0])
        with self._lock:
            hits = [t for t in self.transactions if t.get("Reference") in references]
        pages = max(1, -(-len(hits) // size))
        shown = hits[(page - 1) * size : page * size]
        pagination = {"page": page, "pageSize": size, "pageCount": pages, "itemCount": len(hits)}
        return json.dumps({"Status": "OK", "pagination": pagination, "BankTransactions": shown}).encode()

    def _transfers_where(self, query: dict[str, list[str]]) -> bytes:
        """`GET /BankTransfers?where=Reference=="..." OR ...`: every hit in one answer (Xero does not page them)."""
        references = set(_REFERENCE.findall(query.get("where", [""])[0]))
        with self._lock:
            hits = [t for t in self.transfers if t.get("Reference") in references]
        return json.dumps({"Status": "OK", "BankTransfers": hits}).encode()
