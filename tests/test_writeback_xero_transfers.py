"""A transfer between two bank accounts recon is fed, written back to Xero as one Xero bank transfer.

The nightly run on two banks (checking -> savings, `tests/two_banks.py`) whose ledgers are Xero
exports, against a local scripted Xero (`tests/xero_server.py`) and against Prism serving Xero's
spec; the refusals on plain values.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from recon.config import AccountSettings
from recon.writeback.base import NewEntry
from recon.writeback.xero_transfers import bank_transfer
from tests.helpers import recon
from tests.two_banks import LEDGERS, OPENING, SAVINGS, write_banks_and_rules
from tests.xero_server import BANK_ACCOUNT_ID, TENANT, Fault, Recorded, XeroServer

SAVINGS_ACCOUNT_ID = "7e5e243b-9fcd-4aef-8e3a-c70be1e39bfa"
TRANSFER_OUT = "C2"  # checking's -500.00 "ONLINE TRANSFER TO SAVINGS" on 2024-03-10
TRANSFER_IN = "S1"  # savings' +500.00, booked from checking's side


def _setup(folder: Path, *, base_url: str, savings_xero: bool = True, default_account_code: bool = True) -> Path:
    """The two banks and the loan, each fed account's ledger a Xero export; write-back to Xero at `base_url`."""
    write_banks_and_rules(folder)
    (folder / "xero").mkdir()
    xero_ids = {"checking": BANK_ACCOUNT_ID, "savings": SAVINGS_ACCOUNT_ID if savings_xero else None}
    config = ""
    for name, xero_id in xero_ids.items():
        opening = f'"{OPENING[LEDGERS[name]]:,}"'
        (folder / "xero" / f"{name}.csv").write_text(
            "Account Transactions\nDemo Company (US)\nFor the period 1 March 2024 to 31 March 2024\n\n"
            f"Date,Source,Description,Reference,Debit,Credit,Running Balance,Gross,Tax\n{LEDGERS[name]}\n"
            f"Opening Balance,,,,,,{opening},,\nClosing Balance,,,,,,{opening},,\n"
        )
        config += (
            f'\n[[accounts]]\nid = "{name}"\ncurrency = "USD"\nledger_account = "{LEDGERS[name]}"\n'
            + (f'xero_bank_account_id = "{xero_id}"\n' if xero_id else "")
            + f'\n[[sources]]\naccount = "{name}"\nformat = "ofx"\npaths = ["bank/{name}/*.ofx"]\n'
            f'\n[[ledgers]]\naccount = "{name}"\nformat = "xero"\npaths = ["xero/{name}.csv"]\n'
            f"writeback = {'true' if xero_id else 'false'}\n"
        )
    config += f'\n[[accounts]]\nid = "car-loan"\ncurrency = "USD"\nledger_account = "{LEDGERS["car-loan"]}"\n'
    config += f'\n[xero]\ntenant_id = "{TENANT}"\nbase_url = "{base_url}"\n'
    config += "max_attempts = 3\nfirst_delay_seconds = 0.05\ntimeout_seconds = 2\n"
    config += 'default_account_code = "429"\n' if default_account_code else ""
    (folder / "recon.toml").write_text(f'[store]\npath = "recon.duckdb"\n\n[output]\ndir = "out"\n{config}'
                                       '\n[rules]\npaths = ["rules/*.yaml"]\n')  # fmt: skip
    return folder / "recon.toml"


def _run(config: Path) -> str:
    result = recon("run", "--config", config)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def _log(folder: Path, sql: str) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(folder / "recon.duckdb"))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _transfer_puts(xero: XeroServer) -> list[Recorded]:
    return [r for r in xero.writes() if r.path == "/BankTransfers"]


