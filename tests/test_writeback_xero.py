"""Write-back to Xero: requests checked by Prism against Xero's official spec; retries, faults and idempotency
against a local scripted Xero (`tests/xero_server.py`) that books what it is sent and records every request."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from recon.http_retry import retry_after_seconds
from recon.store import Store, open_store
from recon.writeback import NewEntry, write_back
from recon.writeback.xero_sink import XeroRefusedError, XeroSink, exact_json
from tests.helpers import count, recon
from tests.writeback_books import BANK_ONLY, OPENING, StoryTxn, story
from tests.xero_fixtures import TOKEN_ENV, free_port, import_bank, no_xero_credentials, xero_setup
from tests.xero_server import BANK_ACCOUNT_ID, TENANT, TOKEN, Fault, XeroServer

RULES = Path(__file__).resolve().parent.parent / "rules"


def write_xero_export(folder: Path, txns: list[StoryTxn]) -> None:
    """The month as Xero's Account Transactions export has it: every bank row but the fee and the interest."""
    lines = [
        "Account Transactions", "Demo Company (US)", "For the period 1 March 2024 to 31 March 2024", "",
        "Date,Source,Description,Reference,Debit,Credit,Running Balance,Gross,Tax", "Business Checking",
        f'Opening Balance,,,,,,"{OPENING:,}",,',
    ]  # fmt: skip
    balance = OPENING
    for t in txns:
        balance += t.amount
        debit, credit = (f"{t.amount}", "") if t.amount > 0 else ("", f"{-t.amount}")
        source = "Receive Money" if t.amount > 0 else "Spend Money"
        lines.append(f'{t.day:%d %b %Y},{source},{t.payee},INV-{t.fitid},{debit},{credit},"{balance:,}",,')
    lines.append(f'Closing Balance,,,,,,"{balance:,}",,')
    (folder / "xero" / "export.csv").write_text("\n".join(lines) + "\n")


def log_rows(store: Store) -> list[tuple[object, ...]]:
    return store.con.execute(
        "SELECT item_key, status, attempts, error, ledger_location FROM writeback_log WHERE action = 'add' "
        "ORDER BY item_key"
    ).fetchall()


@pytest.mark.slow
def test_every_request_recon_sends_validates_against_xeros_spec(prism: str, tmp_path: Path, token: str) -> None:
    with XeroServer(upstream=prism) as proxy:
        config = xero_setup(tmp_path, base_url=proxy.url)
        with open_store(config.store_path) as store:
            entries = import_bank(store, config)
            summary = write_back(store, config, run_id="r1", new_entries=entries)
        assert config.xero is not None
        with pytest.raises(XeroRefusedError, match="is not a bank account"):  # Prism's example is an EXPENSE account
            XeroSink(Path(), target="doctor", settings=config.xero, account=config.accounts[0]).check()  # doctor
        gets = [r for r in proxy.requests if r.method == "GET"]
        puts = [r for r in proxy.requests if r.method == "PUT"]
    assert gets
    assert puts
    for request in proxy.requests:
        assert request.status == 200, (request.method, request.path, request.status, request.violations)
        assert request.violations is None
        assert request.header("xero-tenant-id") == TENANT
    assert all(p.header("Idempotency-Key") for p in puts)
    assert 'Reference=="FIT90"' in gets[0].query["where"][0]
    assert gets[-1].path == f"/Accounts/{BANK_ACCOUNT_ID}"
    # Prism answers with the spec's canned example, an element with a validation error: recon says so
    (target,) = summary.targets
    assert target.error is not None
    assert "Xero refused" in target.error


