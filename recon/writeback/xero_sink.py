"""Write-back to Xero: approved new entries become reconciled bank transactions, found again by their bank id.

`plan` asks Xero's Accounting API for the bank transactions whose `Reference` is
one of the requested bank ids (a few `GET /BankTransactions?where=...` calls):
those are `present`; the others are to be created. `apply` creates them with
`PUT /BankTransactions` in batches, `IsReconciled: true`, `Reference: <bank id>`,
every request with an `Idempotency-Key` derived from the book and the request's
content, so a retried request (after a timeout, say) is not booked twice by Xero,
and a second write-back finds the entries by their Reference and writes nothing.

A transfer between two of recon's bank accounts becomes a bank transfer instead
(`PUT /BankTransfers`, found again the same way; built in `xero_transfers`).

Matched entries are not marked: Xero reconciles them against its own bank feed in
its UI, and a closing balance has no place in Xero; the sink's `actions` say so, and
write-back asks it for new entries only.

Amounts go out as JSON numbers written from exact decimals, never through a float.
The OAuth2 access token comes from `xero_auth` (a token in the environment, or fetched
with a Custom Connection's client credentials), and no message of this module contains it.

The tree of errors (both `WritebackError`, so the service logs the items `failed`
and the next run tries them again)::

    WritebackError
     +-- XeroUnavailableError   rate limits, 5xx or timeouts after every retry; exit code 1
     +-- BookError
          +-- XeroRefusedError  no credentials, or refused, or Xero refuses the request (4xx); exit code 2

(defined in `xero_auth`, which raises them too).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from recon.config import AccountSettings, XeroSettings
from recon.errors import redact
from recon.http_retry import HttpResponse, RetriesExhaustedError, RetryPolicy, redirect_note, send
from recon.money import format_minor
from recon.writeback.base import Action, NewEntry, PlannedItem, WritebackRequest, WritePlan
from recon.writeback.xero_auth import XeroCredentials, XeroRefusedError, XeroUnavailableError
from recon.writeback.xero_documents import BANK_TRANSACTIONS, BANK_TRANSFERS, XeroCollection
from recon.writeback.xero_transfers import bank_account_ref, bank_transfer, transfer_preview

__all__ = ["XeroRefusedError", "XeroSink", "XeroUnavailableError", "exact_json", "idempotency_key"]

WRITE_BATCH = 25
"""Bank transactions or transfers per PUT (Xero takes up to 50; smaller batches fail smaller)."""
QUERY_BATCH = 20
"""References per GET: the `where` filter stays well inside a URL's length."""
PAGE_SIZE = 100
MAX_PAGES = 50

_PLAIN_CODE = re.compile(r"^[A-Za-z0-9]{1,10}$")
_GONE = {"DELETED", "VOIDED"}


@dataclass(frozen=True, slots=True)
class XeroWrite:
    """One document to create: the log key, the bank id, the body element and its kind."""

    key: str
    bank_id: str
    document: dict[str, Any]
    collection: XeroCollection = BANK_TRANSACTIONS


