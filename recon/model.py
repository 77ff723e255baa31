"""The one normalized schema: bank rows and ledger rows, defined once.

Each table is a tuple of `Column`s. The Polars schema (what importers return and
the matcher reads) and the DuckDB DDL (what the store creates) are both derived
from these tuples, so they cannot drift apart.

Money is `amount_minor` (signed integer minor units) plus `currency`; the sign is
from the bank account's point of view (money into the account is positive), on
both sides. Every row carries its provenance: `source_file`, `source_line`, the
import `batch_id` and the `raw` record as the source wrote it.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

__all__ = [
    "BANK_EXTRACT",
    "BANK_TRANSACTIONS",
    "LEDGER_ENTRIES",
    "LEDGER_EXTRACT",
    "STATEMENT_BALANCES",
    "Column",
    "Table",
    "assign_row_ids",
    "normalize_description",
]


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a normalized table.

    Attributes:
      name: column name, the same in Polars and DuckDB.
      dtype: the Polars type.
      nullable: whether a row may leave it empty.
      doc: what the column holds, for the README's table reference.
      default: SQL literal the store fills in when an insert leaves the column out.
    """

    name: str
    dtype: pl.DataType
    nullable: bool
    doc: str
    default: str | None = None

    @property
    def sql_type(self) -> str:
        return _SQL_TYPES[type(self.dtype)]


_SQL_TYPES: dict[type, str] = {
    pl.String: "VARCHAR",
    pl.Int64: "BIGINT",
    pl.Int32: "INTEGER",
    pl.Date: "DATE",
    pl.Boolean: "BOOLEAN",
    pl.Datetime: "TIMESTAMP",
}


