"""A small, careful reader of the common subset of hledger / ledger-cli journals.

What it understands (everything else is skipped, never guessed at):

- transactions: `DATE[=DATE2] [*|!] [(CODE)] DESCRIPTION [; comment]`, dates as
  `YYYY-MM-DD`, `YYYY/MM/DD` or `YYYY.MM.DD`;
- postings: indented `[*|!] ACCOUNT  AMOUNT [@ PRICE] [= ASSERTION] [; comment]`
  (two spaces or a tab end the account name), virtual `(ACCOUNT)` / `[ACCOUNT]`,
  and one posting without an amount, inferred when the others share one commodity;
- amounts: `$1,234.56`, `-$0.00`, `$-0.00`, `1234.56 USD`, `USD 1234.56`, `€5`;
  `.` is the decimal mark and `,` a thousands separator;
- comments: `; key: value` tags on the transaction (comment lines before the first
  posting) or on a posting (inline, or the comment lines right after it);
- `include FILE` (relative to the including file), followed in place;
- blocks that are not transactions (`~` periodic, `=` automated, `comment` ...
  `end comment`, directives with indented sub-lines) are skipped whole.

It never raises for bad data: every line it cannot read becomes a `Problem` with
the file and line, and so does a transaction hledger and ledger would refuse because its
postings do not add up to zero (checked where that is certain: one commodity, no price).
It keeps each transaction's and posting's line numbers so the write-back can edit exactly
those lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from recon.errors import Problem

__all__ = ["JournalBook", "JournalPosting", "JournalTransaction", "parse_amount_text", "parse_journal", "read_tags"]

_TXN_HEAD = re.compile(
    r"^(?P<date>\d{4}[-/.]\d{1,2}[-/.]\d{1,2})(?:=(?P<date2>\S+))?"
    r"(?:[ \t]+(?P<status>[*!]))?(?:[ \t]+\((?P<code>[^)]*)\))?(?P<rest>.*)$"
)
_POSTING = re.compile(
    r"^[ \t]+(?:(?P<status>[*!])[ \t]*)?(?P<account>[^ \t;](?:[^\t;]*?))(?:(?:  |\t)[ \t]*(?P<rest>.*))?$"
)
_TAG = re.compile(r"(?:^|[\s,])([A-Za-z0-9_][A-Za-z0-9_-]*):[ \t]*([^,]*)")
_NUMBER = re.compile(r"^(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$|^\.\d+$")
_LOT = re.compile(r"\{[^}]*\}|\[[^\]]*\]|\([^)]*\)")
_SYMBOL_COMMODITY = re.compile(r'^"[^"]+"|^[^\s\d.,+\-;@=*!()"]+')


@dataclass(frozen=True, slots=True)
class JournalPosting:
    """One posting of a journal transaction.

    Attributes:
      line: 1-based line of the posting in `file`.
      account: the account name, without the brackets of a virtual posting.
      quantity: the amount as written (None when elided and not inferable).
      commodity: its commodity as written ('$', 'USD', ...), or None.
      status: the posting's own mark: '*', '!' or ''.
      tags: tags from its inline comment and the comment lines after it.
      virtual: whether the posting is virtual (`(..)` or `[..]`).
      inferred: whether the amount was elided and inferred from the other postings.
      last_line: the last line that belongs to the posting (its trailing comment lines).
      text: the posting's line as written.
      asserts_balance: whether it carries a balance assertion (`= $100`).
    """

    line: int
    account: str
    quantity: Decimal | None
    commodity: str | None
    status: str
    tags: dict[str, str]
    virtual: bool = False
    inferred: bool = False
    last_line: int = 0
    text: str = ""
    asserts_balance: bool = False


@dataclass(frozen=True, slots=True)
class JournalTransaction:
    """One transaction: its header line, its postings and where it lives."""

    file: Path
    line: int
    last_line: int
    date: date
    status: str
    code: str | None
    description: str
    tags: dict[str, str]
    postings: tuple[JournalPosting, ...]
    header: str


@dataclass(slots=True)
class JournalBook:
    """What a journal (and the files it includes) holds, in parse order."""

    transactions: list[JournalTransaction] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def read_tags(comment: str) -> dict[str, str]:
    """`key: value` tags of a comment text (a value runs to a comma or the end of the line)."""
    return {m.group(1): m.group(2).strip() for m in _TAG.finditer(comment)}


def parse_amount_text(text: str) -> tuple[Decimal, str | None] | None:
    """'$1,234.56' -> (Decimal('1234.56'), '$'); '-$0.00' -> (Decimal('-0.00'), '$'); None if unreadable."""
    s = text.strip()
    negative = False
    if s[:1] in "+-":
        negative, s = s[0] == "-", s[1:].lstrip()
    commodity: str | None = None
    m = _SYMBOL_COMMODITY.match(s)
    if m:
        commodity, s = m.group(0).strip('"'), s[m.end() :].lstrip()
        if s[:1] in "+-":
            negative, s = (s[0] == "-") != negative, s[1:].lstrip()
    number, _, after = s.partition(" ")
    after = after.strip()
    if after:
        if commodity is not None or not _SYMBOL_COMMODITY.fullmatch(after):
            return None
        commodity = after.strip('"')
    if not _NUMBER.match(number):
        return None
    try:
        value = Decimal(number.replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the pattern above is stricter
        return None
    return (-value if negative else value), commodity


def parse_journal(path: Path) -> JournalBook:
    """Read a journal and the files it includes; problems instead of exceptions."""
    book = JournalBook()
    _parse_file(path, book, depth=0)
    return book


def _parse_file(path: Path, book: JournalBook, *, depth: int) -> None:
    name = str(path)
    if depth > 20:
        book.problems.append(Problem(name, None, None, "includes nest deeper than 20 files (a cycle?)"))
        return
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        book.problems.append(Problem(name, None, None, f"cannot read the journal: {exc}"))
        return
    book.files.append(path)
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped or line[0] in " \t":
            i += 1
            continue
        if re.match(r"^\d{4}[-/.]", line):
            i = _parse_transaction(path, lines, i, book)
            continue
        if line[0].isdigit():  # `01/15 ...` after a `Y 2024` directive: recon does not guess the year
            message = f"'{stripped.split()[0]}' is not a full date (YYYY-MM-DD or YYYY/MM/DD); dates without a year"
            book.problems.append(Problem(name, i + 1, "date", message + " are not supported"))
            i = _skip_indented(lines, i + 1)
            continue
        word = stripped.split(None, 1)[0].lower()
        if word == "include":
            target = stripped.split(None, 1)[1].strip() if " " in stripped else ""
            included = (path.parent / target).resolve() if target else None
            if included is None or not included.is_file():
                book.problems.append(Problem(name, i + 1, None, f"included file not found: '{target}'"))
            else:
                _parse_file(included, book, depth=depth + 1)
        if word in ("comment", "test"):
            i = _skip_until(lines, i + 1, f"end {word}")
            continue
        i = _skip_indented(lines, i + 1)  # a directive's sub-lines, periodic or automated transactions


def _skip_until(lines: list[str], i: int, end: str) -> int:
    while i < len(lines) and lines[i].strip().lower() != end:
        i += 1
    return i + 1


def _skip_indented(lines: list[str], i: int) -> int:
    while i < len(lines) and lines[i][:1] in (" ", "\t"):
        i += 1
    return i


def _parse_transaction(path: Path, lines: list[str], start: int, book: JournalBook) -> int:
    name = str(path)
    head = _TXN_HEAD.match(lines[start])
    txn_date = _parse_date(head.group("date")) if head else None
    if head is None or txn_date is None:
        book.problems.append(Problem(name, start + 1, "date", f"'{lines[start].split()[0]}' is not a date"))
        return _skip_indented(lines, start + 1)
    rest = head.group("rest")
    description, _, comment = rest.partition(";")
    txn_tags = read_tags(comment)
    postings: list[_PostingDraft] = []
    problems_before = len(book.problems)
    i = start + 1
    while i < len(lines) and lines[i][:1] in (" ", "\t"):
        body = lines[i].strip()
        if not body:
            break
        if body[0] in ";#":  # indented comment lines; '*' here is a posting's cleared mark
            tags = read_tags(body.lstrip(";# "))
            if postings:
                postings[-1].tags.update(tags)
                postings[-1].last_line = i + 1
            else:
                txn_tags.update(tags)
        else:
            posting = _parse_posting(name, lines[i], i + 1, book)
            if posting is not None:
                postings.append(posting)
        i += 1
    if len(book.problems) == problems_before:  # a posting not read would make the sum meaningless
        _check_balanced(name, start + 1, postings, book)
    last_line = i
    while last_line > start + 1 and not lines[last_line - 1].strip():
        last_line -= 1
    book.transactions.append(
        JournalTransaction(
            file=path,
            line=start + 1,
            last_line=last_line,
            date=txn_date,
            status=head.group("status") or "",
            code=head.group("code"),
            description=description.strip(),
            tags=txn_tags,
            postings=_infer_elided(name, start + 1, postings, book),
            header=lines[start],
        )
    )
    return i


def _parse_date(text: str) -> date | None:
    parts = re.split(r"[-/.]", text)
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2]))
    except (ValueError, IndexError):
        return None


@dataclass(slots=True)
class _PostingDraft:
    line: int
    account: str
    quantity: Decimal | None
    commodity: str | None
    status: str
    tags: dict[str, str]
    virtual: bool
    unbalanced: bool
    last_line: int
    text: str
    asserts_balance: bool
    inferred: bool = False
    cost: tuple[Decimal, str | None] | None = None  # what `@ price` / `@@ total` says it cost

    def weight(self) -> tuple[Decimal, str | None] | None:
        """What the posting weighs in its transaction's balance: its cost when priced, else its amount."""
        if self.cost is not None:
            return self.cost
        return None if self.quantity is None else (self.quantity, self.commodity)

    def done(self) -> JournalPosting:
        return JournalPosting(
            self.line, self.account, self.quantity, self.commodity, self.status, self.tags,
            self.virtual, self.inferred, self.last_line, self.text, self.asserts_balance,
        )  # fmt: skip