@pytest.mark.slow
@pytest.mark.parametrize(
    ("path", "body", "missing"),
    [
        ("/BankTransactions", b'{"BankTransactions": [{"Type": "SPEND"}]}', "BankAccount"),
        ("/BankTransfers", b'{"BankTransfers": [{"FromBankAccount": {"Code": "090"}, "Amount": 1.00}]}',
         "ToBankAccount"),
    ],
)  # fmt: skip
def test_prism_refuses_a_request_that_breaks_the_spec(prism: str, path: str, body: bytes, missing: str) -> None:
    """The contract check has teeth: a bank transaction without BankAccount and LineItems is a violation, and so
    is a bank transfer without ToBankAccount."""
    with XeroServer(upstream=prism) as proxy:
        import urllib.error
        import urllib.request

        request = urllib.request.Request(
            f"{proxy.url}{path}",
            data=body,
            method="PUT",
            headers={"xero-tenant-id": TENANT, "Authorization": "Bearer x", "Content-Type": "application/json"},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
    assert refused.value.code in (400, 422)
    assert missing in str(proxy.requests[0].violations)


# -- what is booked ---------------------------------------------------------------------------------------


def test_new_entries_are_booked_reconciled_with_the_bank_id_and_exact_amounts(
    tmp_path: Path, xero: XeroServer, token: str
) -> None:
    config = xero_setup(tmp_path, base_url=xero.url)
    with open_store(config.store_path) as store:
        entries = import_bank(store, config)
        summary = write_back(store, config, run_id="r1", new_entries=entries)
        logged = log_rows(store)
    assert summary.as_dict()["written"] == len(entries) == 6
    assert not summary.failed
    assert sorted(xero.references()) == sorted(e.bank_id for e in entries)
    (put,) = xero.writes()
    assert put.query == {"summarizeErrors": ["false"]}
    raw = put.body.decode()
    sent = {t["Reference"]: t for t in put.json()["BankTransactions"]}
    fee = sent["FIT90"]
    assert fee["Type"] == "SPEND"
    assert fee["IsReconciled"] is True
    assert fee["BankAccount"] == {"AccountID": BANK_ACCOUNT_ID}
    assert fee["LineItems"][0]["AccountCode"] == "404"
    assert fee["Date"] == "2024-03-30"
    assert sent["FIT91"]["Type"] == "RECEIVE"
    assert sent["FIT91"]["LineItems"][0]["AccountCode"] == "270"
    # amounts are JSON numbers with exactly the bank's digits (12.00, 0.37), never float text like 0.37000001
    assert f'"UnitAmount":{-BANK_ONLY[0][1]}' in raw
    assert f'"UnitAmount":{BANK_ONLY[1][1]}' in raw
    for entry in entries:
        amount = sent[entry.bank_id]["LineItems"][0]["UnitAmount"]
        assert Decimal(str(amount)) * 100 == abs(entry.amount_minor)
    assert {status for _, status, *_ in logged} == {"done"}
    assert all(str(location).startswith("xero:") for *_, location in logged)


def test_writing_twice_changes_nothing_even_without_the_log(tmp_path: Path, xero: XeroServer, token: str) -> None:
    config = xero_setup(tmp_path, base_url=xero.url)
    with open_store(config.store_path) as store:
        entries = import_bank(store, config)
        write_back(store, config, run_id="r1", new_entries=entries)
        again = write_back(store, config, run_id="r2", new_entries=entries)
        store.con.execute("DELETE FROM writeback_log")  # found again by Reference in Xero, not only by the log
        by_content = write_back(store, config, run_id="r3", new_entries=entries)
    assert again.as_dict()["written"] == 0
    assert by_content.as_dict()["written"] == 0
    assert by_content.as_dict()["already_present"] == len(entries)
    assert len(xero.writes()) == 1
    assert len(xero.references()) == len(set(xero.references())) == len(entries)


def test_dry_run_shows_the_transactions_and_writes_nothing(tmp_path: Path, xero: XeroServer, token: str) -> None:
    config = xero_setup(tmp_path, base_url=xero.url)
    with open_store(config.store_path) as store:
        entries = import_bank(store, config)
        summary = write_back(store, config, run_id="r1", new_entries=entries, dry_run=True)
        assert log_rows(store) == []
    (target,) = summary.targets
    assert target.count("change", "add") == len(entries)
    assert "+ 2024-03-30 SPEND 12.00 USD Reference FIT90 'MONTHLY SERVICE FEE' account 404" in target.preview
    assert xero.writes() == []
    assert xero.transactions == []


def test_xero_is_asked_for_new_entries_only_not_for_the_closing_balance(
    tmp_path: Path, xero: XeroServer, token: str
) -> None:
    config = xero_setup(tmp_path, base_url=xero.url)
    with open_store(config.store_path) as store:
        import_bank(store, config)
        closings = store.con.execute("SELECT count(*) FROM statement_balances WHERE kind = 'closing'").fetchone()
        summary = write_back(store, config, run_id="r1")
        logged = store.con.execute("SELECT count(*) FROM writeback_log").fetchone()
    assert closings is not None
    assert closings[0] > 0
    (target,) = summary.targets
    assert target.items == []
    assert target.error is None
    assert logged == (0,)  # nothing asked, nothing to retry each night
    assert xero.requests == []


def test_an_entry_without_an_account_code_is_skipped_and_says_how_to_map_it(
    tmp_path: Path, xero: XeroServer, token: str
) -> None:
    config = xero_setup(tmp_path, base_url=xero.url)
    with open_store(config.store_path) as store:
        entries = import_bank(store, config)
        odd = [e for e in entries if e.bank_id == "FIT90"]
        summary = write_back(store, config, run_id="r1", new_entries=[_with_category(odd[0], "Expenses:Odd Stuff")])
    (target,) = summary.targets
    (item,) = [i for i in target.items if i.action == "add"]
    assert item.status == "skipped"
    assert "no Xero account code for category 'Expenses:Odd Stuff'" in str(item.note)
    assert "[xero.account_codes]" in str(item.note)


def _with_category(entry: NewEntry, category: str) -> NewEntry:
    from dataclasses import replace

    return replace(entry, counter_account=category)


# -- retries, faults, the log -----------------------------------------------------------------------------


def test_429_is_retried_after_retry_after_with_the_same_idempotency_key(
    tmp_path: Path, xero: XeroServer, token: str
) -> None:
    config = xero_setup(tmp_path, base_url=xero.url)
    xero.fail("PUT", Fault(429, headers={"Retry-After": "1", "X-Rate-Limit-Problem": "minute"}))
    with open_store(config.store_path) as store:
        entries = import_bank(store, config)
        summary = write_back(store, config, run_id="r1", new_entries=entries)
    assert not summary.failed
    first, second = xero.writes()
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 1.0
    assert first.header("Idempotency-Key") == second.header("Idempotency-Key")
    assert len(str(first.header("Idempotency-Key"))) <= 128
    assert sorted(xero.references()) == sorted(e.bank_id for e in entries)


def test_500_after_every_retry_leaves_the_items_for_the_next_run_which_books_them_once(
    tmp_path: Path, xero: XeroServer, token: str
) -> None:
    config = xero_setup(tmp_path, base_url=xero.url)
    xero.fail("PUT", *[Fault(500)] * 3)  # max_attempts = 3
    with open_store(config.store_path) as store:
        entries = import_bank(store, config)
        failed = write_back(store, config, run_id="r1", new_entries=entries)
        after_failure = log_rows(store)
        booked_after_failure, writes_after_failure = list(xero.transactions), len(xero.writes())
        retried = write_back(store, config, run_id="r2", new_entries=entries)
        after_retry = log_rows(store)
    (target,) = failed.failed
    assert "HTTP 500 after 3 attempt(s)" in str(target.error)
    assert "the next run tries again" in str(target.error)
    assert target.error_exit_code == 1
    assert {(status, attempts) for _, status, attempts, _, _ in after_failure} == {("failed", 1)}
    assert all("HTTP 500" in str(error) for *_, error, _ in after_failure)
    assert (writes_after_failure, booked_after_failure) == (3, [])
    assert not retried.failed
    assert {(status, attempts) for _, status, attempts, _, _ in after_retry} == {("done", 2)}
    assert sorted(xero.references()) == sorted(e.bank_id for e in entries)  # each once


def test_a_write_whose_answer_times_out_is_retried_and_booked_once(
    tmp_path: Path, xero: XeroServer, token: str
) -> None:
    config = xero_setup(tmp_path, base_url=xero.url, xero="")
    xero.fail("PUT", Fault(delay=3, book_first=True))  # booked, but the answer comes after the 2 s timeout
    with open_store(config.store_path) as store:
        entries = import_bank(store, config)
        summary = write_back(store, config, run_id="r1", new_entries=entries)
    assert not summary.failed
    first, second = xero.writes()
    assert first.header("Idempotency-Key") == second.header("Idempotency-Key")
    assert sorted(xero.references()) == sorted(e.bank_id for e in entries)  # Xero replayed, no double


def test_a_lookup_that_keeps_failing_logs_the_items_failed(tmp_path: Path, xero: XeroServer, token: str) -> None:
    config = xero_setup(tmp_path, base_url=xero.url)
    xero.fail("GET", Fault(503), Fault(502), Fault(504))
    with open_store(config.store_path) as store:
        entries = import_bank(store, config)
        summary = write_back(store, config, run_id="r1", new_entries=entries)
        logged = log_rows(store)
    (target,) = summary.failed
    assert "GET /BankTransactions: HTTP 504 after 3 attempt(s)" in str(target.error)
    assert {status for _, status, *_ in logged} == {"failed"}
    assert xero.writes() == []


def test_a_daily_limit_gives_up_at_once_naming_it(tmp_path: Path, xero: XeroServer, token: str) -> None:
    config = xero_setup(tmp_path, base_url=xero.url)
    xero.fail("PUT", Fault(429, headers={"Retry-After": "3600", "X-Rate-Limit-Problem": "day"}))
    with open_store(config.store_path) as store:
        summary = write_back(store, config, run_id="r1", new_entries=import_bank(store, config))
    (target,) = summary.failed
    assert "asks to wait 3600 s" in str(target.error)
    assert "Xero's day limit" in str(target.error)
    assert len(xero.writes()) == 1


def test_xero_unreachable_is_retried_then_left_for_the_next_run(tmp_path: Path, token: str) -> None:
    config = xero_setup(tmp_path, base_url=f"http://127.0.0.1:{free_port()}")  # nobody listens there
    with open_store(config.store_path) as store:
        summary = write_back(store, config, run_id="r1", new_entries=import_bank(store, config))
        logged = log_rows(store)
    (target,) = summary.failed
    assert "cannot connect (ConnectionRefusedError, 3 attempt(s))" in str(target.error)
    assert target.error_exit_code == 1
    assert {status for _, status, *_ in logged} == {"failed"}


def test_a_refused_token_is_the_users_to_fix_and_never_shown(
    tmp_path: Path, xero: XeroServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "wrong-token-Hh71kPq0"
    no_xero_credentials(monkeypatch)
    monkeypatch.setenv(TOKEN_ENV, wrong)
    config = xero_setup(tmp_path, base_url=xero.url)
    with open_store(config.store_path) as store:
        entries = import_bank(store, config)
        summary = write_back(store, config, run_id="r1", new_entries=entries)
        stored = json.dumps(store.con.execute("SELECT * FROM writeback_log").fetchall(), default=str)
    (target,) = summary.failed
    assert target.error_exit_code == 2
    assert f"the access token in {TOKEN_ENV} is expired or not valid" in str(target.error)
    assert xero.requests[0].header("Authorization") == f"Bearer {wrong}"  # it was sent, to Xero only
    for text in (str(target.error), stored, caplog.text, repr(summary)):
        assert wrong not in text


def test_the_token_never_appears_in_errors_logs_or_the_store(
    tmp_path: Path, xero: XeroServer, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    config = xero_setup(tmp_path, base_url=xero.url)
    xero.fail("PUT", *[Fault(500)] * 3)
    with open_store(config.store_path) as store:
        entries = import_bank(store, config)
        summary = write_back(store, config, run_id="r1", new_entries=entries)
        dumped = json.dumps(
            [store.con.execute(f"SELECT * FROM {t}").fetchall() for t in ("writeback_log", "runs")], default=str
        )
    assert summary.failed
    for text in (dumped, caplog.text, repr(summary), str(summary.failed[0].error)):
        assert TOKEN not in text


# -- the command line --------------------------------------------------------------------------------------


def import_bank_by_cli(folder: Path) -> None:
    """`recon import`: the bank file is stored (the Xero export may be refused until its importer exists)."""
    recon("import", "--config", folder / "recon.toml")
    assert count(folder / "recon.duckdb", "SELECT count(*) FROM bank_transactions") == 6


@pytest.mark.slow
def test_nightly_run_books_fee_and_interest_in_xero_a_500_leaves_them_for_the_next_run_which_books_them_once(
    tmp_path: Path, xero: XeroServer, token: str
) -> None:
    xero_setup(tmp_path, base_url=xero.url, xero='\n[rules]\npaths = ["rules/*.yaml"]\n')
    write_xero_export(tmp_path, story(size=4))
    (tmp_path / "rules").mkdir()
    for name in ("bank_fees.yaml", "interest.yaml"):
        shutil.copy(RULES / name, tmp_path / "rules" / name)
    config_file, store_file = tmp_path / "recon.toml", tmp_path / "recon.duckdb"
    xero.fail("PUT", *[Fault(500)] * 3)
    failed = recon("run", "--config", config_file)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "HTTP 500 after 3 attempt(s)" in failed.stdout + failed.stderr
    assert "the next run tries again" in failed.stdout + failed.stderr
    assert count(store_file, "SELECT count(*) FROM writeback_log WHERE action = 'add' AND status = 'failed'") == 2
    assert xero.transactions == []
    retried = recon("run", "--config", config_file)
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert sorted(xero.references()) == ["FIT90", "FIT91"]
    assert count(store_file, "SELECT count(*) FROM writeback_log WHERE action = 'add' AND status = 'done'") == 2
    again = recon("run", "--config", config_file)
    assert again.returncode == 0, again.stdout + again.stderr
    assert sorted(xero.references()) == ["FIT90", "FIT91"]  # booked once
    assert len(xero.writes()) == 4  # three 500s, one write
    fee = next(t for t in xero.transactions if t["Reference"] == "FIT90")
    assert (fee["Type"], fee["LineItems"][0]["AccountCode"], fee["Contact"]["Name"]) == ("SPEND", "404", "Bank")
    for result in (failed, retried, again):
        assert TOKEN not in result.stdout + result.stderr
    for log in (tmp_path / "out").rglob("*"):
        assert not log.is_file() or TOKEN.encode() not in log.read_bytes()


@pytest.mark.slow
def test_cli_without_the_token_exits_2_naming_the_variable(
    tmp_path: Path, xero: XeroServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_xero_credentials(monkeypatch)
    xero_setup(tmp_path, base_url=xero.url, xero='\n[rules]\npaths = ["rules/*.yaml"]\n')
    (tmp_path / "rules").mkdir()
    for name in ("bank_fees.yaml", "interest.yaml"):
        shutil.copy(RULES / name, tmp_path / "rules" / name)
    recon("run", "--config", tmp_path / "recon.toml")  # categorizes the fee and the interest: entries to write
    result = recon("writeback", "--config", tmp_path / "recon.toml")
    assert result.returncode == 2, result.stderr
    assert f"environment variable {TOKEN_ENV} is not set, nor XERO_CLIENT_ID and XERO_CLIENT_SECRET" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert xero.requests == []


@pytest.mark.slow
def test_cli_with_the_token_asks_nothing_xero_keeps_itself_and_never_prints_the_token(
    tmp_path: Path, xero: XeroServer, token: str
) -> None:
    xero_setup(tmp_path, base_url=xero.url)
    import_bank_by_cli(tmp_path)
    dry = recon("writeback", "--config", tmp_path / "recon.toml", "--dry-run")
    real = recon("writeback", "--config", tmp_path / "recon.toml")
    assert real.returncode == 0, real.stderr
    assert "0 balances" in real.stdout
    assert "skipped" not in real.stdout.replace("0 skipped", "")
    for result in (dry, real):
        assert TOKEN not in result.stdout + result.stderr


@pytest.mark.slow
def test_cli_config_mistakes_are_named(tmp_path: Path) -> None:
    xero_setup(tmp_path, base_url="http://127.0.0.1:9")
    config_file = tmp_path / "recon.toml"
    text = config_file.read_text()
    config_file.write_text(text.replace('base_url = "http://127.0.0.1:9"', 'base_url = "http://xero.example.com"'))
    insecure = recon("writeback", "--config", config_file)
    assert insecure.returncode == 2
    assert "xero.base_url" in insecure.stderr
    assert "must be https://" in insecure.stderr
    config_file.write_text(text.split("[xero]")[0])
    missing = recon("writeback", "--config", config_file)
    assert missing.returncode == 2
    assert "needs a [xero] section" in missing.stderr
    assert "Traceback" not in insecure.stderr + missing.stderr


@pytest.mark.slow
def test_doctor_checks_the_token_and_that_xero_knows_the_bank_account(
    tmp_path: Path, xero: XeroServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    xero_setup(tmp_path, base_url=xero.url)
    no_xero_credentials(monkeypatch)
    missing = recon("doctor", "--config", tmp_path / "recon.toml")
    assert f"PROBLEM  ledgers[0] write-back (xero): no Xero credentials: environment variable {TOKEN_ENV}" in (
        missing.stdout
    )
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    present = recon("doctor", "--config", tmp_path / "recon.toml")
    assert "ok       ledgers[0] write-back (xero): Xero answers at" in present.stdout
    assert f"bank account Business Checking (BANK, USD); token from {TOKEN_ENV}" in present.stdout
    assert TOKEN not in present.stdout + present.stderr
    assert [r.method for r in xero.requests] == ["GET"]
    xero.bank_account |= {"Type": "EXPENSE", "Name": "Office Supplies"}
    wrong = recon("doctor", "--config", tmp_path / "recon.toml")
    assert wrong.returncode != 0
    assert "Xero account Office Supplies (EXPENSE, USD) is not a bank account" in wrong.stdout
    xero.bank_account |= {"Type": "BANK", "CurrencyCode": "EUR"}
    other_currency = recon("doctor", "--config", tmp_path / "recon.toml")
    assert "is not in USD, the currency of account" in other_currency.stdout


# -- small parts ------------------------------------------------------------------------------------------


def test_exact_json_writes_decimals_digit_for_digit_and_refuses_floats() -> None:
    assert exact_json({"a": Decimal("0.10"), "b": [Decimal("1234567890123.45"), True, None, 'é"']}) == (
        '{"a":0.10,"b":[1234567890123.45,true,null,"é\\""]}'
    )
    assert json.loads(exact_json({"x": Decimal("0.37")}), parse_float=Decimal) == {"x": Decimal("0.37")}
    with pytest.raises(TypeError):
        exact_json({"x": 0.37})


def test_retry_after_in_seconds_or_as_an_http_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Thu, 01 Jan 2026 12:00:30 GMT", now=lambda: now) == 30.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None
