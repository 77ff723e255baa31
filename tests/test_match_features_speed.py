"""The fast row features equal their plain definition (one list operation per row) on random rows.

`bank_features` and `ledger_features` normalize text once per distinct value, lowercase
field by field, and build token lists in long form; the definitions below do none of
that. Rows are drawn from a small pool of fields so that values repeat, with digits,
card masks, check numbers, dates, ids, nulls and a few non-ASCII letters.

Twin classes are hashes of different but equivalent keys (the tokens as a list, or joined
with spaces: no token has a space), so they are compared as partitions of the rows.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.match import features
from recon.match.text import _BOILERPLATE, _CARD_NUMBERS, _DATES, normalized_text


def plain_normalized_text(expr: pl.Expr) -> pl.Expr:
    return (
        expr.fill_null("")
        .str.to_lowercase()
        .str.replace_all(_DATES, " ")
        .str.replace_all(_CARD_NUMBERS, " ")
        .str.replace_all(r"[^a-z0-9]+", " ")
        .str.replace_all(_BOILERPLATE, " ")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )


def plain_text_tokens(text: pl.Expr) -> pl.Expr:
    found = text.fill_null("").str.to_lowercase().str.extract_all(features.TOKEN_PATTERN)
    return found.list.eval(
        pl.when(pl.element().str.contains(r"^\d"))
        .then(pl.lit("n") + pl.element().str.strip_chars_start("0"))
        .otherwise(pl.element().str.replace_all(r"[-#]", ""))
    ).list.filter(~pl.element().str.contains(r"^x+\d"))


def plain_check_token(digits: pl.Expr) -> pl.Expr:
    return pl.lit("chk") + digits.str.strip_chars_start("0")


def plain_whole_reference(reference: pl.Expr) -> pl.Expr:
    compact = reference.fill_null("").str.to_lowercase().str.replace_all(r"[^a-z0-9]", "")
    return pl.when((compact.str.len_chars() >= 6) & compact.str.contains(r"\d")).then(pl.lit("r") + compact)


def plain_token_list(found_in_text: pl.Expr, from_fields: pl.Expr) -> pl.Expr:
    return pl.concat_list(found_in_text, from_fields).list.eval(
        pl.element().filter(pl.element().str.len_chars() > 3).unique().sort().head(features.TOKENS_PER_ROW)
    )


def plain_twin_class(*text_columns: str) -> pl.Expr:
    key = pl.struct(
        "account_id", "currency", "amount_minor", "posted_date", *text_columns, pl.col("tokens").list.join(" ")
    )
    return key.hash(seed=0).alias("twin_class")


def check_in_description() -> pl.Expr:
    return plain_check_token(pl.col("description").str.to_lowercase().str.extract(features.CHECK_IN_TEXT, 1))


def plain_bank_features(bank: pl.DataFrame) -> pl.DataFrame:
    text = pl.concat_str(
        [pl.col("description"), pl.col("payee"), pl.col("reference")], separator=" ", ignore_nulls=True
    )
    check_number = pl.col("check_number").str.strip_chars().str.extract(r"^0*(\d{1,9})$", 1)
    tokens = plain_token_list(
        plain_text_tokens(text),
        pl.concat_list(
            plain_check_token(check_number), check_in_description(), plain_whole_reference(pl.col("reference"))
        ),
    )
    description_and_payee = pl.concat_str([pl.col("description"), pl.col("payee")], separator=" ", ignore_nulls=True)
    frame = (
        bank.sort("txn_id")
        .with_row_index("b_idx")
        .with_columns(
            plain_normalized_text(description_and_payee).alias("norm_description"),
            tokens.alias("tokens"),
        )
    )
    return frame.with_columns(plain_twin_class("norm_description"))


def plain_ledger_features(ledger: pl.DataFrame) -> pl.DataFrame:
    reference_digits = pl.col("reference").str.strip_chars().str.extract(r"^(?:#|no\.?\s*)?0*(\d{1,7})$", 1)
    text = pl.concat_str([pl.col("description"), pl.col("reference")], separator=" ", ignore_nulls=True)
    tokens = plain_token_list(
        plain_text_tokens(text),
        pl.concat_list(
            plain_check_token(reference_digits), check_in_description(), plain_whole_reference(pl.col("reference"))
        ),
    )
    frame = ledger.sort("entry_id").with_row_index("l_idx")
    frame = frame.with_columns(
        plain_normalized_text(pl.col("description")).alias("norm_description"),
        plain_normalized_text(pl.col("counterparty")).alias("norm_counterparty"),
        tokens.alias("tokens"),
    )
    return frame.with_columns(plain_twin_class("norm_description", "norm_counterparty"))


WORDS = [
    "POS", "DEBIT", "ACH", "CREDIT", "ORIG CO NAME:ACME INC", "Payment received -", "Membership dues",
    "INV-10023", "inv#00123", "PO-778", "ab12", "XXXX4195", "xx0012", "*1234", "#5531", "04/24", "8/9",
    "1/2/2024", "2025-01-02", "12-31-24", "CHECK 1045", "chk no. 0007", "Cheque #000", "check 0",
    "123456789", "00000000", "00000012", "0012345678901", "MBR 10001695", "PPD ID 2094115760",
    "Σ", "ΑΣ", "ΟΔΥΣΣΕΥΣ", "café", "İstanbul", "K", "Straße", "x", "-", "  ", ".", "no.", "ref",
]  # fmt: skip
REFERENCES = ["INV-10023", "10011410", "#0045", "no. 12", "no 007", "0000000", "E2E-ID/99.1", "abc", "12345", "Σ12345"]

words = st.sampled_from(WORDS)
word_lists = st.lists(st.one_of(words, words, words, st.text(alphabet="aZ09 -#/*xX.Σ", max_size=8)), max_size=5)
texts = st.none() | word_lists.map(" ".join)
references = st.none() | st.sampled_from(REFERENCES) | texts
check_numbers = st.none() | st.sampled_from(["1045", " 0001045 ", "0", "000", "1234567890", "12a", ""])


@st.composite
def pooled_rows(draw: st.DrawFn, fields: dict[str, st.SearchStrategy[str | None]]) -> dict[str, list[object]]:
    """Columns of up to 25 rows whose text fields come from a pool of 4 tuples, so values repeat."""
    pool = draw(st.lists(st.fixed_dictionaries(fields), min_size=1, max_size=4))
    picks = draw(st.lists(st.integers(0, len(pool) - 1), max_size=25))
    columns: dict[str, list[object]] = {name: [pool[i][name] for i in picks] for name in fields}
    count = len(picks)
    columns["account_id"] = [draw(st.sampled_from(["checking", "cards"])) for _ in range(count)]
    columns["currency"] = ["USD"] * count
    columns["amount_minor"] = [draw(st.integers(-3, 3)) for _ in range(count)]
    columns["posted_date"] = [dt.date(2025, 1, draw(st.integers(1, 2))) for _ in range(count)]
    columns["ids"] = [f"X{n:03d}" for n in draw(st.permutations(range(count)))]
    return columns


def assert_same_features(fast: pl.DataFrame, plain: pl.DataFrame) -> None:
    assert fast.drop("twin_class").equals(plain.drop("twin_class"))
    assert fast.schema == plain.schema
    classes = pl.DataFrame({"fast": fast["twin_class"], "plain": plain["twin_class"]}).unique()
    # one class for one class: the pairs of classes are as many as the classes on either side
    assert classes.height == classes["fast"].n_unique() == classes["plain"].n_unique()


def _frame(columns: dict[str, list[object]], id_column: str) -> pl.DataFrame:
    columns = {(id_column if name == "ids" else name): values for name, values in columns.items()}
    dtypes = {"amount_minor": pl.Int64, "posted_date": pl.Date}
    schema = {name: dtypes.get(name, pl.String) for name in columns}
    return pl.DataFrame(columns, schema=schema)


@settings(max_examples=150, deadline=None)
@given(pooled_rows({"description": texts, "payee": texts, "reference": references, "check_number": check_numbers}))
def test_bank_features_equal_their_plain_definition(columns: dict[str, list[object]]) -> None:
    bank = _frame(columns, "txn_id")
    assert_same_features(features.bank_features(bank), plain_bank_features(bank))


@settings(max_examples=150, deadline=None)
@given(pooled_rows({"description": texts, "counterparty": texts, "reference": references}))
def test_ledger_features_equal_their_plain_definition(columns: dict[str, list[object]]) -> None:
    ledger = _frame(columns, "entry_id")
    assert_same_features(features.ledger_features(ledger), plain_ledger_features(ledger))


@settings(max_examples=200, deadline=None)
@given(st.lists(texts, max_size=10))
def test_normalized_text_in_two_halves_is_the_whole_chain(values: list[str | None]) -> None:
    frame = pl.DataFrame({"text": values}, schema={"text": pl.String})
    assert frame.select(normalized_text(pl.col("text"))).equals(frame.select(plain_normalized_text(pl.col("text"))))


def test_fields_of_nulls_only_may_come_typed_null() -> None:
    columns = {
        "txn_id": ["b2", "b1"], "account_id": ["checking"] * 2, "currency": ["USD"] * 2, "amount_minor": [5, 5],
        "posted_date": [dt.date(2025, 1, 2)] * 2, "description": ["CHECK 1045", "ACH INV-10023 XXXX1234"],
        "payee": [None, None], "reference": [None, None], "check_number": ["1045", None],
    }  # fmt: skip
    bank = pl.DataFrame(columns)
    assert bank.schema["payee"] == pl.Null
    assert_same_features(features.bank_features(bank), plain_bank_features(bank))
