"""ISO 20022 CAMT bank statements: camt.053 (statement), camt.054 (debit/credit
notification) and camt.052 (account report), any version (.001.02, .04, .08, ...).

Rows. One row per entry (`Ntry`), except when an entry batches several transactions
that each state their own amount (`NtryDtls/TxDtls` with `Amt`, or `AmtDtls/TxAmt/Amt`
in .02): then one row per `TxDtls`, so that a batch of direct debits matches the
ledger entries one by one. The split is made only when every `TxDtls` has an amount
in the entry's currency and their signed sum equals the entry's amount; otherwise the
entry stays one row. Either way the rows of a statement add up to its movement.

Sign and status. `CdtDbtInd` gives the direction of the booking itself (CRDT in, DBIT
out). `RvslInd` true marks a reversal: ISO 20022 already states a reversal's own
direction in `CdtDbtInd` (a reversed debit is CRDT), so the sign is not flipped again;
the reversal is kept as " reversal" in `transaction_type` and in `raw`. `Sts` (text or
`Sts/Cd` in .08) BOOK is booked; PDNG, INFO and anything else is `pending`; a missing
status counts as booked. A pending entry and a booked one with the same `AcctSvcrRef` are one
transaction: in one file only the booked row is kept; a booked row of a later file replaces
the stored pending row (`recon.superseding`), so nothing is doubled or left pending.

Identity. `external_id` is the entry's `AcctSvcrRef`, the reference the account
servicer gives the booking and keeps stable across a camt.052 intraday report and the
camt.053 statement; a split row gets `AcctSvcrRef#k` (k = position of its TxDtls).
Without an entry `AcctSvcrRef`, a row uses its TxDtls' `Refs/AcctSvcrRef`, else no id
(recon's content hash). `NtryRef` is not used: banks often fill it with a sequence
number that restarts with every statement. The end-to-end id goes to `reference`.

Dates. `BookgDt` is the posted date and `ValDt` the value date, each as `Dt` or
`DtTm`; of a `DtTm` the calendar date as written is kept (no time-zone shift). A
pending entry without `BookgDt` is posted on its value date.

Balances. OPBD (or PRCD when there is no OPBD) -> opening, CLBD -> closing,
CLAV -> available, each with its date and `Amt/@Ccy`; a DBIT balance is negative.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from lxml import etree

from importers.bank_rows import bank_frame, drop_repeated_external_ids
from importers.base import Extract, Side, StatementBalance, read_head
from importers.camt_xml import XmlRefusedError, children, descendants, find, local_name, parse_document, text
from recon.errors import Problem
from recon.money import AmountError, parse_amount

__all__ = ["CamtImporter"]

_STATEMENT_TAGS = {"BkToCstmrStmt": "Stmt", "BkToCstmrDbtCdtNtfctn": "Ntfctn", "BkToCstmrAcctRpt": "Rpt"}
_BALANCE_KINDS = {"OPBD": "opening", "PRCD": "opening", "CLBD": "closing", "CLAV": "available"}
_NO_REFERENCE = {"", "NOTPROVIDED", "NONREF"}


class CamtImporter:
    format = "camt053"
    side: Side = "bank"

    def identify(self, path: Path) -> bool:
        head = read_head(path)
        return any(tag.encode() in head for tag in _STATEMENT_TAGS)

    def extract(self, path: Path, *, currency: str) -> Extract:
        name = str(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            return _refused(name, None, f"cannot read the file: {exc.strerror}")
        try:
            root = parse_document(data)
        except XmlRefusedError as exc:
            return _refused(name, exc.line, str(exc))
        message = next((child for child in root if local_name(child)), None) if local_name(root) == "Document" else root
        kind = local_name(message) if message is not None else ""
        if message is None or kind not in _STATEMENT_TAGS:
            found = kind or local_name(root)
            return _refused(name, root.sourceline, f"not a CAMT.052/053/054 document: it holds <{found}>")
        extract = Extract(bank_frame([]))
        records: list[dict[str, Any]] = []
        statement_tag = _STATEMENT_TAGS[kind]
        seen: Counter[str] = Counter()  # statements per account so far
        for index, statement in enumerate(children(message, statement_tag), start=1):
            reader = _StatementReader(name, f"{statement_tag}[{index}]", currency, extract.problems)
            records.extend(row | {"file_account": reader.account or None} for row in reader.read(statement))
            statement_id = text(statement, "Id") or text(statement, "ElctrncSeqNb") or None
            seen[reader.account] += 1
            extract.balances.extend(
                replace(
                    b,
                    file_account=reader.account or None,
                    statement_seq=seen[reader.account],
                    statement_id=statement_id,
                )
                for b in reader.balances
            )
            if reader.account:
                extract.file_accounts.append(reader.account)
        records = _without_pending_booked_later(records)
        drop_repeated_external_ids(records)
        extract.rows = bank_frame(records)
        return extract


def _without_pending_booked_later(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records without the pending ones whose reference the file also books: the booked entry is the
    transaction (across files, the import service replaces a stored pending row the same way)."""
    booked = {r["external_id"] for r in records if r["external_id"] and not r["pending"]}
    return [r for r in records if not (r["pending"] and r["external_id"] in booked)]


