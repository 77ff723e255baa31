"""The new book entries recon may write: bank rows the books lack, approved by a rule or a person.

A bank row is approved for booking when it is still open (in no auto, confirmed or
suggested match; not pending; not flagged as a duplicate) and a rule said where it
goes (or a person marked it to be booked by its rule):

- a `category`: one entry, the bank account against that account;
- a `split`: one entry, the bank account against every part's account, the parts'
  exact minor amounts as the rule computed them (they sum to the row);
- a `transfer_to`: money moved to or from another of recon's accounts (its
  `[[accounts]] id`; a person may also name its `ledger_account`), booked against
  that account's `ledger_account`. When recon has bank rows of that account too,
  both banks report the one transfer, once each: it is booked once, from the side
  the money left. The side it arrived on gets no entry: it matches that entry once
  the other account's book is read again, and write-back reports it skipped,
  "booked from the other side". A transfer with an account no bank feeds (a loan,
  an owner's account, a card) is a plain entry from either side.

`book_approved` makes these decisions on plain values, without the store; the
store is read in a few bulk queries, never once per row. This module never
writes: the write-back service does.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace

from recon.decisions import IN_EFFECT_SQL
from recon.money import format_minor
from recon.store import Store
from recon.writeback.base import NewEntry
from recon.writeback.service import new_entries_for_bank_rows

__all__ = ["ApprovedRow", "Booking", "approved_new_entries", "book_approved"]

_APPROVED_SQL = f"""
SELECT b.txn_id, b.account_id, b.amount_minor, b.currency, c.category, c.payee, c.splits, c.transfer_account
FROM bank_transactions b JOIN categorizations c ON c.txn_id = b.txn_id
WHERE NOT b.pending AND NOT c.ignored
  AND (c.category IS NOT NULL OR c.splits IS NOT NULL OR c.transfer_account IS NOT NULL)
  AND b.txn_id NOT IN (SELECT l.bank_txn_id FROM match_links l JOIN matches m USING (match_id)
                       WHERE m.status IN ('auto', 'confirmed', 'suggested'))
  AND b.txn_id NOT IN (SELECT d.row_id FROM duplicates d WHERE d.side = 'bank' AND d.status = 'flagged')
  AND (c.origin = 'person' OR c.rule_name IS NOT NULL OR b.txn_id IN (
        SELECT t.txn_id FROM review_decisions d, unnest(d.bank_txn_ids) AS t(txn_id)
        WHERE d.action = 'book' AND {IN_EFFECT_SQL}))
ORDER BY b.account_id, b.posted_date, b.txn_id
"""


_DIFFERENCES_SQL = """
SELECT l.bank_txn_id, l.amount_diff_minor, c.difference_account, e.description
FROM matches m JOIN match_links l USING (match_id)
JOIN categorizations c ON c.txn_id = l.bank_txn_id
JOIN ledger_entries e ON e.entry_id = l.ledger_entry_id
WHERE m.status IN ('auto', 'confirmed') AND m.kind = '1:1' AND l.amount_diff_minor <> 0
  AND c.difference_account IS NOT NULL AND m.reasons LIKE '%the difference is booked to%'
