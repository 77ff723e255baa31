"""The fast paths of the CSV importer give exactly what the slow, general paths give.

Reading: Polars reads the data lines straight from the file when each line is one row
and no line is junk (`read_one_row_per_line`, on a mapped ASCII file or on the bytes);
otherwise every line is looked at (`read_line_by_line`). Amounts: plain numbers are settled by a pattern and a Decimal
cast, the rest by the exact regex path (`_exact_amount`). Dates: each format after the
first only reads the rows the formats before it left.
"""

from __future__ import annotations

import mmap
import tempfile
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from importers import csv_table
from importers.csv_amounts import _exact_amount, amount_columns
from importers.csv_bank import CsvBankImporter
from importers.csv_columns import parse_rows
from importers.csv_dates import date_columns
from importers.csv_fields import CsvTable
from importers.csv_line_by_line import read_line_by_line
from importers.csv_one_row_per_line import read_one_row_per_line
from importers.csv_profile import CsvProfile, ProfileColumns
from importers.csv_table import read_file_table, read_table

COLUMNS = ProfileColumns(date="Date", description="Memo", amount="Amount")


def profile(**options: object) -> CsvProfile:
    return CsvProfile.model_validate({"date_formats": ["%Y-%m-%d"], "columns": COLUMNS, **options})


PROFILES = [
    profile(),
    profile(thousands_sep=",", amount_strip="$"),
    profile(decimal_mark=",", thousands_sep="."),
    profile(decimal_mark=",", thousands_sep=" ", amount_strip="€ "),
    profile(delimiter=";", skip_lines=2, skip_footer=1),
    profile(header_pattern="^Date", quote="'"),
    profile(has_header=False, columns=ProfileColumns(date=1, description=2, amount=3), skip_lines=1),
]

# --- amounts -----------------------------------------------------------------------------------------

amount_text = st.one_of(
    st.builds(
        lambda sign, whole, mark, frac, tail: f"{sign}{whole}{mark}{frac}{tail}",
        st.sampled_from(["", "-", "+", "(", "$", "€ ", "- "]),
        st.text(alphabet="0123456789,. ", max_size=12),
        st.sampled_from(["", ".", ","]),
        st.text(alphabet="0123456789", max_size=6),
        st.sampled_from(["", "-", ")", " ", "$", "x"]),
    ),
    st.text(alphabet="0123456789.,-+ ()$€\t", max_size=14),
    st.builds(lambda pad, text: f"{pad}{text}{pad}", st.sampled_from([" ", "\t", "\u00a0"]), st.just("12.50")),
)


@settings(deadline=None)
@given(
    st.lists(amount_text, min_size=1, max_size=40), st.sampled_from(PROFILES), st.sampled_from(["USD", "JPY", "BHD"])
)
def test_fast_amounts_equal_the_exact_path(texts: list[str], prof: CsvProfile, currency: str) -> None:
    frame = pl.DataFrame({"t": texts}, schema={"t": pl.String})
    code = pl.lit(currency)
    exact = frame.select(_exact_amount(pl.col("t").str.strip_chars(), code, prof)).to_series().to_list()
    for one_currency in (currency, None):
        both = amount_columns(frame, {"amount": "t"}, code, prof, one_currency=one_currency)
        assert both["__minor_amount"].to_list() == exact
        # the checks see the stripped text of every amount the fast path left (null: settled)
        for left, minor, raw in zip(both["__text_amount"], both["__minor_amount"], texts, strict=True):
            assert left == raw.strip() if left is not None else minor is not None


# --- dates -------------------------------------------------------------------------------------------


def first_plausible(texts: list[str], formats: list[str]) -> list[date | None]:
    """The former single-expression reading: every format on every row, the first plausible one wins."""
    tries = []
    for fmt in formats:
        parsed = pl.col("t").str.to_date(fmt, strict=False)
        tries.append(pl.when(parsed.is_between(date(1900, 1, 1), date(2199, 12, 31))).then(parsed))
    return pl.DataFrame({"t": texts}, schema={"t": pl.String}).select(pl.coalesce(tries)).to_series().to_list()


@settings(deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "2024-03-01",
                "01.03.2024",
                "01.03.24",
                "3/1/24",
                "03/01/2024",
                "24-03-01",
                "",
                "x",
                "31.02.2024",
                " 2024-03-01",
                "01.03.24 ",
                "\t3/1/24\t",
                " ",
                "\u00a003/01/2024",
            ]
        ),
        min_size=1,
        max_size=30,
    ),
    st.permutations(["%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y", "%m/%d/%y", "%m/%d/%Y"]),
    st.integers(min_value=1, max_value=5),
)
def test_dates_read_format_by_format_equal_every_format_at_once(texts: list[str], formats: list[str], n: int) -> None:
    frame = pl.DataFrame({"t": texts}, schema={"t": pl.String})
    read = date_columns(frame, {"d": "t"}, formats[:n])
    assert read["d"].to_list() == first_plausible([t.strip() for t in texts], formats[:n])
    # the checks see the stripped text of every date the first reading left (null: settled)
    for left, parsed, text in zip(read["__leftd"], read["d"], texts, strict=True):
        assert left == text.strip() if parsed is None else left is None