def test_a_transfer_between_two_fed_banks_is_one_reconciled_xero_bank_transfer_booked_once(
    tmp_path: Path, xero: XeroServer, token: str
) -> None:
    config = _setup(tmp_path, base_url=xero.url)
    _run(config)

    (transfer,) = xero.transfers
    assert transfer["FromBankAccount"] == {"AccountID": BANK_ACCOUNT_ID}
    assert transfer["ToBankAccount"] == {"AccountID": SAVINGS_ACCOUNT_ID}
    assert (transfer["Date"], transfer["Reference"]) == ("2024-03-10", TRANSFER_OUT)
    assert transfer["FromIsReconciled"] is True
    assert transfer["ToIsReconciled"] is True
    (put,) = _transfer_puts(xero)
    assert '"Amount":500.00,' in put.body.decode()  # the exact digits, written from a Decimal
    assert put.header("Idempotency-Key")
    # neither side of the transfer is spend or receive money; the split and the loan payment are
    assert sorted(xero.references()) == ["C1", "C3"]
    held = _log(tmp_path, f"SELECT error FROM writeback_log WHERE bank_id = '{TRANSFER_IN}'")
    assert held == [("booked from the other side: checking (Assets:Bank:Checking)",)]
    (location,) = _log(tmp_path, f"SELECT ledger_location FROM writeback_log WHERE bank_id = '{TRANSFER_OUT}'")
    assert location == (f"xero:{transfer['BankTransferID']}",)

    writes = len(xero.writes())
    _run(config)
    _log(tmp_path, "DELETE FROM writeback_log")  # found again by its Reference in Xero, not only by the log
    _run(config)
    assert len(xero.writes()) == writes
    assert len(xero.transfers) == 1
    (present,) = _log(tmp_path, f"SELECT status, ledger_location FROM writeback_log WHERE bank_id = '{TRANSFER_OUT}'")
    assert present == ("done", f"xero:{transfer['BankTransferID']}")


def test_a_transfer_retried_after_a_502_that_xero_booked_anyway_is_booked_once(
    tmp_path: Path, xero: XeroServer, token: str
) -> None:
    config = _setup(tmp_path, base_url=xero.url, default_account_code=False)  # the transfer is the only write
    xero.fail("PUT", Fault(502, book_first=True))
    _run(config)
    first, second = _transfer_puts(xero)
    assert (first.status, second.status) == (502, 200)
    assert first.header("Idempotency-Key") == second.header("Idempotency-Key")
    assert [t["Reference"] for t in xero.transfers] == [TRANSFER_OUT]  # Xero replayed its answer: no double


def test_a_transfer_xero_kept_refusing_with_500_is_shown_by_dry_run_and_booked_once_by_the_next_run(
    tmp_path: Path, xero: XeroServer, token: str
) -> None:
    config = _setup(tmp_path, base_url=xero.url, default_account_code=False)
    xero.fail("PUT", *[Fault(500)] * 3)  # max_attempts = 3
    failed = recon("run", "--config", config)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "PUT /BankTransfers: HTTP 500 after 3 attempt(s)" in failed.stdout + failed.stderr
    dry_run = recon("writeback", "--dry-run", "--config", config)
    assert "PUT /BankTransfers from bank account " + BANK_ACCOUNT_ID in dry_run.stdout
    assert f"+ 2024-03-10 TRANSFER 500.00 USD Reference C2 to bank account {SAVINGS_ACCOUNT_ID}" in dry_run.stdout
    assert xero.transfers == []
    retried = recon("writeback", "--config", config)
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert [t["Reference"] for t in xero.transfers] == [TRANSFER_OUT]
    assert len(_transfer_puts(xero)) == 4  # three 500s, one write


def test_bank_transactions_are_booked_although_xero_refuses_the_transfers(
    tmp_path: Path, xero: XeroServer, token: str
) -> None:
    config = _setup(tmp_path, base_url=xero.url)
    xero.fail("PUT", *[Fault(500)] * 3, path="/BankTransfers")  # max_attempts = 3: the batch is refused
    failed = recon("run", "--config", config)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert xero.transfers == []
    assert sorted(xero.references()) == ["C1", "C3"]  # sent first, so a refused transfer does not hold them back


def test_a_transfer_to_an_account_without_a_xero_bank_account_is_refused_naming_the_setting(
    tmp_path: Path, xero: XeroServer, token: str
) -> None:
    config = _setup(tmp_path, base_url=xero.url, savings_xero=False)
    _run(config)
    assert xero.transfers == []
    assert _transfer_puts(xero) == []
    assert TRANSFER_OUT not in xero.references()
    (note,) = _log(tmp_path, f"SELECT error FROM writeback_log WHERE bank_id = '{TRANSFER_OUT}' AND status = 'skipped'")
    assert note == (
        "account 'savings' needs xero_bank_account_id (or xero_bank_account_code) for recon to book this transfer "
        "in Xero",
    )