@dataclass(frozen=True, slots=True)
class Table:
    """A named tuple of columns with a primary key."""

    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    doc: str = ""

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def polars_schema(self) -> pl.Schema:
        return pl.Schema({c.name: c.dtype for c in self.columns})

    def ddl(self) -> str:
        cols = [
            f"    {c.name} {c.sql_type}{'' if c.nullable else ' NOT NULL'}"
            + (f" DEFAULT {c.default}" if c.default is not None else "")
            for c in self.columns
        ]
        if self.primary_key:
            cols.append(f"    PRIMARY KEY ({', '.join(self.primary_key)})")
        return f"CREATE TABLE IF NOT EXISTS {self.name} (\n" + ",\n".join(cols) + "\n)"

    def subset(self, name: str, drop: set[str]) -> Table:
        return Table(name, tuple(c for c in self.columns if c.name not in drop), (), self.doc)

    def empty_frame(self) -> pl.DataFrame:
        return pl.DataFrame(schema=self.polars_schema)

    def conform(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Select and cast `frame` to exactly this table's columns, adding missing nullable ones."""
        exprs = []
        for c in self.columns:
            if c.name in frame.columns:
                exprs.append(pl.col(c.name).cast(c.dtype))
            elif c.nullable:
                exprs.append(pl.lit(None, dtype=c.dtype).alias(c.name))
            else:
                raise KeyError(f"frame lacks required column '{c.name}' of {self.name}")
        return frame.select(exprs)


_S, _I, _D, _B = pl.String(), pl.Int64(), pl.Date(), pl.Boolean()

_PROVENANCE = (
    Column("source_file", _S, False, "file (or feed) the row came from"),
    Column("source_line", _I, True, "1-based line of the row in that file (first line of a multi-line record)"),
    Column("source_element", _S, True, "element path inside XML/JSON sources, e.g. Stmt[1]/Ntry[3]"),
    Column("batch_id", _S, False, "import batch that stored the row (import_batches.batch_id)"),
    Column("raw", _S, True, "the source record as read, for audit"),
)

BANK_TRANSACTIONS = Table(
    "bank_transactions",
    (
        Column("txn_id", _S, False, "stable id: from the source's own id, else a content hash (see README)"),
        Column("account_id", _S, False, "recon account id ([[accounts]] id in the config)"),
        Column("external_id", _S, True, "the source's own id: OFX FITID, Plaid transaction_id, bank reference"),
        Column("posted_date", _D, False, "date the bank booked the row"),
        Column("value_date", _D, True, "value date, where the format gives one apart from the posted date"),
        Column("amount_minor", _I, False, "signed amount in minor units; money into the account is positive"),
        Column("currency", _S, False, "ISO 4217 code"),
        Column("description", _S, False, "bank description (OFX NAME + MEMO, CSV description...)"),
        Column("payee", _S, True, "payee or counterparty name where the source gives it apart"),
        Column("reference", _S, True, "bank or end-to-end reference"),
        Column("check_number", _S, True, "check number"),
        Column("transaction_type", _S, True, "source's type code (OFX TRNTYPE, BAI2 type code...)"),
        Column("pending", _B, False, "true while the bank has not booked it (Plaid pending, CAMT PDNG)"),
        *_PROVENANCE,
    ),
    ("txn_id",),
    "normalized bank rows, one per bank transaction",
)

LEDGER_ENTRIES = Table(
    "ledger_entries",
    (
        Column("entry_id", _S, False, "stable id: from the ledger's own id, else a content hash"),
        Column("account_id", _S, False, "recon account id the entry belongs to"),
        Column("external_id", _S, True, "the ledger's own id for the entry (GL line id, Xero id...)"),
        Column("posted_date", _D, False, "entry date in the books"),
        Column("amount_minor", _I, False, "signed amount in minor units, from the bank account's point of view"),
        Column("currency", _S, False, "ISO 4217 code"),
        Column("description", _S, False, "entry description / narration"),
        Column("counterparty", _S, True, "customer, vendor or payee"),
        Column("reference", _S, True, "invoice, bill, check or other reference"),
        Column("ledger_account", _S, True, "GL account the line was posted to (the bank's GL account)"),
        *_PROVENANCE,
    ),
    ("entry_id",),
    "normalized ledger (book) rows of the bank's GL accounts",
)

STATEMENT_BALANCES = Table(
    "statement_balances",
    (
        Column("account_id", _S, False, "recon account id"),
        Column("as_of", _D, False, "date the balance is for"),
        Column("kind", _S, False, "opening, closing or available"),
        Column("amount_minor", _I, False, "balance in minor units"),
        Column("currency", _S, False, "ISO 4217 code"),
        Column("source_file", _S, False, "file (or feed) that reported it"),
        Column("batch_id", _S, False, "import batch that stored it"),
        Column(
            "statement_seq",
            pl.Int32(),
            False,
            "1-based position of the statement among its file's statements of the account (the day's last "
            "statement is the highest); 1 for a feed",
            default="1",
        ),
        Column("statement_id", _S, True, "the bank's id of the statement: CAMT Stmt/Id, MT940 :28C:"),
    ),
    ("account_id", "as_of", "kind", "source_file", "statement_seq"),
    "balances the bank reported (OFX LEDGERBAL, CAMT OPBD/CLBD, ...)",
)

_FILLED_BY_IMPORT = {"txn_id", "entry_id", "account_id", "batch_id"}
BANK_EXTRACT = BANK_TRANSACTIONS.subset("bank_extract", _FILLED_BY_IMPORT)
"""What a bank importer returns: the bank row without the ids recon assigns on import."""
LEDGER_EXTRACT = LEDGER_ENTRIES.subset("ledger_extract", _FILLED_BY_IMPORT)
"""What a ledger importer returns: the ledger row without the ids recon assigns on import."""


def normalize_description(expr: pl.Expr) -> pl.Expr:
    """Case- and whitespace-insensitive form of a description, for identity hashing."""
    return expr.fill_null("").str.to_lowercase().str.replace_all(r"\s+", " ").str.strip_chars()


_ID_SQL = """
SELECT substr(sha256(CASE WHEN coalesce(external_id, '') <> ''
                          THEN concat_ws(chr(31), $account, 'ext', external_id)
                          ELSE concat_ws(chr(31), $account, 'row', d, a, c, n, k) END), 1, 24) AS row_id
FROM id_parts ORDER BY i
"""


def assign_row_ids(frame: pl.DataFrame, *, account_id: str, id_column: str) -> pl.DataFrame:
    """Add the stable row id `id_column` to an extracted frame of one account and one file.

    Rows with an `external_id` get `sha256(account, "ext", external_id)`: the same FITID
    seen again, in any file, is the same row. Rows without one get
    `sha256(account, "row", date, amount, currency, normalized description, k)` where k counts
    the earlier identical rows of the same file: two identical coffees on one day stay two
    rows, and the same file (or an overlapping export) imported again adds nothing.
    (SHA-256 is computed by DuckDB over the whole column: stable across versions, unlike
    Polars' hash, and without a Python loop per row.)
    """
    keys = ["posted_date", "amount_minor", "currency", "_norm"]
    # int_range over a window numbers the rows of each group in file order
    with_k = frame.with_columns(normalize_description(pl.col("description")).alias("_norm")).with_columns(
        pl.int_range(pl.len()).over(keys).alias("_k")
    )
    parts = with_k.select(
        pl.int_range(pl.len()).alias("i"),
        pl.col("external_id"),
        pl.col("posted_date").cast(pl.String).alias("d"),
        pl.col("amount_minor").cast(pl.String).alias("a"),
        pl.col("currency").alias("c"),
        pl.col("_norm").alias("n"),
        pl.col("_k").cast(pl.String).alias("k"),
    )
    with duckdb.connect() as con:
        con.register("id_parts", parts.to_arrow())
        ids = con.sql(_ID_SQL, params={"account": account_id}).to_arrow_table().column("row_id")
    return with_k.drop("_norm", "_k").with_columns(
        pl.Series(id_column, ids, dtype=pl.String), pl.lit(account_id).alias("account_id")
    )
