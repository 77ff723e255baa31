"""Xero's bank transfers: money moved between two of recon's bank accounts, booked once, as Xero books it.

Xero books a move between two of its bank accounts as a bank transfer (`PUT /BankTransfers`), never as
spend or receive money. recon books the transfer from the account the money left (the row where it
arrived is held, "booked from the other side"): From is that account's Xero bank account, To the Xero
bank account of the account the money went to (`NewEntry.transfer_to`, as categorization resolved it),
`Amount` the money moved, `Reference` the bank id (so the next run finds it), both sides reconciled.

This module builds that transfer, or says why it cannot; `xero_sink` looks transfers up and writes
them. Unless the other account has a Xero bank account in the entry's currency, the entry is refused
naming what to set.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from recon.config import AccountSettings
from recon.money import format_minor
from recon.writeback.base import NewEntry

__all__ = ["bank_account_ref", "bank_transfer", "transfer_preview"]


def bank_account_ref(account: AccountSettings) -> dict[str, str]:
    """How a request names the account's Xero bank account: its AccountID, else its Code."""
    if account.xero_bank_account_id:
        return {"AccountID": account.xero_bank_account_id}
    return {"Code": str(account.xero_bank_account_code)}


def bank_transfer(
    entry: NewEntry, *, source: AccountSettings, accounts: Sequence[AccountSettings]
) -> tuple[dict[str, Any] | None, str]:
    """The bank transfer that books `entry` from `source`'s bank account; or None and why not."""
    if entry.amount_minor > 0:
        return None, f"money in from {entry.other_account}: a transfer is booked from the account the money left"
    other, why = _destination(entry, accounts)
    if other is None:
        return None, why
    transfer = {
        "FromBankAccount": bank_account_ref(source),
        "ToBankAccount": bank_account_ref(other),
        "Amount": Decimal(format_minor(-entry.amount_minor, entry.currency)),
        "Date": entry.date.isoformat(),
        "Reference": entry.bank_id,
        "FromIsReconciled": True,
        "ToIsReconciled": True,
    }
    return transfer, ""


def _destination(entry: NewEntry, accounts: Sequence[AccountSettings]) -> tuple[AccountSettings | None, str]:
    """The account the money went to (`entry.transfer_to`), with a Xero bank account in the entry's currency."""
    other = next((a for a in accounts if a.id == entry.transfer_to), None)
    if other is None:
        return None, f"a transfer to account '{entry.transfer_to}', which is not in the config"
    if not (other.xero_bank_account_id or other.xero_bank_account_code):
        return None, (
            f"account '{other.id}' needs xero_bank_account_id (or xero_bank_account_code) "
            "for recon to book this transfer in Xero"
        )
    if other.currency != entry.currency:
        return None, (
            f"a transfer from {entry.currency} to account '{other.id}' in {other.currency}: recon does not know "
            "the rate the bank used; book it in Xero as a bank transfer"
        )
    return other, ""


def transfer_preview(transfer: dict[str, Any], currency: str) -> str:
    """One line of the dry-run preview."""
    to = next(iter(transfer["ToBankAccount"].values()))
    return (
        f"+ {transfer['Date']} TRANSFER {transfer['Amount']} {currency} Reference {transfer['Reference']} "
        f"to bank account {to} (reconciled on both sides)"
    )
