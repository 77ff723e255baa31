"""The new book entries recon may write: bank rows the books lack, approved by a rule or a person.

A bank row is approved for booking when it is still open (in no auto, confirmed or
suggested match; not pending; not flagged as a duplicate) and a rule gave it a
category (or a person marked it to be booked by its rule). Rows a rule ignores, marks
as a transfer or splits are left for a person: their entries have more than one other
side, which the books need to be told explicitly.
"""

from __future__ import annotations

from dataclasses import replace

from recon.decisions import IN_EFFECT_SQL
from recon.store import Store
from recon.writeback.base import NewEntry
from recon.writeback.service import new_entry_for_bank_row

_APPROVED_SQL = f"""
SELECT b.txn_id, c.category, c.payee
FROM bank_transactions b JOIN categorizations c ON c.txn_id = b.txn_id
WHERE NOT b.pending
  AND c.category IS NOT NULL AND NOT c.ignored AND c.transfer_account IS NULL AND c.splits IS NULL
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


def approved_new_entries(store: Store) -> list[NewEntry]:
    entries = []
    for txn_id, category, payee in store.con.execute(_APPROVED_SQL).fetchall():
        entry = new_entry_for_bank_row(store, str(txn_id), counter_account=str(category))
        entries.append(replace(entry, payee=str(payee)) if payee else entry)
    for txn_id, difference, account, book_description in store.con.execute(_DIFFERENCES_SQL).fetchall():
        # the matched book entry says the gross; this entry books what the bank kept (a fee)
        row = new_entry_for_bank_row(store, str(txn_id), counter_account=str(account))
        entries.append(
            replace(
                row, bank_id=f"{row.bank_id}-difference", amount_minor=int(difference), payee=None,
                narration=f"difference to '{book_description}' booked by rule",
            )
        )  # fmt: skip
    return entries