def _refused(name: str, line: int | None, message: str) -> Extract:
    return Extract(bank_frame([]), [Problem(name, line, None, message)])


class _StatementReader:
    """Reads one `Stmt` (`Ntfctn`, `Rpt`) into rows, balances and problems."""

    def __init__(self, name: str, path: str, default_currency: str, problems: list[Problem]):
        self.name = name
        self.path = path
        self.default_currency = default_currency
        self.problems = problems
        self.balances: list[StatementBalance] = []
        self.account = ""

    def read(self, statement: etree._Element) -> list[dict[str, Any]]:
        self.account = text(statement, "Acct/Id/IBAN") or text(statement, "Acct/Id/Othr/Id")
        self.default_currency = text(statement, "Acct/Ccy") or self.default_currency
        self._read_balances(statement)
        rows: list[dict[str, Any]] = []
        for index, entry in enumerate(children(statement, "Ntry"), start=1):
            rows.extend(self._entry_rows(entry, f"{self.path}/Ntry[{index}]"))
        return rows

    def _problem(self, element: etree._Element, path: str, field: str, message: str) -> None:
        self.problems.append(Problem(self.name, element.sourceline, field, message, element=path))

    def _read_balances(self, statement: etree._Element) -> None:
        found: dict[str, StatementBalance] = {}
        for index, balance in enumerate(children(statement, "Bal"), start=1):
            path = f"{self.path}/Bal[{index}]"
            code = text(balance, "Tp/CdOrPrtry/Cd")
            if code not in _BALANCE_KINDS or (code == "PRCD" and "OPBD" in found):
                continue
            money = self._money(balance, path)
            as_of = self._date(balance, path, "Dt", required=True)
            if money is not None and as_of is not None:
                found[code] = StatementBalance(_BALANCE_KINDS[code], as_of, money[0], money[1])
        if "OPBD" in found:
            found.pop("PRCD", None)
        self.balances.extend(found.values())

    def _money(self, element: etree._Element, path: str) -> tuple[int, str] | None:
        """Signed minor units and currency of an element's `Amt` + `CdtDbtInd`."""
        amount = find(element, "Amt")
        if amount is None:
            self._problem(element, path, "Amt", "missing amount")
            return None
        currency = (amount.get("Ccy") or self.default_currency).strip().upper()
        value = text(amount)
        if value and value[0] in "+-":
            self._problem(amount, f"{path}/Amt", "Amt", f"'{value}' carries a sign; CdtDbtInd gives the direction")
            return None
        try:
            minor = parse_amount(value, currency)
        except AmountError as exc:
            self._problem(amount, f"{path}/Amt", "Amt", str(exc))
            return None
        direction = text(element, "CdtDbtInd")
        if direction not in ("CRDT", "DBIT"):
            self._problem(element, path, "CdtDbtInd", f"'{direction}' is neither CRDT nor DBIT")
            return None
        return (minor if direction == "CRDT" else -minor), currency

    def _date(self, element: etree._Element, path: str, tag: str, *, required: bool) -> date | None:
        holder = find(element, tag)
        written = text(holder, "Dt") or text(holder, "DtTm")[:10]
        if not written:
            if required:
                self._problem(element, path, tag, "missing date")
            return None
        try:
            return date.fromisoformat(written)
        except ValueError:
            self._problem(element, f"{path}/{tag}", tag, f"'{written}' is not a date (YYYY-MM-DD)")
            return None

    def _entry_rows(self, entry: etree._Element, path: str) -> list[dict[str, Any]]:
        money = self._money(entry, path)
        booked = self._date(entry, path, "BookgDt", required=False)
        value_date = self._date(entry, path, "ValDt", required=False)
        if money is None:
            return []
        posted = booked or value_date
        if posted is None:
            self._problem(entry, path, "BookgDt", "missing booking date (and no value date)")
            return []
        amount, currency = money
        status = text(entry, "Sts/Cd") or text(entry, "Sts")
        facts = _EntryFacts(
            entry, posted, value_date, currency, status, text(entry, "RvslInd").lower() in ("true", "1"), self.account
        )
        details = [
            (detail, f"{path}/NtryDtls[{i}]/TxDtls[{k}]")
            for i, holder in enumerate(children(entry, "NtryDtls"), start=1)
            for k, detail in enumerate(children(holder, "TxDtls"), start=1)
        ]
        split = _split_amounts([d for d, _ in details], amount, currency)
        if split is None:
            only = details[0][0] if len(details) == 1 else None
            external_id = text(entry, "AcctSvcrRef") or text(only, "Refs/AcctSvcrRef") or None
            return [facts.row(self.name, path, entry, only, amount, external_id, [d for d, _ in details])]
        entry_ref = text(entry, "AcctSvcrRef")
        rows = []
        for k, ((detail, detail_path), part) in enumerate(zip(details, split, strict=True), start=1):
            external_id = f"{entry_ref}#{k}" if entry_ref else (text(detail, "Refs/AcctSvcrRef") or None)
            rows.append(facts.row(self.name, detail_path, detail, detail, part, external_id, [detail]))
        return rows


