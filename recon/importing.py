"""Import service: one file in, one atomic batch in the store, or nothing at all.

For each file: the importer extracts rows, recon checks them (currency, account,
problems), assigns stable ids, and stores the rows it does not know yet, all in
one transaction together with the `import_batches` record. Rows the file replaces,
deletes or books (`recon.superseding`) change in that same transaction. A file with any
problem is refused whole: none of its rows is stored.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import duckdb
import polars as pl

from importers import BANK_IMPORTERS, LEDGER_IMPORTERS, Extract, Importer, SectionedReport, Side, detect
from importers.csv_bank import CsvBankImporter
from importers.csv_profile import builtin_profile_names, load_profile
from recon.changed_rows import (
    BANK_CONTENT,
    LEDGER_CONTENT,
    RowDifference,
    apply_ledger_changes,
    differing_rows,
    repeated_id_problems,
)
from recon.config import AccountSettings, Config
from recon.errors import Problem, UserError
from recon.gone_entries import (
    WHOLE_BOOK_FORMATS,
    emptied_book_problem,
    forget_gone_entries,
    gone_entries,
    gone_notes,
)
from recon.model import BANK_TRANSACTIONS, LEDGER_ENTRIES, STATEMENT_BALANCES, assign_row_ids
from recon.store import Store
from recon.superseding import SupersedePlan, apply_supersessions, plan_supersessions, remove_superseded

__all__ = ["FileReport", "ImportJob", "import_file", "jobs_from_config", "source_label"]


@dataclass(frozen=True, slots=True)
class ImportJob:
    """One file to import into one account, on one side."""

    path: Path
    side: Side
    account: AccountSettings
    format: str | None = None
    label: str = ""
    """How the store names the file (`source_file`): relative to the config's folder when inside it,
    so that a store and its files can move together."""
    profile: str | None = None
    """CSV bank files: a built-in profile name, or the path of a profile file."""
    file_account: str | None = None
    """The account number as the file writes it: which account to take from a file that holds several."""

    @property
    def source_name(self) -> str:
        return self.label or str(self.path)


def source_label(path: Path, base_dir: Path) -> str:
    try:
        return path.resolve().relative_to(base_dir.resolve()).as_posix()
    except ValueError:
        return str(path.resolve())


@dataclass(slots=True)
class FileReport:
    """What importing one file did."""

    path: str
    side: Side
    account_id: str
    format: str
    rows_read: int = 0
    rows_new: int = 0
    rows_known: int = 0
    rows_other_accounts: int = 0
    rows_changed: int = 0
    """Stored ledger entries whose id the file brings with new content: updated to it."""
    rows_booked: int = 0
    """Stored pending rows this file books (same id, now booked): replaced, not new."""
    rows_replaced: int = 0
    """Stored rows a correction of this file replaces (OFX CORRECTACTION REPLACE)."""
    rows_deleted: int = 0
    """Stored rows a correction of this file deletes (OFX CORRECTACTION DELETE)."""
    file_sha256: str | None = None
    balances: int = 0
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return bool(self.problems)


def jobs_from_config(config: Config) -> tuple[list[ImportJob], list[str]]:
    """The files the config names, bank side first; and warnings for patterns matching nothing."""
    jobs: list[ImportJob] = []
    warnings: list[str] = []
    for side, sources in (("bank", config.sources), ("ledger", config.ledgers)):
        for source in sources:
            if source.format == "plaid":
                continue  # feeds are pulled by recon.plaid, not read from files
            files, unmatched = config.expand(source.paths)
            warnings.extend(f"no file matches '{p}' (account '{source.account}')" for p in unmatched)
            account = config.account(source.account)
            jobs.extend(
                ImportJob(
                    f,
                    side,  # type: ignore[arg-type]
                    account,
                    source.format,
                    source_label(f, config.base_dir),
                    _profile_ref(getattr(source, "profile", None), config),
                    getattr(source, "file_account", None),
                )
                for f in files
            )
    return jobs, warnings


def _profile_ref(profile: str | None, config: Config) -> str | None:
    """A built-in profile name as is; a profile file (a path, or a name ending .toml) relative to the config."""
    if profile is None or profile in builtin_profile_names():
        return profile
    return str(config.resolve(profile))


def _importer_for(job: ImportJob) -> Importer:
    importer = _format_importer(job)
    if job.side == "ledger" and isinstance(importer, SectionedReport) and job.account.ledger_account:
        return importer.for_account(job.account.ledger_account)
    return importer


def _format_importer(job: ImportJob) -> Importer:
    registry = BANK_IMPORTERS if job.side == "bank" else LEDGER_IMPORTERS
    if job.profile is not None and job.side == "bank" and job.format in (None, "csv"):
        return CsvBankImporter(load_profile(job.profile))
    if job.format:
        importer = registry.get(job.format)
        if importer is None:
            raise UserError(
                f"{job.path}: format '{job.format}' is not supported for {job.side} files yet "
                f"(supported: {', '.join(registry)})"
            )
        return importer
    found = detect(job.path, job.side)
    if found is None:
        raise UserError(
            f"{job.path}: cannot tell the format of this {job.side} file; "
            f"name it with format = ... (supported: {', '.join(registry)})"
        )
    return found


def import_file(store: Store, job: ImportJob, *, run_id: str, dry_run: bool = False) -> FileReport:
    """Import one file as one batch; a refused file leaves the store untouched."""
    _check_readable(job.path)
    importer = _importer_for(job)
    report = FileReport(str(job.path), job.side, job.account.id, importer.format)
    report.file_sha256 = _sha256(job.path)
    extract = importer.extract(job.path, currency=job.account.currency)
    rows = _checked_rows(extract, job, report)
    report.notes.extend(extract.notes)
    report.rows_read = extract.rows.height
    if report.refused:
        return report

    table = BANK_TRANSACTIONS if job.side == "bank" else LEDGER_ENTRIES
    id_column = table.primary_key[0]
    batch_id = uuid.uuid4().hex
    staged = assign_row_ids(rows, account_id=job.account.id, id_column=id_column).with_columns(
        pl.lit(batch_id).alias("batch_id"), pl.lit(job.source_name).alias("source_file")
    )
    report.problems.extend(repeated_id_problems(staged, id_column=id_column, name=str(job.path)))
    if report.refused:
        return report
    unique = staged.unique(subset=[id_column], keep="first", maintain_order=True)
    if unique.height < staged.height:
        report.notes.append(f"{staged.height - unique.height} rows repeat an id of the same file; kept the first")
    considered = staged.height  # identical repeats count as known: read = new + known + changed (+ other accounts)
    staged = table.conform(unique)
    plan = SupersedePlan()
    changed: list[RowDifference] = []
    gone = pl.DataFrame()
    if job.side == "bank":
        plan = plan_supersessions(store, staged, extract.corrections, account_id=job.account.id)
        report.rows_booked, report.rows_replaced = plan.count("booked"), plan.count("replaced")
        report.rows_deleted = plan.count("deleted")
        report.notes.extend(plan.notes())
        staged = staged.filter(~pl.col(id_column).is_in(plan.not_again))
        report.notes.extend(_bank_differences(store, staged, plan, job))
    else:
        # only the file an entry came from changes it: two exports that disagree would flip it on every run
        changed = differing_rows(
            store, staged, table=table.name, id_column=id_column, columns=LEDGER_CONTENT, source_file=job.source_name,
            same_file=True,
        )  # fmt: skip
        report.rows_changed = len(changed)
        report.notes.extend(_ledger_change_notes(changed, dry_run=dry_run))
        report.notes.extend(_other_file_differences(store, staged, job))
        if importer.format in WHOLE_BOOK_FORMATS:
            gone = gone_entries(store, staged, account_id=job.account.id, source_file=job.source_name)
            emptied = emptied_book_problem(gone, staged, name=str(job.path))
            if emptied is not None:
                report.problems.append(emptied)
                return report
            report.rows_deleted = gone.height
            report.notes.extend(gone_notes(gone, dry_run=dry_run))

    con = store.con
    con.register("staged_rows", staged.to_arrow())
    try:
        if dry_run:
            # rows an earlier file of the same dry run would have stored count as known, as in a real run
            con.execute("CREATE TEMP TABLE IF NOT EXISTS dry_run_seen (id VARCHAR)")
            before = con.execute("SELECT count(*) FROM dry_run_seen").fetchall()[0][0]
            con.execute(
                f"INSERT INTO dry_run_seen SELECT s.{id_column} FROM staged_rows s "
                f"ANTI JOIN {table.name} t USING ({id_column}) WHERE s.{id_column} NOT IN (SELECT id FROM dry_run_seen)"
            )
            report.rows_new = con.execute("SELECT count(*) FROM dry_run_seen").fetchall()[0][0] - before
            report.rows_known = considered - report.rows_new - report.rows_changed
            report.balances = len(extract.balances)
            return report
        new_count = con.execute(
            f"SELECT count(*) FROM staged_rows s ANTI JOIN {table.name} t USING ({id_column})"
        ).fetchall()[0]
        report.rows_new = int(new_count[0]) if new_count else 0
        report.rows_known = considered - report.rows_new - report.rows_changed
        report.balances = len(extract.balances)
        with store.transaction():
            remove_superseded(store, plan)  # a booked row comes back under its id with the insert below
            con.execute(
                f"INSERT INTO {table.name} SELECT s.* FROM staged_rows s ANTI JOIN {table.name} t USING ({id_column})"
            )
            apply_supersessions(store, plan, account_id=job.account.id, batch_id=batch_id)
            report.notes.extend(apply_ledger_changes(store, changed, account_id=job.account.id, batch_id=batch_id))
            report.notes.extend(forget_gone_entries(store, gone, account_id=job.account.id, batch_id=batch_id))
            _store_balances(con, extract, job, batch_id)
            con.execute(
                "INSERT INTO import_batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    batch_id, run_id, job.side, job.account.id, importer.format, job.source_name,
                    report.file_sha256, datetime.now(UTC).replace(tzinfo=None),
                    report.rows_read, report.rows_new, report.rows_known,
                ],
            )  # fmt: skip
    finally:
        con.unregister("staged_rows")
    return report


def _ledger_change_notes(changed: list[RowDifference], *, dry_run: bool) -> list[str]:
    if not changed:
        return []
    entries = "entry" if len(changed) == 1 else "entries"
    takes = "would take" if dry_run else "takes"
    head = (f"{len(changed)} {entries} changed in the books since imported: the store {takes} the new content "
            "(engine matches on them are dropped and matched again; a person's match is kept)")  # fmt: skip
    return [head, *(f"  {c.where}: {c.what_changed}" for c in changed)]


def _other_file_differences(store: Store, staged: pl.DataFrame, job: ImportJob) -> list[str]:
    """Warnings for entries this file has otherwise than the file they were stored from (the store keeps theirs)."""
    found = differing_rows(
        store, staged, table="ledger_entries", id_column="entry_id", columns=LEDGER_CONTENT,
        source_file=job.source_name, same_file=False,
    )  # fmt: skip
    return [
        f"{d.where}: stored from {d.stored['source_file']}, which has it otherwise ({d.what_changed}): kept as "
        "that file has it (only the file an entry came from changes it)"
        for d in found
    ]


def _bank_differences(store: Store, staged: pl.DataFrame, plan: SupersedePlan, job: ImportJob) -> list[str]:
    """Warnings for stored bank rows whose id comes again with another amount or date (the store keeps its own)."""
    handled = [c.txn_id for c in plan.changes]  # booked, or replaced under the same id: not a silent change
    comparable = staged.filter(~pl.col("txn_id").is_in(handled))
    found = differing_rows(
        store, comparable, table="bank_transactions", id_column="txn_id", columns=BANK_CONTENT,
        source_file=job.source_name,
    )  # fmt: skip
    # a pending row of an older file, for a row stored booked since, may well differ
    found = [d for d in found if not (d.new["pending"] and not d.stored["pending"])]
    if not found:
        return []
    rows = "row with an id already stored differs" if len(found) == 1 else "rows with an id already stored differ"
    head = (
        f"{len(found)} {rows} from the stored row: kept the stored one "
        "(a bank corrects a transaction with a correction, e.g. OFX CORRECTACTION); check with the bank"
    )
    return [head, *(f"  {d.where}: stored {_stored_vs_file(d)}" for d in found)]


def _stored_vs_file(difference: RowDifference) -> str:
    return ", ".join(f"{field} {old}, file {new}" for field, old, new in difference.differences)


def _account_key(number: str) -> str:
    return "".join(number.split()).upper()


def _route_file_accounts(extract: Extract, job: ImportJob, report: FileReport) -> tuple[pl.DataFrame, list[Problem]]:
    """Keep the rows and balances of the source's `file_account`; refuse an ambiguous or foreign file."""
    rows, name = extract.rows, str(job.path)
    accounts = sorted(set(extract.file_accounts))
    if not job.file_account:
        if len(accounts) > 1:
            return rows, [Problem(name, None, None,
                                  f"the file holds {len(accounts)} accounts ({', '.join(accounts)}); name the one "
                                  "of this source with file_account = ... (one [[sources]] per account)")]  # fmt: skip
        return rows, []
    wanted = _account_key(job.file_account)
    if accounts and wanted not in {_account_key(a) for a in accounts}:
        return rows, [Problem(name, None, None, f"the file holds no account {job.file_account} "
                              f"(it holds {', '.join(accounts)}): check file_account of this source")]  # fmt: skip
    if "file_account" in rows.columns:
        mine = rows.filter(pl.col("file_account").str.replace_all(r"\s", "").str.to_uppercase() == wanted)
        report.rows_other_accounts = rows.height - mine.height
        rows = mine
    extract.balances = [b for b in extract.balances if not b.file_account or _account_key(b.file_account) == wanted]
    extract.corrections = [
        c for c in extract.corrections if not c.file_account or _account_key(c.file_account) == wanted
    ]
    return rows, []


