"""A local Plaid for tests: `/transactions/sync` on 127.0.0.1, speaking Plaid's wire format.

`FakeBank` is a seeded generator of an Item's evolving data, shaped field by field like the
response example of Plaid's OpenAPI spec (the corpus file `plaid-openapi-transactions_sync-example.json`):
each `new_day()` adds transactions, posts pending ones (a new transaction whose
`pending_transaction_id` names the pending one, sometimes with a tip on top), cancels some pending
ones and enriches some descriptions. Every change is one entry of the Item's change log; a cursor
is a position in that log, so pages, cursors and `has_more` behave as Plaid's do.

`PlaidServer` serves the banks with stdlib `http.server` in a thread. Faults are scripted per
request (`fail`, `block`, `corrupt`): 429 and 5xx responses, Plaid error bodies, a mutation during
pagination, a page that blocks until the test releases it, a response missing a required field.
Every successful response body is kept in `responses` for schema validation.
"""

from __future__ import annotations

import base64
import json
import random
import string
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CLIENT_ID = "test-client-id-6f1c2e"
SECRET = "test-secret-9b8a7d6c5e4f"

_MERCHANTS = [
    ("Walmart", "PURCHASE WM SUPERCENTER #1700", "GENERAL_MERCHANDISE", "in store", "place"),
    ("Burger King", "Dd Doordash Burgerkin", "FOOD_AND_DRINK", "online", "digital"),
    ("Starbucks", "STARBUCKS STORE 0423", "FOOD_AND_DRINK", "in store", "place"),
    ("Shell", "SHELL OIL 5744 SAN DIEGO", "TRANSPORTATION", "in store", "place"),
    ("Amazon", "AMZN Mktp US*2K4LD8", "GENERAL_MERCHANDISE", "online", "digital"),
    ("Uber", "UBER *TRIP HELP.UBER.COM", "TRANSPORTATION", "online", "digital"),
]
_DEPOSITS = [("ACME Payroll", "ACME CORP PAYROLL PPD", "INCOME"), ("Stripe", "STRIPE TRANSFER ST-8J2K", "INCOME")]


def plaid_id(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(37))


def _money(value: Decimal) -> float:
    # JSON numbers on the wire; a 2-decimal amount survives the float round trip exactly as text
    return float(value)


@dataclass
class FakeAccount:
    account_id: str
    name: str
    opening: Decimal
    currency: str = "USD"
    mask: str = "0000"