def exact_json(value: Any) -> str:
    """JSON text of dicts, lists, strings, bools, ints and `Decimal`s; a Decimal is written as its exact digits."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"not a JSON number: {value}")
        return format(value, "f")
    if isinstance(value, dict):
        return "{" + ",".join(f"{exact_json(str(k))}:{exact_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(exact_json(v) for v in value) + "]"
    if isinstance(value, float):
        raise TypeError("floats are not sent: amounts are Decimal")
    return json.dumps(value, ensure_ascii=False)


def idempotency_key(target: str, tenant_id: str, body: str) -> str:
    """The same request to the same book always carries the same key (Xero allows 128 characters)."""
    digest = hashlib.sha256(f"{target}\n{tenant_id}\n{body}".encode()).hexdigest()
    return f"recon-{digest}"


class XeroSink:
    """A Xero organisation's bank account, as one write-back target: it takes new entries only."""

    actions: frozenset[Action] = frozenset({"add"})

    def __init__(
        self,
        path: Path,
        *,
        target: str,
        settings: XeroSettings,
        account: AccountSettings,
        accounts: Sequence[AccountSettings] = (),
        environ: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.path = path
        self.target = target
        self.settings = settings
        self.account = account
        self.accounts = accounts  # the config's, to find where a transfer between banks went
        self.environ = os.environ if environ is None else environ
        self.sleep = sleep
        self.policy = RetryPolicy(
            attempts=settings.max_attempts,
            first_delay=settings.first_delay_seconds,
            max_delay=settings.max_delay_seconds,
            timeout=settings.timeout_seconds,
        )
        self.credentials = XeroCredentials(settings, environ=self.environ, policy=self.policy, sleep=sleep)

    # -- plan ---------------------------------------------------------------------------------------

    def plan(self, request: WritebackRequest) -> WritePlan:
        self.credentials.token()  # no credentials is a setup mistake, whatever there is to write
        plan = WritePlan(self.target)
        wanted: list[XeroWrite] = []
        for entry in request.new_entries:
            write, why = self._transaction(entry, request.currency)
            if write is None:
                plan.items.append(PlannedItem("add", entry.bank_txn_id, "skipped", note=why))
            else:
                wanted.append(write)
        if wanted:
            found: dict[str, str] = {}
            for collection in dict.fromkeys(w.collection for w in wanted):
                found |= self._existing(collection, {w.bank_id for w in wanted if w.collection is collection})
            for write in wanted:
                if write.bank_id in found:
                    location = f"xero:{found[write.bank_id]}"
                    plan.items.append(PlannedItem("add", write.key, "present", location=location))
                else:
                    plan.items.append(PlannedItem("add", write.key, "change"))
                    plan.operations.append(write)
        plan.preview = self._preview(plan)
        return plan

    def _transaction(self, entry: NewEntry, currency: str) -> tuple[XeroWrite | None, str]:
        if entry.currency != currency:
            return None, f"the entry is in {entry.currency}, the account in {currency}"
        if entry.amount_minor == 0:
            return None, "Xero takes no bank transaction of 0"
        if entry.transfer_to is not None:
            # Xero books a move between two bank accounts as a bank transfer, never as spend or receive money
            transfer, why = bank_transfer(entry, source=self.account, accounts=self.accounts)
            if transfer is None:
                return None, why
            return XeroWrite(entry.bank_txn_id, entry.bank_id, transfer, BANK_TRANSFERS), ""
        spend = entry.amount_minor < 0
        lines: list[dict[str, Any]] = []
        for account, amount_minor in self._sides(entry):
            code = self._account_code(account)
            if code is None:
                return None, (
                    f"no Xero account code for category '{account}': add it to [xero.account_codes] "
                    "or set [xero] default_account_code"
                )
            # a line is what the transaction pays (SPEND) or receives (RECEIVE): the other side's amount, so signed
            line_minor = amount_minor if spend else -amount_minor
            lines.append({
                "Description": (entry.narration.strip() or entry.bank_id)[:4000],
                "Quantity": Decimal(1), "UnitAmount": Decimal(format_minor(line_minor, entry.currency)),
                "AccountCode": code,
            })  # fmt: skip
        contact = entry.payee or self.settings.default_contact or entry.narration
        transaction: dict[str, Any] = {
            "Type": "SPEND" if spend else "RECEIVE",
            "Contact": {"Name": (contact.strip() or "Bank")[:255]},
            "LineItems": lines,
            "BankAccount": bank_account_ref(self.account),
            "IsReconciled": True,
            "Date": entry.date.isoformat(),
            "Reference": entry.bank_id,
            "CurrencyCode": entry.currency,
            "LineAmountTypes": "Inclusive",  # the bank's amount is the total, whatever the tax
        }  # fmt: skip
        return XeroWrite(entry.bank_txn_id, entry.bank_id, transaction), ""

    @staticmethod
    def _sides(entry: NewEntry) -> tuple[tuple[str | None, int], ...]:
        """The other sides; one without a category (None) takes the default account code."""
        if entry.counter_postings:
            return entry.counter_postings
        return ((entry.counter_account, -entry.amount_minor),)

    def _account_code(self, category: str | None) -> str | None:
        if category is not None:
            if category in self.settings.account_codes:
                return self.settings.account_codes[category]
            if _PLAIN_CODE.match(category):
                return category  # the rule names a Xero code itself
        return self.settings.default_account_code

    def _is_our_account(self, found: Any) -> bool:
        if not isinstance(found, dict):
            return True  # Xero did not say: the Reference decides
        if self.account.xero_bank_account_id and found.get("AccountID"):
            return str(found["AccountID"]).lower() == self.account.xero_bank_account_id.lower()
        if self.account.xero_bank_account_code and found.get("Code"):
            return str(found["Code"]) == self.account.xero_bank_account_code
        return True

    def _existing(self, collection: XeroCollection, bank_ids: set[str]) -> dict[str, str]:
        """The requested bank ids Xero already holds from this bank account, with the id Xero gave them."""
        found: dict[str, str] = {}
        ordered = sorted(bank_ids)
        for start in range(0, len(ordered), QUERY_BATCH):
            chunk = ordered[start : start + QUERY_BATCH]
            where = " OR ".join(f'Reference=="{_quoted(b)}"' for b in chunk)
            for document in self._pages(collection, where):
                reference = document.get("Reference")
                if reference not in bank_ids or str(document.get("Status", "")).upper() in _GONE:
                    continue
                if self._is_our_account(document.get(collection.account_field)):
                    found[str(reference)] = str(document.get(collection.id_field, "?"))
        return found

    def _pages(self, collection: XeroCollection, where: str) -> Iterator[dict[str, Any]]:
        for page in range(1, MAX_PAGES + 1):
            paging = {"page": page, "pageSize": PAGE_SIZE} if collection.paged else {}
            answer = self._call("GET", f"/{collection.name}?{urlencode({'where': where, **paging})}")
            documents = answer.get(collection.name) or []
            yield from (d for d in documents if isinstance(d, dict))
            if not collection.paged:
                return
            pagination = answer.get("pagination") or {}
            page_count = pagination.get("pageCount") if isinstance(pagination, dict) else None
            if isinstance(page_count, int) and page >= page_count:
                return
            if len(documents) < PAGE_SIZE:
                return

    def _preview(self, plan: WritePlan) -> str:
        writes = [op for op in plan.operations if isinstance(op, XeroWrite)]
        if not writes:
            return ""
        bank = bank_account_ref(self.account)
        puts = " and ".join(f"PUT /{c.name}" for c in dict.fromkeys(w.collection for w in writes))
        lines = [f"Xero {self.settings.base_url}: {puts} from bank account {next(iter(bank.values()))}"]
        for w in writes:
            t = w.document
            if w.collection is BANK_TRANSFERS:
                lines.append(transfer_preview(t, self.account.currency))
                continue
            items = t["LineItems"]
            total = sum((line["UnitAmount"] for line in items), Decimal(0))
            accounts = ", ".join(
                f"{line['AccountCode']}" + (f" {line['UnitAmount']}" if len(items) > 1 else "") for line in items
            )
            lines.append(
                f"+ {t['Date']} {t['Type']} {total} {t['CurrencyCode']} Reference {t['Reference']} "
                f"'{t['Contact']['Name']}' account {accounts} (reconciled)"
            )
        return "\n".join(lines) + "\n"

    # -- apply --------------------------------------------------------------------------------------

    def apply(self, plan: WritePlan) -> None:
        """Create the planned transactions and transfers; raise naming what Xero refused or why it did not answer.

        A batch Xero answered is booked there even if a later one fails: the next run's plan finds those
        by their Reference (present) and writes only the rest.
        """
        writes = [op for op in plan.operations if isinstance(op, XeroWrite)]
        created: dict[str, str] = {}
        refused: list[str] = []
        # transactions first: Xero refuses a PUT /BankTransfers whole for one bad transfer (no summarizeErrors),
        # and a refusal stops the write-back there
        for collection in (BANK_TRANSACTIONS, BANK_TRANSFERS):
            of_kind = [w for w in writes if w.collection is collection]
            for start in range(0, len(of_kind), WRITE_BATCH):
                batch = of_kind[start : start + WRITE_BATCH]
                body = exact_json({collection.name: [w.document for w in batch]})
                answer = self._call(
                    "PUT", f"/{collection.name}{collection.put_query}", body=body,
                    key=idempotency_key(self.target, self.settings.tenant_id, body),
                )  # fmt: skip
                ok, bad = _outcome(batch, answer.get(collection.name))
                created.update(ok)
                refused += bad
        plan.items[:] = [
            replace(i, location=f"xero:{created[i.key]}") if i.status == "change" and i.key in created else i
            for i in plan.items
        ]
        if refused:
            shown = "; ".join(refused[:5]) + (f"; and {len(refused) - 5} more" if len(refused) > 5 else "")
            raise XeroRefusedError(
                f"Xero refused {len(refused)} of {len(writes)} new entries: {shown}. "
                "The others are booked in Xero; the next run finds them by Reference and tries the rest again"
            )

    def check(self) -> str:
        """A read-only look at the configured bank account (for `recon doctor`): its name and type in Xero, and
        where the token comes from (a Custom Connection's token is fetched, so a wrong secret shows here)."""
        if self.account.xero_bank_account_id:
            answer = self._call("GET", f"/Accounts/{self.account.xero_bank_account_id}")
        else:
            where = f'Code=="{_quoted(str(self.account.xero_bank_account_code))}"'
            answer = self._call("GET", f"/Accounts?{urlencode({'where': where})}")
        accounts = [a for a in answer.get("Accounts") or [] if isinstance(a, dict)]
        if not accounts:
            named = next(iter(bank_account_ref(self.account).values()))
            raise XeroRefusedError(f"Xero has no account {named} in this tenant")
        found = accounts[0]
        kind, currency = found.get("Type"), found.get("CurrencyCode")
        name = f"{found.get('Name', '?')} ({kind or '?'}, {currency or '?'})"
        setting = "xero_bank_account_id" if self.account.xero_bank_account_id else "xero_bank_account_code"
        if kind != "BANK":
            raise XeroRefusedError(f"Xero account {name} is not a bank account: account '{self.account.id}' "
                                   f"needs {setting} of a bank account")  # fmt: skip
        if currency and currency != self.account.currency:
            raise XeroRefusedError(f"Xero bank account {name} is not in {self.account.currency}, the currency of "
                                   f"account '{self.account.id}'")  # fmt: skip
        return f"bank account {name}; {self.credentials.way()}"

    # -- HTTP ---------------------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, body: str | None = None, key: str | None = None) -> dict[str, Any]:
        endpoint = path.split("?")[0]
        response = self._send(method, path, self.credentials.token(), body=body, key=key)
        if response.status == 401 and (fresh := self.credentials.renewed()) is not None:
            # a fetched token can expire during a long run: one new token, one more try (same Idempotency-Key)
            response = self._send(method, path, fresh, body=body, key=key)
        if response.status >= 300:
            refusal = _refusal(method, endpoint, response, self.credentials.hint_for_refused_token())
            raise XeroRefusedError(redact(refusal, self.credentials.secrets()))
        answer = response.json()
        if not isinstance(answer, dict):
            raise XeroUnavailableError(f"Xero's answer to {method} {endpoint} is not a JSON object")
        return answer

    def _send(self, method: str, path: str, token: str, *, body: str | None, key: str | None) -> HttpResponse:
        headers = {
            "Authorization": f"Bearer {token}",
            "xero-tenant-id": self.settings.tenant_id,
            "Accept": "application/json",
            "User-Agent": "recon",
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        if key is not None:
            headers["Idempotency-Key"] = key
        try:
            return send(
                method, self.settings.base_url + path, headers=headers,
                body=None if body is None else body.encode("utf-8"), policy=self.policy, sleep=self.sleep,
            )  # fmt: skip
        except RetriesExhaustedError as exc:
            problem = ""
            if exc.status == 429 and exc.headers is not None and exc.headers.get("X-Rate-Limit-Problem"):
                problem = f" (Xero's {exc.headers['X-Rate-Limit-Problem']} limit)"
            raise XeroUnavailableError(
                redact(
                    f"Xero did not answer: {exc}{problem}; what is not booked stays in writeback_log (failed) "
                    "and the next run tries again",
                    self.credentials.secrets(),
                )
            ) from None


def _outcome(batch: Sequence[XeroWrite], answered: Any) -> tuple[dict[str, str], list[str]]:
    """Which writes Xero created (key -> the id Xero gave it) and which it refused (messages)."""
    if not isinstance(answered, list) or len(answered) != len(batch):
        return {}, [f"{w.bank_id}: Xero's answer does not list it" for w in batch]
    created: dict[str, str] = {}
    refused: list[str] = []
    for write, element in zip(batch, answered, strict=True):
        element = element if isinstance(element, dict) else {}
        errors = [str(e.get("Message")) for e in element.get("ValidationErrors") or [] if isinstance(e, dict)]
        if errors or str(element.get("StatusAttributeString", "")).upper() == "ERROR":
            refused.append(f"{write.bank_id}: {'; '.join(errors) or 'refused without a message'}")
        else:
            created[write.key] = str(element.get(write.collection.id_field, "?"))
    return created, refused


def _refusal(method: str, endpoint: str, response: HttpResponse, refused_token_hint: str) -> str:
    body = response.json()
    said = ""
    if isinstance(body, dict):
        parts = [str(body[k]) for k in ("Title", "Message", "Detail") if body.get(k)]
        for element in body.get("Elements") or []:
            if isinstance(element, dict):
                parts += [str(e.get("Message")) for e in element.get("ValidationErrors") or [] if isinstance(e, dict)]
        said = ": " + "; ".join(dict.fromkeys(parts)) if parts else ""
    hint = ""
    if (redirect := redirect_note(response.status, response.headers.get("Location"))) is not None:
        hint = f"; {redirect}: check [xero] base_url"
    elif response.status == 401:
        hint = refused_token_hint
    elif response.status == 403:
        hint = "; the token is not authorised for this tenant_id or lacks the accounting.transactions scope"
    elif response.status == 404:
        hint = "; check [xero] base_url"
    return f"Xero refused {method} {endpoint}: HTTP {response.status}{said[:500]}{hint}"


def _quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