def _checked_rows(extract: Extract, job: ImportJob, report: FileReport) -> pl.DataFrame:
    """The extracted rows that belong to the job's account, with problems for anything off."""
    report.problems.extend(extract.problems)
    rows, routing_problems = _route_file_accounts(extract, job, report)
    report.problems.extend(routing_problems)
    name = str(job.path)
    ledger_account = job.account.ledger_account
    if job.side == "ledger" and ledger_account and "ledger_account" in rows.columns:
        mine = rows.filter(pl.col("ledger_account").is_null() | (pl.col("ledger_account") == ledger_account))
        report.rows_other_accounts = rows.height - mine.height
        if mine.height == 0 and rows.height:
            # most likely a misspelt ledger_account: say which accounts the book does have
            seen = rows.get_column("ledger_account").drop_nulls().unique().sort().head(8).to_list()
            report.notes.append(
                f"no entry of ledger_account '{ledger_account}' in this book; its accounts include: {', '.join(seen)}"
            )
        rows = mine
    wrong_currency = rows.filter(pl.col("currency") != job.account.currency)
    for line, cur in wrong_currency.select("source_line", "currency").head(20).iter_rows():
        report.problems.append(
            Problem(
                name, line, "currency",
                f"'{cur}' differs from the currency of account '{job.account.id}' ({job.account.currency})",
            )
        )  # fmt: skip
    return rows