# --- reading the lines -------------------------------------------------------------------------------

data_line = st.one_of(
    st.builds(
        lambda d, memo, amount: f"2024-01-{d:02d},{memo},{amount}",
        st.integers(min_value=1, max_value=28),
        st.sampled_from(["coffee", '"a, b"', '"two\nlines"', "", "  spaced  ", '"q""uote"', "'x'"]),
        st.sampled_from(["1.00", "-2,50", "3", ""]),
    ),
    st.sampled_from(["", "   ", ",,", '"",""', ";;", "total,,9", "\t", '"unclosed,1,2']),
)


def csv_bytes(preamble: list[str], header: str, body: list[str], footer: list[str], newline: str, bom: bool) -> bytes:
    text = newline.join([*preamble, header, *body, *footer]) + newline
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode()


def same_table(a: CsvTable, b: CsvTable) -> bool:
    records = [None if t.records is None else t.records.to_list() for t in (a, b)]
    return (
        a.fields.equals(b.fields)
        and a.lines.to_list() == b.lines.to_list()
        and a.header_line == b.header_line
        and records[0] == records[1]
    )


@settings(deadline=None, max_examples=200)
@given(
    st.lists(st.sampled_from(["Bank export", "", "Account;1234"]), max_size=3),
    st.lists(data_line, max_size=8),
    st.lists(st.sampled_from(["", "Total,,9", " "]), max_size=3),
    st.sampled_from(["\n", "\r\n", "\r"]),
    st.booleans(),
    st.sampled_from(PROFILES),
)
def test_fast_reading_equals_reading_line_by_line(
    preamble: list[str], body: list[str], footer: list[str], newline: str, bom: bool, prof: CsvProfile
) -> None:
    header = "Date,Memo,Amount".replace(",", prof.delimiter)
    body = [line.replace(",", prof.delimiter) for line in body]
    data = csv_bytes(preamble, header, body, footer, newline, bom)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "f.csv"
        path.write_bytes(data)
        from_file = read_file_table(path, prof)  # an ASCII file is mapped, not read
    slow = read_line_by_line(str(path), data.decode("utf-8-sig"), prof)
    for fast in (read_table(str(path), data, prof), from_file):
        if isinstance(slow, CsvTable) and isinstance(fast, CsvTable):
            assert same_table(fast, slow)
        else:
            assert fast == slow


def test_an_ordinary_export_takes_the_fast_path() -> None:
    data = b'Date,Memo,Amount\n2024-01-02,coffee,-3.50\n2024-01-03,"rent, May",-900.00\n'
    table = read_one_row_per_line(data, PROFILES[0])
    assert table is not None
    assert table.lines.to_list() == [2, 3]
    assert table.fields["Memo"].to_list() == ["coffee", "rent, May"]
    assert table.records is not None
    assert table.records.to_list() == ["2024-01-02,coffee,-3.50", '2024-01-03,"rent, May",-900.00']


def test_each_row_keeps_its_record_as_the_file_has_it() -> None:
    data = b'Date,Memo,Amount\r\n2024-01-02,"two\r\nlines",1\r\n,,\r\n2024-01-03, "x" ,2\r\n'
    table = read_table("f.csv", data, PROFILES[0])
    assert isinstance(table, CsvTable)
    assert table.records is not None
    assert table.records.to_list() == ['2024-01-02,"two\nlines",1', '2024-01-03, "x" ,2']
    assert table.lines.to_list() == [2, 5]


@pytest.mark.parametrize(
    "data",
    [
        b'Date,Memo,Amount\n2024-01-02,"two\nlines",1\n2024-01-03,x,2\n',  # a quoted line break
        b"Date,Memo,Amount\n2024-01-02,x,1\n,,\n2024-01-03,x,2\n",  # a junk line
        b"Date,Memo,Amount\n\n2024-01-03,x,2\n",  # a blank line
    ],
)
def test_files_the_fast_path_leaves_to_the_line_by_line_path(data: bytes) -> None:
    assert read_one_row_per_line(data, PROFILES[0]) is None
    table = read_table("f.csv", data, PROFILES[0])
    assert isinstance(table, CsvTable)
    assert table.lines.to_list()[-1] == data.count(b"\n")