ORDER BY l.bank_txn_id
"""


@dataclass(frozen=True, slots=True)
class ApprovedRow:
    """An approved bank row and what its categorization says (`categorizations` columns).

    Attributes:
      txn_id: the bank row.
      account_id: its `[[accounts]] id`.
      amount_minor: signed, from the bank account's point of view.
      currency: ISO 4217 code.
      category: the GL account it goes to (one side).
      payee: the payee a rule or person gave it, if any.
      splits: the rule's split, JSON: a list of {category, amount, amount_minor} with the row's sign.
      transfer_account: the account the money moved to or from (an account id or a GL account).
    """

    txn_id: str
    account_id: str
    amount_minor: int
    currency: str
    category: str | None = None
    payee: str | None = None
    splits: str | None = None
    transfer_account: str | None = None


@dataclass(frozen=True, slots=True)
class Booking:
    """How one approved row is booked: against one account, against several, or not at all (and why).

    Attributes:
      txn_id: the bank row.
      counter_account: the other side, when it is one account.
      counter_postings: the other sides (GL account, amount_minor) of a split; they sum to -amount.
      payee: the payee to write, if the categorization gave one.
      held_because: set when the row gets no entry: why (shown in the write-back report and log).
      transfer_to: the id of the other bank account, when it is one recon is fed (a transfer between two banks).
    """

    txn_id: str
    counter_account: str | None = None
    counter_postings: tuple[tuple[str, int], ...] = ()
    payee: str | None = None
    held_because: str | None = None
    transfer_to: str | None = None


def book_approved(
    rows: Sequence[ApprovedRow], ledger_accounts: Mapping[str, str | None], *, fed_accounts: Collection[str]
) -> list[Booking]:
    """Decide how each approved row is booked.

    `ledger_accounts` maps every `[[accounts]] id` to its GL account; `fed_accounts` are the
    ids recon has bank rows of (a transfer with one of them is reported by both banks).
    """
    return [_booking(row, ledger_accounts, fed_accounts) for row in rows]


def _booking(row: ApprovedRow, ledger_accounts: Mapping[str, str | None], fed_accounts: Collection[str]) -> Booking:
    if row.splits is not None:
        return _split_booking(row)
    if row.transfer_account is not None:
        return _transfer_booking(row, ledger_accounts, fed_accounts)
    return Booking(row.txn_id, counter_account=row.category, payee=row.payee)


def _split_booking(row: ApprovedRow) -> Booking:
    assert row.splits is not None
    try:
        parts = [(str(p["category"]), int(p["amount_minor"])) for p in json.loads(row.splits)]
    except (ValueError, TypeError, KeyError) as exc:
        return Booking(row.txn_id, held_because=f"its split cannot be read ({exc}); categorize it again")
    total = sum(amount for _, amount in parts)
    if not parts or total != row.amount_minor:
        # the row changed after it was categorized (a corrected amount): the parts no longer describe it
        return Booking(row.txn_id, held_because=(
            f"its split adds up to {format_minor(total, row.currency)}, the row is "
            f"{format_minor(row.amount_minor, row.currency)} {row.currency}: categorize it again"
        ))  # fmt: skip
    counter = tuple((category, -amount) for category, amount in parts if amount != 0)
    if len(counter) <= 1:  # one part left (or a row of 0): a plain entry
        return Booking(row.txn_id, counter_account=counter[0][0] if counter else parts[0][0], payee=row.payee)
    return Booking(row.txn_id, counter_postings=counter, payee=row.payee)


def _transfer_booking(
    row: ApprovedRow, ledger_accounts: Mapping[str, str | None], fed_accounts: Collection[str]
) -> Booking:
    target = row.transfer_account
    assert target is not None
    own_ledger = ledger_accounts.get(row.account_id)
    if target == row.account_id or (own_ledger is not None and target == own_ledger):
        return Booking(row.txn_id, held_because=f"a transfer to its own account '{target}': book it by hand")
    other = _recon_account(target, ledger_accounts)
    if other is None:  # a GL account recon knows nothing of (a person's categorization): booked as named
        return Booking(row.txn_id, counter_account=target, payee=row.payee)
    other_id, other_ledger = other
    if other_ledger is None:
        return Booking(row.txn_id, held_because=(
            f"a transfer with account '{other_id}', which has no ledger_account to book it to"
        ))  # fmt: skip
    if other_id in fed_accounts and row.amount_minor > 0:
        # both banks report this transfer: the account the money left books the one entry
        return Booking(row.txn_id, held_because=f"booked from the other side: {other_id} ({other_ledger})")
    # the outflow side, or an account no bank feeds (a loan, an owner's account): nobody else books it
    transfer_to = other_id if other_id in fed_accounts else None
    return Booking(row.txn_id, counter_account=other_ledger, payee=row.payee, transfer_to=transfer_to)


def _recon_account(name: str, ledger_accounts: Mapping[str, str | None]) -> tuple[str, str | None] | None:
    """The (id, ledger_account) of the recon account `name` is the id or the ledger_account of, if any."""
    if name in ledger_accounts:
        return name, ledger_accounts[name]
    return next(((i, gl) for i, gl in sorted(ledger_accounts.items()) if gl == name), None)


def approved_new_entries(store: Store) -> list[NewEntry]:
    """The entries of every approved row and booked difference; rows held back come with `held_because` set."""
    rows = [
        ApprovedRow(str(t), str(a), int(amount), str(cur), category, payee, splits, transfer)
        for t, a, amount, cur, category, payee, splits, transfer in store.con.execute(_APPROVED_SQL).fetchall()
    ]
    accounts = store.con.execute("SELECT account_id, ledger_account FROM accounts").fetchall()
    ledger_accounts = {str(i): gl for i, gl in accounts}
    fed = {str(a) for (a,) in store.con.execute("SELECT DISTINCT account_id FROM bank_transactions").fetchall()}
    differences = store.con.execute(_DIFFERENCES_SQL).fetchall()
    base = new_entries_for_bank_rows(store, [r.txn_id for r in rows] + [str(d[0]) for d in differences])
    entries = []
    for booking in book_approved(rows, ledger_accounts, fed_accounts=fed):
        entry = replace(
            base[booking.txn_id], counter_account=booking.counter_account,
            counter_postings=booking.counter_postings, held_because=booking.held_because,
            transfer_to=booking.transfer_to,
        )  # fmt: skip
        entries.append(replace(entry, payee=booking.payee) if booking.payee else entry)
    for txn_id, difference, account, book_description in differences:
        # the matched book entry says the gross; this entry books what the bank kept (a fee)
        row = base[str(txn_id)]
        entries.append(
            replace(
                row, bank_id=f"{row.bank_id}-difference", amount_minor=int(difference), payee=None,
                counter_account=str(account), narration=f"difference to '{book_description}' booked by rule",
            )
        )  # fmt: skip
    return entries
