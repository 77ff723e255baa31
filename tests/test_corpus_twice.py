"""The whole real-file corpus imported twice: the second time adds nothing, and nothing is lost."""

from pathlib import Path

import polars as pl

from importers import detect
from recon.config import AccountSettings
from recon.importing import ImportJob, import_file
from recon.store import open_store

STATEMENT_FOLDERS = ("ofx", "csv", "camt053", "mt940", "bai2")


def _jobs(corpus: Path) -> list[ImportJob]:
    """One job per (file, account in the file) that recon reads without a problem."""
    jobs = []
    for folder in STATEMENT_FOLDERS:
        for path in sorted((corpus / folder).iterdir()):
            importer = detect(path, "bank")
            if importer is None:
                continue
            extract = importer.extract(path, currency="USD")
            if extract.problems or extract.rows.is_empty():
                continue  # refused files have their own tests
            rows = extract.rows
            accounts = rows["file_account"].unique().to_list() if "file_account" in rows.columns else [None]
            several = len(set(extract.file_accounts)) > 1
            for file_account in accounts:
                mine = rows if file_account is None else rows.filter(pl.col("file_account") == file_account)
                for currency in mine["currency"].unique().to_list():
                    account = AccountSettings(id=f"{path.name}:{file_account}:{currency}"[:60], currency=currency)
                    jobs.append(ImportJob(path, "bank", account, importer.format, path.name,
                                          file_account=file_account if several else None))  # fmt: skip
    return jobs


def test_importing_the_whole_corpus_twice_adds_nothing_the_second_time(corpus: Path, tmp_path: Path) -> None:
    jobs = _jobs(corpus)
    assert len(jobs) >= 30
    with open_store(tmp_path / "s.duckdb") as store:
        first = [import_file(store, job, run_id="first") for job in jobs]
        stored = store.con.execute("SELECT count(*) FROM bank_transactions").fetchall()[0][0]
        second = [import_file(store, job, run_id="second") for job in jobs]
        again = store.con.execute("SELECT count(*) FROM bank_transactions").fetchall()[0][0]
    assert [str(r.problems[0]) for r in first if r.refused] == []
    assert sum(r.rows_new for r in second) == 0
    assert again == stored
    assert stored == sum(r.rows_new for r in first) > 0