def _parse_posting(name: str, text: str, line: int, book: JournalBook) -> _PostingDraft | None:
    m = _POSTING.match(text)
    if m is None:
        book.problems.append(Problem(name, line, None, f"not a posting: '{text.strip()}'"))
        return None
    account = m.group("account").strip()
    virtual = account[:1] in "([" and account[-1:] in ")]"
    rest = m.group("rest") or ""
    amount_part, _, comment = rest.partition(";")
    priced, _, assertion = amount_part.partition("=")
    amount_text, at, price_text = priced.partition("@")
    amount_text = _LOT.sub("", amount_text).strip()  # ledger's lot annotations: {$50} [2024/01/02] (note)
    draft = _PostingDraft(
        line, account[1:-1] if virtual else account, None, None, m.group("status") or "",
        read_tags(comment), virtual, account.startswith("("), line, text, bool(assertion.strip()),
    )  # fmt: skip
    if amount_text:
        parsed = parse_amount_text(amount_text)
        if parsed is None:
            book.problems.append(Problem(name, line, "amount", f"'{amount_text}' is not an amount recon can read"))
            return None
        draft.quantity, draft.commodity = parsed
    if at and draft.quantity is not None:
        total = price_text.startswith("@")
        price = parse_amount_text(price_text.removeprefix("@"))
        if price is None:
            book.problems.append(Problem(name, line, "price", f"'{price_text.strip()}' is not a price recon can read"))
            return None
        cost = abs(price[0]) if total else abs(price[0] * draft.quantity)
        draft.cost = (cost if draft.quantity >= 0 else -cost, price[1])
    return draft


