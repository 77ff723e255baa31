"""`recon doctor`: check everything a nightly run needs, and say in plain words what is wrong.

Checks only read: the config, the store (version, permissions), every source (files
present and readable by an importer, secrets present in the environment), the rules
and the output folder. Secrets are checked for presence, never printed; a Xero Custom
Connection's are also tried, by fetching a token (which changes nothing in the books).
"""

from __future__ import annotations

import importlib.util
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from importers import detect
from recon.categorize import load_rules
from recon.config import BankSource, Config, LedgerSource
from recon.errors import ReconError
from recon.store import open_store
from recon.store.migrations import LATEST_VERSION, current_version
from recon.store.stale_runs import interrupted_since_last_finished
from recon.writeback.service import SINKS


@dataclass(frozen=True, slots=True)
class Check:
    """One thing checked: its subject, whether it is fine, and what to do if not."""

    subject: str
    ok: bool
    message: str
    warning: bool = False  # fine for now, but worth a look: not counted as a problem


def _store_checks(config: Config) -> list[Check]:
    path = config.store_path
    if not path.exists():
        writable = os.access(path.parent if path.parent.exists() else path.parent.parent, os.W_OK)
        return [Check("store", writable, f"{path} does not exist yet; the first run creates it"
                      if writable else f"{path}: its folder is not writable")]  # fmt: skip
    checks = []
    mode = path.stat().st_mode
    private = not mode & (stat.S_IRWXG | stat.S_IRWXO)
    checks.append(Check("store", private, "readable by its owner only" if private
                        else f"{path} is readable by others: run chmod 600 {path}"))  # fmt: skip
    try:
        with open_store(path, read_only=True) as store:
            version = current_version(store.con)
            counts = store.con.execute(
                "SELECT (SELECT count(*) FROM bank_transactions), (SELECT count(*) FROM ledger_entries)"
            ).fetchall()[0]
            interrupted = interrupted_since_last_finished(store.con)
    except ReconError as exc:
        return [*checks, Check("store", False, str(exc))]
    current = version == LATEST_VERSION
    message = (
        f"schema version {version}, {counts[0]} bank rows, {counts[1]} ledger rows"
        if current
        else f"schema version {version}; the next run migrates it to {LATEST_VERSION}"
    )
    checks.append(Check("store", current, message))
    if interrupted:
        shown = ", ".join(f"'{command}' started {started:%Y-%m-%d %H:%M}" for _, command, started in interrupted[-5:])
        checks.append(Check("runs", True, f"{len(interrupted)} run(s) interrupted (killed?) since the last run that "
                            f"finished: {shown}; each left the store as its last whole step did, and the next "
                            "run picks up from there", warning=True))  # fmt: skip
    return checks


def _plaid_reachable(config: Config) -> list[Check]:
    """One read-only `/transactions/sync` page per Item: Plaid answers and the token is valid."""
    from recon.plaid.client import PlaidCredentials, PlaidFeed, RetryPolicy  # imports plaid: ~1 s
    from recon.plaid.items import plaid_items

    checks = []
    for item in plaid_items(config):
        subject = f"plaid Item {item.key}"
        token = os.environ.get(item.key, "").strip()
        if not token or not os.environ.get("PLAID_CLIENT_ID") or not os.environ.get("PLAID_SECRET"):
            continue  # said by the credential check already
        try:
            patience = RetryPolicy(attempts=2, first_delay=0.5, timeout=RetryPolicy.from_environment().timeout)
            feed = PlaidFeed(item.host, PlaidCredentials.from_environment(), retry=patience)
            feed.sync_page(token, None)
        except Exception as exc:  # the feed's errors are already readable and free of secrets
            checks.append(Check(subject, False, f"{item.host}: {exc}"))
            continue
        checks.append(Check(subject, True, f"Plaid answers at {item.host} and the access token is valid"))
    return checks


