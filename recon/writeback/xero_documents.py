"""The kinds of document recon creates in Xero, as the Accounting API names their parts.

An approved new entry becomes a bank transaction (`BankTransactions`); a transfer between two of
recon's bank accounts becomes a bank transfer (`BankTransfers`). Both are created with a PUT in
batches and found again by `Reference` with a GET; only the names differ, and whether the GET pages.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BANK_TRANSACTIONS", "BANK_TRANSFERS", "XeroCollection"]


@dataclass(frozen=True, slots=True)
class XeroCollection:
    """A kind of document recon creates in Xero.

    Attributes:
      name: the endpoint, and the key of the documents in requests and answers.
      id_field: the id Xero gives each document.
      account_field: where a document names recon's bank account (one found by Reference counts if it is ours).
      put_query: what the PUT's URL adds.
      paged: whether the GET takes page and pageSize.
    """

    name: str
    id_field: str
    account_field: str
    put_query: str
    paged: bool


BANK_TRANSACTIONS = XeroCollection(
    "BankTransactions", "BankTransactionID", "BankAccount", "?summarizeErrors=false", paged=True
)
# Xero's spec gives PUT /BankTransfers no summarizeErrors and GET /BankTransfers no paging
BANK_TRANSFERS = XeroCollection("BankTransfers", "BankTransferID", "FromBankAccount", "", paged=False)