def _infer_elided(name: str, line: int, drafts: list[_PostingDraft], book: JournalBook) -> tuple[JournalPosting, ...]:
    """Give the one posting without an amount the amount that balances the others (their costs where priced)."""
    balancing = [p for p in drafts if not p.unbalanced]
    elided = [p for p in balancing if p.quantity is None]
    if len(elided) > 1:
        book.problems.append(Problem(name, line, "amount", "more than one posting without an amount"))
    elif elided:
        weights = [w for w in (p.weight() for p in balancing) if w is not None]
        commodities = {c for _, c in weights}
        if len(commodities) == 1:
            elided[0].quantity = -sum((q for q, _ in weights), Decimal(0))
            elided[0].commodity = commodities.pop()
            elided[0].inferred = True
    return tuple(p.done() for p in drafts)


def _check_balanced(name: str, line: int, drafts: list[_PostingDraft], book: JournalBook) -> None:
    """Refuse what hledger and ledger refuse: real postings (and `[virtual]` ones apart) not adding up to zero.

    Only where that is certain: one commodity and no price. With two commodities both tools
    infer the conversion, and a priced cost may be rounded to the commodity's precision.
    """
    for group in ([p for p in drafts if not p.virtual], [p for p in drafts if p.virtual and not p.unbalanced]):
        if not group or any(p.quantity is None or p.cost is not None for p in group):
            continue
        commodities = {p.commodity for p in group}
        if len(commodities) != 1:
            continue
        total = sum((p.quantity for p in group if p.quantity is not None), Decimal(0))
        if total != 0:
            kind = "its [virtual] postings" if group[0].virtual else "its postings"
            commodity = commodities.pop() or ""
            written = f"{total} {commodity}".rstrip() if commodity[:1].isalpha() else f"{commodity}{total}"
            message = f"the transaction does not balance: {kind} add up to {written}"
            book.problems.append(Problem(name, line, "amount", f"{message} (hledger and ledger refuse it)"))