@dataclass
class FakeBank:
    """One Item: its accounts, its change log and the transactions it holds now."""

    access_token: str
    seed: int
    accounts: list[FakeAccount]
    day: date = date(2026, 3, 2)
    log: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    current: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    # -- evolving data -------------------------------------------------------------------------

    def new_day(self, *, new: int = 5) -> None:
        """One day at the bank: post or cancel earlier pending rows, enrich one, add `new` rows."""
        rng = self.rng
        for txn in [t for t in self.current.values() if t["pending"]]:
            roll = rng.random()
            if roll < 0.65:
                tip = Decimal(rng.choice([0, 0, 0, 150, 275])) / 100
                self.post(txn["transaction_id"], tip=tip)
            elif roll < 0.8:
                self.remove(txn["transaction_id"])
        posted = sorted(t["transaction_id"] for t in self.current.values() if not t["pending"])
        if posted and rng.random() < 0.7:
            self.modify(rng.choice(posted), name=f"{rng.choice(_MERCHANTS)[1]} ENRICHED")
        for _ in range(new):
            self.add(pending=rng.random() < 0.4)
        self.day += timedelta(days=1)

    def add(self, *, pending: bool, amount: Decimal | None = None, account: FakeAccount | None = None) -> str:
        rng = self.rng
        account = account or rng.choice(self.accounts)
        if amount is None and rng.random() < 0.15:
            merchant, name, category = rng.choice(_DEPOSITS)
            amount, channel, kind = -Decimal(rng.randint(50_000, 300_000)) / 100, "other", "special"
        else:
            merchant, name, category, channel, kind = rng.choice(_MERCHANTS)
            amount = amount if amount is not None else Decimal(rng.randint(100, 25_000)) / 100
        txn = transaction(
            account=account, transaction_id=plaid_id(rng), amount=amount, day=self.day, name=name,
            merchant=merchant, category=category, channel=channel, kind=kind, pending=pending,
        )  # fmt: skip
        self._change("added", txn)
        return str(txn["transaction_id"])

    def post(self, pending_id: str, *, tip: Decimal = Decimal(0)) -> str:
        """The bank books a pending row: it is removed, and its posted successor added."""
        old = self.current[pending_id]
        posted = dict(old)
        posted.update(
            transaction_id=plaid_id(self.rng),
            pending=False,
            pending_transaction_id=pending_id,
            amount=_money(Decimal(str(old["amount"])) + tip),
            date=self.day.isoformat(),
            datetime=f"{self.day.isoformat()}T09:30:00Z",
        )
        self.remove(pending_id)
        self._change("added", posted)
        return str(posted["transaction_id"])

    def remove(self, transaction_id: str) -> None:
        txn = self.current[transaction_id]
        self._change("removed", {"account_id": txn["account_id"], "transaction_id": transaction_id})

    def modify(self, transaction_id: str, **changes: Any) -> None:
        txn = dict(self.current[transaction_id])
        txn.update(changes)
        self._change("modified", txn)

    def _change(self, kind: str, body: dict[str, Any]) -> None:
        self.log.append((kind, body))
        if kind == "removed":
            del self.current[body["transaction_id"]]
        else:
            self.current[body["transaction_id"]] = body

    # -- what /transactions/sync answers ----------------------------------------------------

    def cursor(self, position: int) -> str:
        return base64.b64encode(f"{self.access_token[-6:]}:{position}".encode()).decode()

    def position(self, cursor: str | None) -> int:
        if not cursor:
            return 0
        return int(base64.b64decode(cursor).decode().rsplit(":", 1)[1])

    def page(self, cursor: str | None, count: int, request_id: str) -> dict[str, Any]:
        start = self.position(cursor)
        end = min(len(self.log), start + count)
        entries = self.log[start:end]
        return {
            "accounts": [self.account_body(a) for a in self.accounts],
            "added": [dict(b) for k, b in entries if k == "added"],
            "modified": [dict(b) for k, b in entries if k == "modified"],
            "removed": [dict(b) for k, b in entries if k == "removed"],
            "next_cursor": self.cursor(end),
            "has_more": end < len(self.log),
            "request_id": request_id,
            "transactions_update_status": "HISTORICAL_UPDATE_COMPLETE",
        }

    def balance(self, account: FakeAccount, *, with_pending: bool) -> Decimal:
        spent = sum(
            (Decimal(str(t["amount"])) for t in self.current.values()
             if t["account_id"] == account.account_id and (with_pending or not t["pending"])),
            Decimal(0),
        )  # fmt: skip
        return account.opening - spent

    def account_body(self, account: FakeAccount) -> dict[str, Any]:
        return {
            "account_id": account.account_id,
            "balances": {
                "available": _money(self.balance(account, with_pending=True)),
                "current": _money(self.balance(account, with_pending=False)),
                "iso_currency_code": account.currency,
                "limit": None,
                "unofficial_currency_code": None,
            },
            "mask": account.mask,
            "name": account.name,
            "official_name": f"Plaid {account.name}",
            "subtype": "checking",
            "type": "depository",
        }


def transaction(
    *, account: FakeAccount, transaction_id: str, amount: Decimal, day: date, name: str, merchant: str,
    category: str, channel: str, kind: str, pending: bool,
) -> dict[str, Any]:  # fmt: skip
    """One transaction with every field of Plaid's example, in its order."""
    slug = merchant.lower().replace(" ", "_")
    entity = f"{slug}-entity-0001"
    return {
        "account_id": account.account_id,
        "account_owner": None,
        "amount": _money(amount),
        "iso_currency_code": account.currency,
        "unofficial_currency_code": None,
        "check_number": None,
        "counterparties": [
            {
                "name": merchant,
                "type": "merchant",
                "logo_url": f"https://logos.example/{slug}.png",
                "website": f"{slug}.com",
                "entity_id": entity,
                "confidence_level": "VERY_HIGH",
            }
        ],
        "date": day.isoformat(),
        "datetime": None if pending else f"{day.isoformat()}T11:01:01Z",
        "authorized_date": day.isoformat(),
        "authorized_datetime": f"{day.isoformat()}T10:34:50Z",
        "location": {
            "address": None,
            "city": None,
            "region": None,
            "postal_code": None,
            "country": None,
            "lat": None,
            "lon": None,
            "store_number": None,
        },
        "name": name,
        "merchant_name": merchant,
        "merchant_entity_id": entity,
        "logo_url": f"https://logos.example/{slug}.png",
        "website": f"{slug}.com",
        "payment_meta": {
            "by_order_of": None,
            "payee": None,
            "payer": None,
            "payment_method": None,
            "payment_processor": None,
            "ppd_id": None,
            "reason": None,
            "reference_number": None,
        },
        "payment_channel": channel,
        "pending": pending,
        "pending_transaction_id": None,
        "personal_finance_category": {"primary": category, "detailed": f"{category}_OTHER", "confidence_level": "HIGH"},
        "personal_finance_category_icon_url": f"https://icons.example/PFC_{category}.png",
        "transaction_id": transaction_id,
        "transaction_code": None,
        "transaction_type": kind,
    }