def _writeback_checks(config: Config) -> list[Check]:
    checks = []
    for i, source in enumerate(config.ledgers):
        if not source.writeback:
            continue
        subject = f"ledgers[{i}] write-back ({source.format})"
        if source.format == "xero":
            checks.append(_xero_check(subject, config, source))
            continue
        if source.format not in SINKS:
            checks.append(Check(subject, False, f"a {source.format} export cannot be written back"))
            continue
        if source.format == "gnucash" and importlib.util.find_spec("piecash") is None:
            checks.append(Check(subject, False, "GnuCash write-back needs `pip install 'recon[gnucash]'`"))
        if not config.account(source.account).ledger_account:
            checks.append(Check(subject, False, f"account '{source.account}' needs ledger_account to write back"))
        files, _ = config.expand(source.paths)
        for path in files:
            writable = os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
            checks.append(Check(subject, writable, f"{path} writable" if writable
                                else f"{path}: recon cannot write the book or its folder"))  # fmt: skip
    return checks


def _xero_check(subject: str, config: Config, source: LedgerSource) -> Check:
    """Credentials are in the environment (a Custom Connection's are tried: a token is fetched), Xero answers
    and knows the bank account (one read-only GET)."""
    from recon.writeback.xero_sink import XeroSink

    settings = config.xero
    if settings is None:  # the config's validation requires it
        return Check(subject, False, "write-back to Xero needs a [xero] section")
    quick = settings.model_copy(update={"max_attempts": 2, "first_delay_seconds": 0.5, "timeout_seconds": 10})
    sink = XeroSink(Path(), target=subject, settings=quick, account=config.account(source.account))
    try:
        found = sink.check()
    except ReconError as exc:  # the sink's messages are readable and free of secrets
        return Check(subject, False, str(exc))
    return Check(subject, True, f"Xero answers at {settings.base_url}; {found}")


def _source_checks(config: Config) -> list[Check]:
    checks = []
    entries: list[tuple[str, str, BankSource | LedgerSource]] = [
        *(("bank", f"sources[{i}]", s) for i, s in enumerate(config.sources)),
        *(("ledger", f"ledgers[{i}]", s) for i, s in enumerate(config.ledgers)),
    ]
    for side, key, source in entries:
        subject = f"{key} ({source.account}, {source.format or 'auto'})"
        if isinstance(source, BankSource) and source.format == "plaid":
            checks.extend(_plaid_checks(subject, source.access_token_env))
            continue
        files, unmatched = config.expand(source.paths)
        checks.extend(Check(subject, False, f"no file matches '{pattern}'") for pattern in unmatched)
        checks.extend(_file_check(subject, path, side, source.format) for path in files)
    return checks


def _plaid_checks(subject: str, token_env: str | None) -> list[Check]:
    names = ["PLAID_CLIENT_ID", "PLAID_SECRET", *([token_env] if token_env else [])]
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        return [Check(subject, False, f"environment variable(s) not set: {', '.join(missing)}")]
    return [Check(subject, True, f"credentials present in {', '.join(names)}")]


def _file_check(subject: str, path: Path, side: str, fmt: str | None) -> Check:
    if not os.access(path, os.R_OK):
        return Check(subject, False, f"{path} is not readable")
    if fmt is None and detect(path, side) is None:  # type: ignore[arg-type]
        return Check(subject, False, f"{path}: cannot tell its format; set format = ... for this source")
    return Check(subject, True, f"{path} readable")


def _output_check(config: Config) -> Check:
    out = config.output_dir
    target = out if out.exists() else out.parent
    ok = target.exists() and os.access(target, os.W_OK)
    return Check("output", ok, f"{out} writable" if ok else f"{out} cannot be written")


def _rules_checks(config: Config) -> list[Check]:
    """The rules load as `recon run` loads them: every file found, every rule valid."""
    if not config.rules.paths:
        return []
    try:
        ruleset, _ = load_rules(config)
    except ReconError as exc:
        return [Check("rules", False, str(exc))]
    files = len(ruleset.files)
    return [Check("rules", True, f"{len(ruleset.rules)} valid rules in {files} file{'s' if files != 1 else ''}")]


def diagnose(config: Config) -> list[Check]:
    checks = [*_store_checks(config), *_source_checks(config), *_writeback_checks(config)]
    if any(s.format == "plaid" for s in config.sources):
        checks.extend(_plaid_reachable(config))
    return [*checks, *_rules_checks(config), _output_check(config)]
