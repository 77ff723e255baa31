"""Fixtures and setup shared by the Xero write-back tests: the token or a Custom Connection's client credentials,
a scripted local Xero, Prism serving Xero's official spec, and a bank account whose ledger is a Xero export
(registered in `conftest.py`)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from recon.config import Config
from recon.importing import import_file, jobs_from_config
from recon.runlog import sync_accounts
from recon.store import Store
from recon.writeback import NewEntry
from tests.writeback_books import bank_only_entries, story, write_bank, write_config
from tests.xero_server import BANK_ACCOUNT_ID, CLIENT_ID, CLIENT_SECRET, TENANT, TOKEN, TOKEN_PATH, XeroServer

SPEC = Path(__file__).resolve().parents[2] / "shared" / "specs" / "xero_accounting.yaml"
TOKEN_ENV = "XERO_ACCESS_TOKEN"
CLIENT_ID_ENV = "XERO_CLIENT_ID"
CLIENT_SECRET_ENV = "XERO_CLIENT_SECRET"
CODES = {"Expenses:Bank:Fees": "404", "Expenses:Bank Fees": "404", "Income:Interest": "270"}


def xero_setup(folder: Path, *, base_url: str, xero: str = "", txns_size: int = 4) -> Config:
    """A bank OFX, a Xero export as the ledger side (write-back on) and recon.toml pointing at `base_url` (its
    token endpoint too: never the real Xero's)."""
    write_bank(folder, story(size=txns_size))
    (folder / "xero").mkdir(exist_ok=True)
    (folder / "xero" / "export.csv").write_text("id,date,amount,description,counterparty,reference,account\n")
    xero_settings = f"""[xero]
tenant_id = "{TENANT}"
base_url = "{base_url}"
token_url = "{base_url}{TOKEN_PATH}"
account_codes = {{ {", ".join(f'"{k}" = "{v}"' for k, v in CODES.items())} }}
max_attempts = 3
first_delay_seconds = 0.05
timeout_seconds = 2
{xero}"""
    return write_config(
        folder,
        fmt="xero",
        book="xero/export.csv",
        ledger_account="Business Checking",
        account_extra=f'xero_bank_account_id = "{BANK_ACCOUNT_ID}"',
        extra=xero_settings,
    )


def import_bank(store: Store, config: Config) -> list[NewEntry]:
    """Import the bank side only; every bank row is then an approved new entry (fees and income by sign)."""
    sync_accounts(store, config)
    jobs, _ = jobs_from_config(config)
    for job in jobs:
        if job.side == "bank":
            assert not import_file(store, job, run_id="test").problems
    return bank_only_entries(store)


def no_xero_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (TOKEN_ENV, CLIENT_ID_ENV, CLIENT_SECRET_ENV):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> str:
    no_xero_credentials(monkeypatch)
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    return TOKEN


@pytest.fixture
def client_credentials(monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """A Custom Connection's client id and secret in the environment, and no access token."""
    no_xero_credentials(monkeypatch)
    monkeypatch.setenv(CLIENT_ID_ENV, CLIENT_ID)
    monkeypatch.setenv(CLIENT_SECRET_ENV, CLIENT_SECRET)
    return CLIENT_ID, CLIENT_SECRET


@pytest.fixture
def xero() -> Iterator[XeroServer]:
    with XeroServer() as server:
        yield server


# -- the contract: Prism serving Xero's official spec ---------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def prism() -> Iterator[str]:
    """Prism mocking Xero's spec with `--errors`: a request that breaks the spec gets a 4xx and `sl-violations`."""
    binary = os.environ.get("RECON_PRISM") or shutil.which("prism")
    if not binary:
        pytest.skip("Prism is not installed (npm install @stoplight/prism-cli; set RECON_PRISM to its binary)")
    if not SPEC.is_file():
        pytest.skip(f"Xero's spec not found at {SPEC} (it lives beside the repo in ../shared/specs)")
    port = free_port()
    process = subprocess.Popen(
        [binary, "mock", "-h", "127.0.0.1", "-p", str(port), "--errors", str(SPEC)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    err = process.stderr.read().decode(errors="replace")[-2000:] if process.stderr else ""
                    pytest.fail(f"Prism did not start: {err}")
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