def _store_balances(con: duckdb.DuckDBPyConnection, extract: Extract, job: ImportJob, batch_id: str) -> None:
    if not extract.balances:
        return
    frame = pl.DataFrame(
        [
            {
                "account_id": job.account.id, "as_of": b.as_of, "kind": b.kind,
                "amount_minor": b.amount_minor, "currency": b.currency,
                "source_file": job.source_name, "batch_id": batch_id,
                "statement_seq": b.statement_seq, "statement_id": b.statement_id,
            }
            for b in extract.balances
        ],
        schema=STATEMENT_BALANCES.polars_schema,
    ).unique(subset=list(STATEMENT_BALANCES.primary_key), keep="last")  # fmt: skip
    con.register("staged_balances", frame.to_arrow())
    con.execute(
        "INSERT INTO statement_balances SELECT s.* FROM staged_balances s "
        f"ANTI JOIN statement_balances t USING ({', '.join(STATEMENT_BALANCES.primary_key)})"
    )
    con.unregister("staged_balances")


def _check_readable(path: Path) -> None:
    """Refuse, as the user's problem, a path that is no file to read: the importers may assume one."""
    if path.is_dir():
        raise UserError(f"{path}: is a directory, not a file")
    if not path.exists():
        raise UserError(f"{path}: file not found")
    with _reading(path) as fh:
        first = fh.read(1)  # not the size: /proc and pipes say 0 and hold text
    if not first:
        raise UserError(f"{path}: the file is empty")


@contextmanager
def _reading(path: Path) -> Iterator[BinaryIO]:
    try:
        with path.open("rb") as fh:
            yield fh
    except PermissionError:
        raise UserError(f"{path}: cannot read it (permission denied)") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read it ({exc.strerror or exc})") from None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with _reading(path) as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
