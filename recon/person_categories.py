"""A person says where bank rows go: `recon review categorize` and the review page's account field.

The categorization is a decision like any other (`review_decisions`, action `categorize`)
and a `categorizations` row per bank row with origin `person`, whose `run_id` is the
decision's id: the categorize step never reads or changes such a row, so no rule
overrides it, and write-back books it as it books a rule's. `recon undo` removes the
rows of the decision; the rules categorize them again on the next run.

Refused, with what to do instead: unknown rows; rows in an auto or confirmed match (the
books have them: nothing to book); rows flagged as possible duplicates (dismiss the flag
first); rows write-back already booked (recon never changes what it wrote); rows a
person already categorized (undo that decision first, so the log says what is in effect).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from recon.categorize.rows import WRITTEN_ROWS_SQL
from recon.decisions import Decision, external_id_hint, insert_decision
from recon.errors import UserError
from recon.store import Store

__all__ = ["Categorized", "categorize_rows"]

MAX_NAME = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Categorized:
    """What a person's categorization did, for the message to the person.

    Attributes:
      decision_id: the decision logged (what `recon undo` takes).
      rows: the bank rows categorized.
      in_suggestions: rows still in a suggested match, as "txn_id (match id)": booked only once it is rejected.
    """

    decision_id: str
    rows: list[str]
    in_suggestions: list[str] = field(default_factory=list)

    def message(self, category: str) -> str:
        text = f"{len(self.rows)} bank row(s) booked to {category} (decision {self.decision_id})"
        if self.in_suggestions:
            text += (
                f"; still in a suggested match, so not written to a book until it is rejected: "
                f"{', '.join(self.in_suggestions)}"
            )
        return text


def _name(value: str | None, what: str, *, required: bool) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise UserError(f"{what}: give the GL account the row is booked to, e.g. 'Expenses:Office Supplies'")
        return None
    if _CONTROL.search(text):
        raise UserError(f"{what}: {text!r} holds a control character (a line break, a tab)")
    if "  " in text or ";" in text:
        # a journal reads two spaces as the end of an account name and ';' as a comment
        raise UserError(f"{what}: {text!r} holds two spaces in a row or ';', which a book's journal cannot hold")
    if len(text) > MAX_NAME:
        raise UserError(f"{what}: longer than {MAX_NAME} characters")
    return text


def _refuse(store: Store, bank_ids: list[str]) -> None:
    """Every reason these rows cannot be categorized by a person, in one error."""
    con = store.con
    known = {r[0] for r in con.execute(
        "SELECT txn_id FROM bank_transactions WHERE list_contains(?, txn_id)", [bank_ids]
    ).fetchall()}  # fmt: skip
    missing = [i for i in bank_ids if i not in known]
    if missing:
        raise UserError(f"unknown bank rows: {', '.join(missing)}{external_id_hint(store, missing, [])}")
    problems = []
    held = con.execute(
        """SELECT DISTINCT l.bank_txn_id, m.match_id, m.status FROM match_links l JOIN matches m USING (match_id)
           WHERE m.status IN ('auto', 'confirmed') AND list_contains(?, l.bank_txn_id) ORDER BY ALL""",
        [bank_ids],
    ).fetchall()
    if held:
        listed = ", ".join(f"{txn} ({status} match {match})" for txn, match, status in held)
        problems.append(f"already matched to the books, they need no category: {listed} (reject the match first)")
    flagged = con.execute(
        "SELECT row_id, duplicate_of FROM duplicates WHERE side = 'bank' AND status = 'flagged' "
        "AND list_contains(?, row_id) ORDER BY ALL",
        [bank_ids],
    ).fetchall()
    if flagged:
        listed = ", ".join(f"{row} (repeats {of})" for row, of in flagged)
        problems.append(
            f"flagged as possible duplicates: {listed}; if the row is real, dismiss the flag first "
            "('recon review not-duplicate')"
        )
    written = con.execute(
        f"SELECT txn_id, location FROM ({WRITTEN_ROWS_SQL}) WHERE list_contains(?, txn_id) ORDER BY ALL", [bank_ids]
    ).fetchall()
    if written:
        listed = ", ".join(f"{txn} (at {where})" for txn, where in written)
        problems.append(
            f"already written back to a book by their categorization: {listed}; recon does not change what it "
            "wrote, edit the book by hand"
        )
    by_person = con.execute(
        "SELECT txn_id, run_id FROM categorizations WHERE origin = 'person' AND list_contains(?, txn_id) ORDER BY ALL",
        [bank_ids],
    ).fetchall()
    if by_person:
        listed = ", ".join(f"{txn} (decision {decision})" if decision else str(txn) for txn, decision in by_person)
        problems.append(f"already categorized by a person: {listed}; undo that decision first ('recon undo')")
    if problems:
        raise UserError("; ".join(problems))


def _check_account(store: Store, bank_ids: list[str], category: str) -> None:
    """The category is a GL account of the books, not one of the bank accounts recon reconciles.

    A row booked against its own bank account books nothing; one booked against another bank
    account of the config is a transfer, which a rule's `transfer_to` books once, not twice.
    """
    rows = store.con.execute(
        """SELECT DISTINCT b.account_id, a.account_id FROM bank_transactions b, accounts a
           WHERE list_contains(?, b.txn_id) AND (a.ledger_account = ? OR a.account_id = ?) ORDER BY ALL""",
        [bank_ids, category, category],
    ).fetchall()
    for own, named in rows:
        if own == named:
            raise UserError(
                f"--category: '{category}' names the row's own bank account '{own}' (or its GL account): "
                "name the account the money came from or went to"
            )
        raise UserError(
            f"--category: '{category}' is bank account '{named}' of the config: money between two of your accounts "
            f"is a transfer; book it with a rule's transfer_to: {named} (rules/README.md), which writes it once"
        )
    _check_beancount(store, bank_ids, category)


def _check_beancount(store: Store, bank_ids: list[str], category: str) -> None:
    """Where the row's books are beancount, the name must be one beancount can write (as write-back spells it)."""
    books = store.con.execute(
        """SELECT DISTINCT i.account_id FROM import_batches i JOIN bank_transactions b USING (account_id)
           WHERE i.side = 'ledger' AND i.format = 'beancount' AND list_contains(?, b.txn_id)""",
        [bank_ids],
    ).fetchall()
    if not books:
        return
    from recon.writeback.base import BookError  # beancount loads only for a beancount book
    from recon.writeback.beancount_sink import beancount_account

    try:
        beancount_account(category)
    except BookError as exc:
        raise UserError(f"--category: {exc}") from None


