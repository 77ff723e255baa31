"""Write-back: approved matches and entries from the store into the user's books.

`write_back` is the service (`recon writeback`, and the last step of `recon run`);
`base` holds the sink protocol every book system implements.
"""

from recon.writeback.base import ClosingBalance, NewEntry, Sink, WritebackError, WritebackRequest, WritePlan
from recon.writeback.service import WritebackSummary, new_entry_for_bank_row, write_back

__all__ = [
    "ClosingBalance",
    "NewEntry",
    "Sink",
    "WritePlan",
    "WritebackError",
    "WritebackRequest",
    "WritebackSummary",
    "new_entry_for_bank_row",
    "write_back",
]