@pytest.mark.parametrize(
    ("data", "line"),
    [
        ("Date,Memo,Amount\n2024-01-02,Caf\u00e9 M\u00fcller,-3.50\n".encode(), None),  # UTF-8: mapped, read as is
        (b"Date,Memo,Amount\n2024-01-02,caf\xe9,-3.50\n", 2),  # latin-1 bytes in a row
        (b"Date,Memo,Amount\n2024-01-02,x,-3.50\nTotal \xe9\n", 3),  # ... in the footer Polars never reads
        (b"Export \xe9\nDate,Memo,Amount\n2024-01-02,x,-3.50\n", 1),  # ... in the preamble
    ],
)
def test_a_mapped_file_is_checked_as_text_like_any_other(tmp_path: Path, data: bytes, line: int | None) -> None:
    prof = profile(header_pattern="^Date", skip_footer=1 if b"Total" in data else 0)
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    got, from_bytes = read_file_table(path, prof), read_table(str(path), data, prof)
    if line is None:
        assert isinstance(got, CsvTable)
        assert isinstance(from_bytes, CsvTable)
        assert same_table(got, from_bytes)
        assert got.fields["Memo"].to_list() == ["Caf\u00e9 M\u00fcller"]
    else:
        assert got == from_bytes
        assert not isinstance(got, CsvTable)
        assert got.line == line
        assert "not utf-8 text" in got.message


@pytest.mark.parametrize("odd", ["", "\x00", "\x00\x01\x1d\x1e\x1f"])
def test_a_large_file_keeps_each_line_as_its_raw_record(tmp_path: Path, odd: str) -> None:
    # large enough for the records to be read on another thread; control bytes change how lines are split
    body = [f'2024-01-{i % 28 + 1:02d}, "memo {i}" {odd if i == 7 else ""},{i}.5' for i in range(12_000)]
    data = ("Bank export\nDate,Memo,Amount\n" + "\n".join(body) + "\nTotal,,9\n").encode()
    prof = profile(header_pattern="^Date", skip_footer=1)
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    tables = [read_file_table(path, prof), read_table(str(path), data, prof)]
    tables.append(read_line_by_line(str(path), data.decode(), prof))
    for table in tables:
        assert isinstance(table, CsvTable)
        assert table.records is not None
        assert table.records.to_list() == body
        assert table.lines.to_list() == list(range(3, 12_003))
    extract = CsvBankImporter(prof).extract(path, currency="USD")
    assert not extract.problems
    assert extract.rows["raw"].to_list() == body


@pytest.mark.parametrize(
    ("data", "mapped"),
    [
        (b"Date;Memo;Amount\n2024-01-02;Cafe;-3,50\n2024-01-03;x;1\n", True),  # pure ASCII: UTF-8 as it is
        (b"Date;Memo;Amount\n2024-01-02;Caf\xe9;-3,50\n2024-01-03;x;1\n", False),  # Latin-1 bytes: decoded
    ],
)
def test_a_latin1_file_of_pure_ascii_is_mapped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: bytes, mapped: bool
) -> None:
    prof = profile(encoding="latin-1", delimiter=";", decimal_mark=",")
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    expected = read_table(str(path), data, prof)
    assert isinstance(expected, CsvTable)
    calls: list[Path] = []
    read_mapped = csv_table._read_mapped

    def spy(view: mmap.mmap, source: Path, prof: CsvProfile, named_only: bool = False) -> CsvTable | None:
        calls.append(source)
        return read_mapped(view, source, prof, named_only)

    monkeypatch.setattr(csv_table, "_read_mapped", spy)
    got = read_file_table(path, prof)
    assert isinstance(got, CsvTable)
    assert same_table(got, expected)
    assert calls == ([path] if mapped else [])
    assert got.fields["Memo"].to_list() == [data.split(b"\n")[1].split(b";")[1].decode("latin-1"), "x"]


@pytest.mark.parametrize(
    "body",
    [
        ["CREDIT,2024-01-02,coffee,-3.50", 'DEBIT,2024-01-03,"rent, May",-900.00'],
        ["CREDIT,2024-01-02,coffee,-3.50", "note,,,", "DEBIT,2024-01-03,x,1"],  # named fields blank, a note beside
        ["CREDIT,2024-01-02,coffee,-3.50", ",,,", "DEBIT,2024-01-03,x,1"],  # a junk line
        ['CREDIT,2024-01-02,"two\nlines",-3.50', "DEBIT,2024-01-03,x,1"],  # a quoted line break
    ],
)
def test_reading_only_the_named_columns_changes_no_row(tmp_path: Path, body: list[str]) -> None:
    prof = profile(header_pattern="^Details")
    data = ("Details,Date,Memo,Amount\n" + "\n".join(body) + "\n").encode()
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    named, every = read_file_table(path, prof, named_only=True), read_file_table(path, prof)
    assert isinstance(named, CsvTable)
    assert isinstance(every, CsvTable)
    assert named.records is not None
    assert every.records is not None
    assert named.records.to_list() == every.records.to_list()
    assert named.lines.to_list() == every.lines.to_list()
    assert set(named.fields.columns) <= set(every.fields.columns)
    extract = CsvBankImporter(prof).extract(path, currency="USD")
    joined = parse_rows(str(path), every.fields, every.lines, every.header_line, prof, "USD", records=every.records)
    assert extract.rows.equals(joined.rows)
    assert extract.problems == joined.problems