# -- the HTTP side ------------------------------------------------------------------------------


@dataclass
class Fault:
    """What to do instead of answering one matching request."""

    status: int = 500
    error_type: str = "API_ERROR"
    error_code: str = "INTERNAL_SERVER_ERROR"
    message: str = "an unexpected error occurred"
    token: str | None = None
    page: int | None = None
    """1-based page of a pagination loop; None: any page."""
    times: int = 1
    then: Callable[[], None] | None = None
    """Called when the fault fires (e.g. the bank changes its data: a mutation during pagination)."""
    block: threading.Event | None = None
    """Block the request until this is set (then answer normally); `reached` is set on arrival."""
    reached: threading.Event = field(default_factory=threading.Event)
    drop_field: str | None = None
    """Answer normally, but without this required field."""

    def matches(self, token: str, page: int) -> bool:
        return self.times > 0 and self.token in (None, token) and self.page in (None, page)


class PlaidServer:
    """Serves `banks` on 127.0.0.1 until `close()`; `url` is the host for `plaid.Configuration`."""

    def __init__(self, banks: list[FakeBank], *, page_size: int = 4):
        self.banks = {b.access_token: b for b in banks}
        self.page_size = page_size
        self.faults: list[Fault] = []
        self.responses: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self._page_of_cursor: dict[str, int] = {}
        self._lock = threading.Lock()
        self._serial = 0
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def fail(self, **kwargs: Any) -> Fault:
        fault = Fault(**kwargs)
        self.faults.append(fault)
        return fault

    def close(self) -> None:
        for fault in self.faults:
            if fault.block is not None:
                fault.block.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def answer(self, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self._serial += 1
            request_id = f"req{self._serial:06d}"
            self.requests.append(body)
        if headers.get("plaid-client-id") != CLIENT_ID or headers.get("plaid-secret") != SECRET:
            return 400, error_body("INVALID_INPUT", "INVALID_API_KEYS", "invalid client_id or secret", request_id)
        token = str(body.get("access_token", ""))
        bank = self.banks.get(token)
        if bank is None:
            return 400, error_body("INVALID_INPUT", "INVALID_ACCESS_TOKEN", "access token is invalid", request_id)
        cursor = body.get("cursor") or ""
        page = self._page_of_cursor.get(cursor, 1)
        fault = next((f for f in self.faults if f.matches(token, page)), None)
        if fault is not None:
            with self._lock:
                fault.times -= 1
            fault.reached.set()
            if fault.then is not None:
                fault.then()
            if fault.block is not None:
                fault.block.wait(timeout=60)
            elif fault.drop_field is None:
                return fault.status, error_body(fault.error_type, fault.error_code, fault.message, request_id)
        count = min(int(body.get("count", 100)), self.page_size)
        response = bank.page(cursor, count, request_id)
        if response["has_more"]:
            self._page_of_cursor[response["next_cursor"]] = page + 1
        if fault is not None and fault.drop_field is not None:
            del response[fault.drop_field]
        else:
            self.responses.append(json.loads(json.dumps(response)))
        return 200, response

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path != "/transactions/sync":
                    status, answer = 404, error_body("INVALID_REQUEST", "NOT_FOUND", "unknown endpoint", "req0")
                else:
                    status, answer = server.answer({k.lower(): v for k, v in self.headers.items()}, body)
                data = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client was killed meanwhile
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def error_body(error_type: str, error_code: str, message: str, request_id: str) -> dict[str, Any]:
    """Plaid's error object, as its API returns it."""
    return {
        "error_type": error_type,
        "error_code": error_code,
        "error_code_reason": None,
        "error_message": message,
        "display_message": None,
        "request_id": request_id,
        "causes": [],
        "status": None,
        "documentation_url": f"https://plaid.com/docs/errors/#{error_code.lower()}",
        "suggested_action": None,
    }