@pytest.mark.parametrize("told_a_person", [True, False])
def test_a_transfer_an_earlier_recon_left_to_a_person_is_never_booked_by_recon(
    tmp_path: Path, xero: XeroServer, token: str, told_a_person: bool
) -> None:
    config = _setup(tmp_path, base_url=xero.url, savings_xero=False)
    _run(config)  # skipped: savings has no Xero bank account yet
    if told_a_person:  # a store of the recon before it wrote Xero's bank transfers, with what that recon logged
        old_note = (
            f"a transfer to {SAVINGS}: book it in Xero as a bank transfer (recon does not write Xero's bank transfers)"
        )
        con = duckdb.connect(str(tmp_path / "recon.duckdb"))
        con.execute("UPDATE writeback_log SET error = ? WHERE bank_id = ?", [old_note, TRANSFER_OUT])
        con.execute("DELETE FROM schema_migrations WHERE version >= 9")  # a store of version 8
        con.close()
    text = config.read_text()
    savings = f'ledger_account = "{LEDGERS["savings"]}"\n'
    config.write_text(text.replace(savings, f'{savings}xero_bank_account_id = "{SAVINGS_ACCOUNT_ID}"\n'))
    for _ in range(2):  # not on the first run after the upgrade, nor on any later one
        _run(config)
    if not told_a_person:  # a setting added since: the transfer is booked
        assert [t["Reference"] for t in xero.transfers] == [TRANSFER_OUT]
        return
    assert xero.transfers == []
    assert _log(tmp_path, f"SELECT status, ledger_location FROM writeback_log WHERE bank_id = '{TRANSFER_OUT}'") == [
        ("done", "xero: booked by hand (recon asked for it before it wrote bank transfers)")
    ]


def _account(account_id: str, ledger_account: str, currency: str = "USD", **xero: str) -> AccountSettings:
    return AccountSettings(id=account_id, currency=currency, ledger_account=ledger_account, **xero)


CHECKING_SETTINGS = _account("checking", LEDGERS["checking"], xero_bank_account_id=BANK_ACCOUNT_ID)
OUT = NewEntry("t1", "C2", date(2024, 3, 10), -50000, "USD", None, "TRANSFER", SAVINGS, transfer_to="savings")


def test_a_transfer_names_the_other_bank_account_by_code_when_the_config_gives_a_code() -> None:
    savings = _account("savings", SAVINGS, xero_bank_account_code="091")
    transfer, why = bank_transfer(OUT, source=CHECKING_SETTINGS, accounts=[CHECKING_SETTINGS, savings])
    assert why == ""
    assert transfer is not None
    assert (transfer["ToBankAccount"], transfer["Amount"]) == ({"Code": "091"}, Decimal("500.00"))


@pytest.mark.parametrize(
    ("accounts", "entry", "refusal"),
    [
        ([_account("savings", SAVINGS, "EUR", xero_bank_account_code="091")], OUT,
         "a transfer from USD to account 'savings' in EUR: recon does not know the rate the bank used"),
        ([_account("savings-2", SAVINGS, xero_bank_account_code="092")], OUT,
         "a transfer to account 'savings', which is not in the config"),
        ([_account("savings", SAVINGS, xero_bank_account_code="091")],
         NewEntry("t1", "C2", date(2024, 3, 10), 50000, "USD", None, "IN", SAVINGS, transfer_to="savings"),
         "a transfer is booked from the account the money left"),
    ],
    ids=["to another currency", "an account not in the config", "money in"],
)  # fmt: skip
def test_a_transfer_recon_cannot_place_for_sure_is_refused_saying_why(
    accounts: list[AccountSettings], entry: NewEntry, refusal: str
) -> None:
    transfer, why = bank_transfer(entry, source=CHECKING_SETTINGS, accounts=[CHECKING_SETTINGS, *accounts])
    assert transfer is None
    assert refusal in why


# -- the contract: Xero's spec (Prism) ----------------------------------------------------------------------


@pytest.mark.slow
def test_a_bank_transfer_validates_against_xeros_spec(prism: str, tmp_path: Path, token: str) -> None:
    with XeroServer(upstream=prism) as proxy:
        _run(_setup(tmp_path, base_url=proxy.url, default_account_code=False))
        requests = list(proxy.requests)
    transfers = [r for r in requests if r.path == "/BankTransfers"]
    assert [r.method for r in transfers] == ["GET", "PUT"]
    assert 'Reference=="C2"' in transfers[0].query["where"][0]
    assert transfers[1].json()["BankTransfers"][0]["Reference"] == TRANSFER_OUT
    for request in requests:
        assert request.status == 200, (request.method, request.path, request.status, request.violations)
        assert request.violations is None
