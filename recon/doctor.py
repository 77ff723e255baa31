"""`recon doctor`: check everything a nightly run needs, and say in plain words what is wrong.

Checks only read: the config, the store (version, permissions), every source (files
present and readable by an importer, secrets present in the environment), the rules
and the output folder. Secrets are checked for presence, never printed.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from importers import detect
from recon.config import BankSource, Config, LedgerSource
from recon.errors import ReconError
from recon.store import open_store
from recon.store.migrations import LATEST_VERSION, current_version


@dataclass(frozen=True, slots=True)
class Check:
    """One thing checked: its subject, whether it is fine, and what to do if not."""

    subject: str
    ok: bool
    message: str


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
    except ReconError as exc:
        return [*checks, Check("store", False, str(exc))]
    current = version == LATEST_VERSION
    message = (
        f"schema version {version}, {counts[0]} bank rows, {counts[1]} ledger rows"
        if current
        else f"schema version {version}; the next run migrates it to {LATEST_VERSION}"
    )
    checks.append(Check("store", current, message))
    return checks


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
    if not config.rules.paths:
        return []
    files, unmatched = config.expand(config.rules.paths)
    checks = [Check("rules", False, f"no rule file matches '{p}'") for p in unmatched]
    if files:
        checks.append(Check("rules", True, f"{len(files)} rule file(s)"))
    return checks


def diagnose(config: Config) -> list[Check]:
    return [*_store_checks(config), *_source_checks(config), *_rules_checks(config), _output_check(config)]