def _split_amounts(details: list[etree._Element], amount: int, currency: str) -> list[int] | None:
    """The signed amounts of a batch's TxDtls when they split the entry exactly, else None."""
    if len(details) < 2:
        return None
    parts = []
    for detail in details:
        holder = find(detail, "Amt")
        if holder is None:
            holder = find(detail, "AmtDtls/TxAmt/Amt")  # camt.053.001.02 has no TxDtls/Amt
        if holder is None or (holder.get("Ccy") or currency).upper() != currency:
            return None
        try:
            minor = parse_amount(text(holder), currency)
        except AmountError:
            return None
        direction = text(detail, "CdtDbtInd") or ("CRDT" if amount >= 0 else "DBIT")
        parts.append(minor if direction == "CRDT" else -minor)
    return parts if sum(parts) == amount else None


class _EntryFacts:
    """What an entry says that all its rows share."""

    def __init__(
        self,
        entry: etree._Element,
        posted: date,
        value_date: date | None,
        currency: str,
        status: str,
        reversal: bool,
        own_account: str,
    ):
        self.entry = entry
        self.posted = posted
        self.value_date = value_date
        self.currency = currency
        self.status = status
        self.reversal = reversal
        self.own_account = own_account

    def row(
        self,
        name: str,
        path: str,
        element: etree._Element,
        detail: etree._Element | None,
        amount: int,
        external_id: str | None,
        all_details: list[etree._Element],
    ) -> dict[str, Any]:
        payee, counterparty_account = _counterparty(detail, amount > 0, self.reversal, self.own_account)
        end_to_end = text(detail, "Refs/EndToEndId")
        creditor_ref = text(find(detail, "RmtInf/Strd/CdtrRefInf"), "Ref")
        reference = end_to_end if end_to_end.upper() not in _NO_REFERENCE else (creditor_ref or None)
        code = _bank_transaction_code(detail) or _bank_transaction_code(self.entry)
        description = _description(self.entry, all_details) or payee or code or "CAMT entry"
        raw = {
            "element": path, "status": self.status or None, "reversal": self.reversal,
            "entry_reference": text(self.entry, "NtryRef") or None,
            "account_servicer_reference": text(self.entry, "AcctSvcrRef") or None,
            "end_to_end_id": end_to_end or None, "bank_transaction_code": code or None,
            "counterparty_account": counterparty_account or None,
            "xml": etree.tostring(element, encoding="unicode"),
        }  # fmt: skip
        return {
            "external_id": external_id,
            "posted_date": self.posted,
            "value_date": self.value_date,
            "amount_minor": amount,
            "currency": self.currency,
            "description": description,
            "payee": payee or None,
            "reference": reference,
            "check_number": text(detail, "Refs/ChqNb") or None,
            "transaction_type": (code + " reversal" if self.reversal else code) or None,
            "pending": self.status not in ("BOOK", ""),
            "source_file": name,
            "source_line": element.sourceline,
            "source_element": path,
            "raw": json.dumps(raw, ensure_ascii=False),
        }


def _counterparty(detail: etree._Element | None, money_in: bool, reversal: bool, own_account: str) -> tuple[str, str]:
    """Name and account of the other party: the debtor of money received, the creditor of money paid.

    A reversal keeps the parties of the original transaction, whose direction was the
    opposite; a party holding our own account is skipped (test files mix the roles up).
    """
    parties = find(detail, "RltdPties")
    roles = ("Dbtr", "Cdtr") if money_in != reversal else ("Cdtr", "Dbtr")
    for role in roles:
        name = text(parties, f"{role}/Nm") or text(parties, f"{role}/Pty/Nm")
        account = text(parties, f"{role}Acct/Id/IBAN") or text(parties, f"{role}Acct/Id/Othr/Id")
        if (name or account) and not (account and account == own_account):
            return name, account
    return "", ""


def _bank_transaction_code(element: etree._Element | None) -> str:
    """'PMNT/RCDT/ESCT' from the ISO domain code, else the proprietary code."""
    domain = find(element, "BkTxCd/Domn")
    if domain is not None and text(domain, "Cd"):
        parts = [text(domain, "Cd"), text(domain, "Fmly/Cd"), text(domain, "Fmly/SubFmlyCd")]
        return "/".join(p for p in parts if p)
    return text(element, "BkTxCd/Prtry/Cd")


def _description(entry: etree._Element, details: list[etree._Element]) -> str:
    """Remittance text of the details, else their additional info, else the entry's."""
    unstructured = [text(u) for d in details for u in descendants(d, "Ustrd") if text(u)]
    if unstructured:
        return " ".join(" ".join(unstructured).split())
    for candidate in (
        *(text(d, "AddtlTxInf") for d in details),
        text(entry, "AddtlNtryInf"),
        *(text(a) for d in details for a in descendants(d, "AddtlRmtInf")),
    ):
        if candidate:
            return " ".join(candidate.split())
    return ""
