"""Xero write-back with a Custom Connection: recon fetches its own access tokens (client credentials grant) from
the scripted local Xero's token endpoint (`tests/xero_server.py`), keeps one for the run, fetches again when it is
about to expire or Xero refuses it, and never shows the client secret. A token in token_env still wins."""

from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from recon.config import Config
from recon.http_retry import RetryPolicy
from recon.store import open_store
from recon.writeback import NewEntry, WritebackSummary, write_back
from recon.writeback.xero_auth import XeroCredentials, XeroRefusedError, XeroUnavailableError
from recon.writeback.xero_sink import XeroSink
from tests.helpers import count, recon
from tests.redirect_servers import LEAKY_QUERY, redirect_to_a_recorder
from tests.xero_fixtures import CLIENT_ID_ENV, CLIENT_SECRET_ENV, TOKEN_ENV, import_bank, xero_setup
from tests.xero_server import CLIENT_ID, CLIENT_SECRET, TOKEN, TOKEN_PATH, Fault, XeroServer

RULES = Path(__file__).resolve().parent.parent / "rules"
WRONG_SECRET = "wrong-secret-Jd83kQpZ0vXm"


def basic_auth(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def sink_of(config: Config, **options: Any) -> XeroSink:
    """The sink of the config's Xero bank account, as `recon doctor` builds it."""
    assert config.xero is not None
    return XeroSink(Path(), target="xero", settings=config.xero, account=config.accounts[0], **options)


def write_every_bank_row(folder: Path, xero: XeroServer) -> tuple[list[NewEntry], WritebackSummary]:
    """A Xero setup in `folder` writing to `xero`: its bank imported, every row written back in one run."""
    config = xero_setup(folder, base_url=xero.url)
    with open_store(config.store_path) as store:
        entries = import_bank(store, config)
        return entries, write_back(store, config, run_id="r1", new_entries=entries)


def bearers(xero: XeroServer) -> list[str | None]:
    """The Authorization header of every API request (not the token endpoint's), in order."""
    return [r.header("Authorization") for r in xero.api_requests()]


def test_client_credentials_alone_book_the_entries_with_one_fetched_token(
    tmp_path: Path, xero: XeroServer, client_credentials: tuple[str, str]
) -> None:
    entries, summary = write_every_bank_row(tmp_path, xero)
    assert not summary.failed
    assert sorted(xero.references()) == sorted(e.bank_id for e in entries)
    (grant,) = xero.token_requests()  # one token for the whole run
    assert grant.method == "POST"
    assert grant.header("Authorization") == basic_auth(CLIENT_ID, CLIENT_SECRET)
    assert parse_qs(grant.body.decode()) == {"grant_type": ["client_credentials"]}
    (issued,) = xero.issued
    assert [r.method for r in xero.api_requests()] == ["GET", "PUT"]
    assert bearers(xero) == [f"Bearer {issued}"] * 2


def test_a_token_about_to_expire_is_fetched_again_before_the_next_request(
    tmp_path: Path, xero: XeroServer, client_credentials: tuple[str, str]
) -> None:
    xero.token_lifetime = 45  # less than the minute recon keeps in hand: no token of these is sent twice
    _, summary = write_every_bank_row(tmp_path, xero)
    assert not summary.failed
    sent = bearers(xero)
    assert len(sent) == 2
    assert len(set(sent)) == len(sent)
    assert sent == [f"Bearer {token}" for token in xero.issued[-2:]]
    assert xero.requests[-2].path == "/connect/token"  # fetched right before the PUT


def test_a_fetched_token_is_kept_until_a_minute_before_it_expires(
    tmp_path: Path, xero: XeroServer, client_credentials: tuple[str, str]
) -> None:
    config = xero_setup(tmp_path, base_url=xero.url)
    assert config.xero is not None
    now = [1000.0]
    credentials = XeroCredentials(config.xero, environ=os.environ, policy=RetryPolicy(attempts=1), clock=lambda: now[0])
    first = credentials.token()
    now[0] += 1800 - 61
    assert credentials.token() == first
    now[0] += 1
    second = credentials.token()
    assert second != first
    assert xero.issued == [first, second]


def test_a_401_mid_run_with_a_fetched_token_fetches_one_more_and_retries_that_request_once(
    tmp_path: Path, xero: XeroServer, client_credentials: tuple[str, str]
) -> None:
    xero.fail("PUT", Fault(expire_tokens=True))  # the run's token expires between the lookup and the write
    entries, summary = write_every_bank_row(tmp_path, xero)
    assert not summary.failed
    first, second = xero.writes()
    assert (first.status, second.status) == (401, 200)
    assert first.header("Idempotency-Key") == second.header("Idempotency-Key")
    old, new = xero.issued
    assert (first.header("Authorization"), second.header("Authorization")) == (f"Bearer {old}", f"Bearer {new}")
    assert sorted(xero.references()) == sorted(e.bank_id for e in entries)  # booked once


def test_a_new_token_refused_again_is_not_retried_a_second_time(
    tmp_path: Path, xero: XeroServer, client_credentials: tuple[str, str]
) -> None:
    xero.fail("PUT", Fault(expire_tokens=True), Fault(expire_tokens=True))
    _, summary = write_every_bank_row(tmp_path, xero)
    (target,) = summary.failed
    assert target.error_exit_code == 2
    assert "Xero refused PUT /BankTransactions: HTTP 401" in str(target.error)
    assert f"client credentials in {CLIENT_ID_ENV}" in str(target.error)
    assert [w.status for w in xero.writes()] == [401, 401]
    assert len(xero.issued) == 2
    assert xero.transactions == []
    for secret in (CLIENT_SECRET, *xero.issued):
        assert secret not in str(target.error)


def test_a_refusal_that_echoes_the_token_is_shown_without_it(
    tmp_path: Path, xero: XeroServer, client_credentials: tuple[str, str]
) -> None:
    xero.fail("PUT", Fault(400))  # the scripted refusal repeats the Authorization header it got
    _, summary = write_every_bank_row(tmp_path, xero)
    (target,) = summary.failed
    (issued,) = xero.issued
    assert "HTTP 400" in str(target.error)
    assert "scripted fault for Bearer ***" in str(target.error)
    assert issued not in str(target.error)


def test_a_token_in_token_env_wins_and_its_401_stays_an_error(
    tmp_path: Path, xero: XeroServer, client_credentials: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = xero_setup(tmp_path, base_url=xero.url)
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    with open_store(config.store_path) as store:
        entries = import_bank(store, config)
        summary = write_back(store, config, run_id="r1", new_entries=entries)
        assert not summary.failed
        assert xero.token_requests() == []
        assert set(bearers(xero)) == {f"Bearer {TOKEN}"}
        monkeypatch.setenv(TOKEN_ENV, "stale-token-Wq81")
        xero.requests.clear()
        store.con.execute("DELETE FROM writeback_log")
        refused = write_back(store, config, run_id="r2", new_entries=entries)
    (target,) = refused.failed
    assert target.error_exit_code == 2
    assert f"the access token in {TOKEN_ENV} is expired or not valid" in str(target.error)
    assert xero.token_requests() == []
    assert [r.status for r in xero.api_requests()] == [401]  # not retried: only its owner can renew it


def test_only_half_the_client_credentials_names_what_is_missing_and_asks_nothing(
    tmp_path: Path, xero: XeroServer
) -> None:
    config = xero_setup(tmp_path, base_url=xero.url)
    with pytest.raises(XeroRefusedError) as refused:
        sink_of(config, environ={CLIENT_ID_ENV: CLIENT_ID}).check()
    assert f"environment variable {TOKEN_ENV} is not set, nor {CLIENT_SECRET_ENV}." in str(refused.value)
    assert "Custom Connection" in str(refused.value)
    assert xero.requests == []


def test_a_token_endpoint_5xx_is_retried_with_backoff_then_xero_is_unavailable(
    tmp_path: Path, xero: XeroServer, client_credentials: tuple[str, str]
) -> None:
    config = xero_setup(tmp_path, base_url=xero.url)  # max_attempts = 3, first_delay_seconds = 0.05
    waits: list[float] = []
    xero.fail("POST", Fault(503), Fault(502))
    assert sink_of(config, sleep=waits.append).check().endswith(f"client credentials ({CLIENT_ID_ENV})")
    assert [r.status for r in xero.token_requests()] == [503, 502, 200]
    assert len(waits) == 2
    assert 0.025 <= waits[0] <= 0.05 <= waits[1] <= 0.1  # doubling, with 50-100 % jitter
    xero.requests.clear()
    xero.fail("POST", *[Fault(503)] * 3)
    with pytest.raises(XeroUnavailableError) as unavailable:
        sink_of(config, sleep=waits.append).check()
    assert "token endpoint" in str(unavailable.value)
    assert "HTTP 503 after 3 attempt(s)" in str(unavailable.value)
    assert unavailable.value.exit_code == 1
    assert CLIENT_SECRET not in str(unavailable.value)
    assert xero.api_requests() == []


# -- the command line --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_cli_with_a_wrong_client_secret_exits_2_naming_the_client_id_never_the_secret(
    tmp_path: Path, xero: XeroServer, client_credentials: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CLIENT_SECRET_ENV, WRONG_SECRET)
    xero_setup(tmp_path, base_url=xero.url, xero='\n[rules]\npaths = ["rules/*.yaml"]\n')
    (tmp_path / "rules").mkdir()
    for name in ("bank_fees.yaml", "interest.yaml"):
        shutil.copy(RULES / name, tmp_path / "rules" / name)
    run = recon("run", "--config", tmp_path / "recon.toml")  # categorizes the fee and the interest, then writes
    result = recon("writeback", "--config", tmp_path / "recon.toml")
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"refused the client credentials in {CLIENT_ID_ENV}" in result.stderr
    assert "HTTP 400 invalid_client" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert {r.status for r in xero.token_requests()} == {400}
    assert xero.api_requests() == []
    assert count(tmp_path / "recon.duckdb", "SELECT count(*) FROM writeback_log WHERE status = 'failed'") == 2
    hidden = (WRONG_SECRET, basic_auth(CLIENT_ID, WRONG_SECRET)[6:])  # the secret, and as HTTP Basic sends it
    for text in (run.stdout + run.stderr, result.stdout + result.stderr):
        assert not any(secret in text for secret in hidden)
    for path in [*(tmp_path / "out").rglob("*"), tmp_path / "recon.duckdb"]:
        assert not path.is_file() or not any(secret.encode() in path.read_bytes() for secret in hidden)


@pytest.mark.slow
def test_doctor_says_which_way_the_token_comes_and_tries_the_client_credentials(
    tmp_path: Path, xero: XeroServer, client_credentials: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    xero_setup(tmp_path, base_url=xero.url)
    good = recon("doctor", "--config", tmp_path / "recon.toml")
    assert (
        f"ok       ledgers[0] write-back (xero): Xero answers at {xero.url}; "
        f"bank account Business Checking (BANK, USD); client credentials ({CLIENT_ID_ENV})"
    ) in good.stdout
    assert len(xero.token_requests()) == 1
    monkeypatch.setenv(CLIENT_SECRET_ENV, WRONG_SECRET)
    wrong = recon("doctor", "--config", tmp_path / "recon.toml")
    assert f"PROBLEM  ledgers[0] write-back (xero): Xero's token endpoint {xero.token_url} refused" in wrong.stdout
    assert f"{CLIENT_ID_ENV} and {CLIENT_SECRET_ENV}: HTTP 400 invalid_client" in wrong.stdout
    hidden = (CLIENT_SECRET, WRONG_SECRET, *(basic_auth(CLIENT_ID, s)[6:] for s in (CLIENT_SECRET, WRONG_SECRET)))
    for result in (good, wrong):
        assert not any(secret in result.stdout + result.stderr for secret in hidden)


def test_a_token_endpoint_that_redirects_is_refused_and_the_secret_goes_nowhere(
    tmp_path: Path, client_credentials: tuple[str, str]
) -> None:
    with redirect_to_a_recorder() as redirect:
        config = xero_setup(tmp_path, base_url=redirect.url)
        with pytest.raises(XeroRefusedError) as refused:
            sink_of(config).check()
    assert redirect.received == []
    assert str(refused.value) == (
        f"Xero's token endpoint {redirect.url}{TOKEN_PATH} answered HTTP 307, a redirect to http://localhost, "
        "not followed (the credentials go with every request): check [xero] token_url"
    )


def test_an_api_that_redirects_is_refused_naming_the_status_and_host_and_the_token_goes_nowhere(
    tmp_path: Path, token: str
) -> None:
    with redirect_to_a_recorder(status=302) as redirect:
        config = xero_setup(tmp_path, base_url=redirect.url)
        with pytest.raises(XeroRefusedError) as refused:
            sink_of(config).check()
    assert redirect.received == []
    message = str(refused.value)
    assert "HTTP 302" in message
    assert "a redirect to http://localhost, not followed" in message
    assert message.endswith("check [xero] base_url")
    assert LEAKY_QUERY not in message
    assert token not in message