def categorize_rows(
    store: Store,
    bank_ids: list[str],
    *,
    category: str,
    payee: str | None = None,
    memo: str | None = None,
    by: str,
    note: str | None = None,
) -> Categorized:
    """A person books these bank rows to `category` (a GL account); one transaction, one decision."""
    bank_ids = sorted(set(bank_ids))
    if not bank_ids:
        raise UserError("name at least one bank row (txn_id) to categorize")
    account = _name(category, "--category", required=True)
    assert account is not None
    payee, memo = _name(payee, "--payee", required=False), _name(memo, "--memo", required=False)
    now = datetime.now(UTC).replace(tzinfo=None)
    decision = Decision(uuid.uuid4().hex, now, by, "categorize", None, bank_ids, [], note)
    with store.transaction() as con:
        _refuse(store, bank_ids)
        _check_account(store, bank_ids, account)
        con.execute("DELETE FROM categorizations WHERE list_contains(?, txn_id)", [bank_ids])  # the engine's
        con.execute(
            """INSERT INTO categorizations (txn_id, origin, category, payee, memo, ignored, run_id, categorized_at)
               SELECT unnest(?), 'person', ?, ?, ?, false, ?, ?""",
            [bank_ids, account, payee, memo, decision.decision_id, now],
        )
        insert_decision(store, decision)
        suggested = con.execute(
            """SELECT DISTINCT l.bank_txn_id, m.match_id FROM match_links l JOIN matches m USING (match_id)
               WHERE m.status = 'suggested' AND list_contains(?, l.bank_txn_id) ORDER BY ALL""",
            [bank_ids],
        ).fetchall()
    return Categorized(decision.decision_id, bank_ids, [f"{txn} (match {match})" for txn, match in suggested])
