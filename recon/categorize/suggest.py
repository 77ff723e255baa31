"""`recon rules suggest`: propose rules from history, as a rule file for a person to review.

Two kinds of history say what a bank row is:

- categories a person gave bank rows (`categorizations` with origin `person`);
- payees: the counterparty of the ledger entry a bank row is matched to (auto or
  confirmed 1:1 matches).

Rows are grouped by their description with the words that carry digits removed
(references, dates, amounts), and a group whose rows (nearly) always got the same
category or payee becomes a rule on the whole words the group's descriptions start
with (`^CHECK( |$)`: "CHECK 1045" but not "CHECKCARD ..."). Support is the number of
rows the proposed rule matches with that value; confidence is that share of every
stored row it matches, labelled or not.

The proposals form one rule file that passes `rules check` and `rules test`: one rule
per pattern carries every action learnt for it, a narrower pattern comes before the
broader one it falls under and also carries the broader one's actions (it takes those
rows first), and each example is a row that no earlier rule takes.
Nothing is ever applied: the output is text to review.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

import polars as pl

from recon.categorize.engine import apply_rules
from recon.categorize.rows import RULE_INPUT, history_rows
from recon.categorize.rulefile import RuleSet
from recon.money import format_minor
from recon.store import Store

__all__ = ["Learnt", "Suggestion", "prefix_regex", "suggest_rules", "suggestions_yaml"]

MIN_PREFIX_CHARS = 5
ACTIONS = ("category", "payee")
_REGEX_SPECIAL = frozenset("\\.+*?()|[]{}^$#&-~")


@dataclass(frozen=True, slots=True)
class Learnt:
    """One action learnt for a pattern: `support` of the `matched` stored rows it matches got `value`.

    `inherited_from` names the broader pattern it was learnt for (this rule takes those rows first)."""

    action: str
    value: str
    support: int
    matched: int
    inherited_from: str | None = None

    @property
    def confidence(self) -> float:
        return self.support / self.matched


@dataclass(slots=True)
class Suggestion:
    """A proposed rule: descriptions starting with the whole words `prefix` (and amounts of `sign`)."""

    prefix: str
    sign: str | None
    learnt: dict[str, Learnt]
    supporting: list[int] = field(default_factory=list)  # positions in the history of rows backing it
    example_description: str = ""
    example_amount: str = ""
    example_currency: str = "USD"

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.prefix.lower().split())

    @property
    def support(self) -> int:
        return max(x.support for x in self.learnt.values() if x.inherited_from is None)


def prefix_regex(prefix: str) -> str:
    """A regex for text starting with the whole words of `prefix` (rows' text has single spaces)."""
    words = ["".join("\\" + ch if ch in _REGEX_SPECIAL else ch for ch in w) for w in prefix.split()]
    return "^" + " ".join(words) + "(?: |$)"


def _labels(store: Store) -> dict[str, pl.DataFrame]:
    person = store.query(
        "SELECT txn_id, category AS label FROM categorizations WHERE origin = 'person' AND category IS NOT NULL"
    )
    matched = store.query(
        """SELECT l.bank_txn_id AS txn_id, any_value(e.counterparty) AS label
           FROM match_links l JOIN matches m USING (match_id) JOIN ledger_entries e ON e.entry_id = l.ledger_entry_id
           WHERE m.status IN ('auto', 'confirmed') AND m.kind = '1:1' AND e.counterparty IS NOT NULL
             AND trim(e.counterparty) <> ''
           GROUP BY l.bank_txn_id"""
    )
    return {
        action: labels.cast({"txn_id": pl.String, "label": pl.String})
        for action, labels in zip(ACTIONS, (person, matched), strict=True)
        if not labels.is_empty()
    }


def _group_key(description: pl.Expr) -> pl.Expr:
    words = description.str.to_lowercase().str.split(" ").list.filter(~pl.element().str.contains(r"\d"))
    return words.list.join(" ").str.replace_all(r"\s+", " ").str.strip_chars()


def _common_prefix(descriptions: list[str]) -> str:
    """The whole words every description starts with (case as written in the first one)."""
    split = [" ".join(d.split()).split(" ") for d in descriptions]
    shared: list[str] = []
    for words in zip(*split, strict=False):
        if len({w.lower() for w in words}) != 1:
            break
        shared.append(words[0])
    return " ".join(shared)


def _matches(rows: pl.DataFrame, prefix: str, sign: str | None) -> pl.Expr:
    """Rows the proposed rule matches, as a mask over `rows` (which has `_lower` and `amount_minor`)."""
    words = " ".join(prefix.split()).lower()
    whole_word = pl.col("_lower").str.starts_with(words) & (
        (pl.col("_lower").str.len_chars() == len(words)) | (pl.col("_lower").str.slice(len(words), 1) == " ")
    )
    if sign is None:
        return whole_word
    return whole_word & (pl.col("amount_minor").sign() == (1 if sign == "positive" else -1))


def suggest_rules(
    store: Store, *, existing: RuleSet | None, min_support: int = 3, min_confidence: float = 0.9
) -> list[Suggestion]:
    """Proposals in the order they must be written (a narrower pattern before a broader one)."""
    history = history_rows(store).with_row_index("_pos").with_columns(
        pl.col("description").fill_null("").str.replace_all(r"\s+", " ").str.strip_chars().str.to_lowercase()
        .alias("_lower"),
    )  # fmt: skip
    proposals: dict[tuple[tuple[str, ...], str | None], Suggestion] = {}
    for action, labels in _labels(store).items():
        labelled = history.join(labels, on="txn_id", how="left")
        for (key,), group in (
            labelled.drop_nulls("label")
            .with_columns(_group_key(pl.col("description")).alias("_key"))
            .group_by("_key", maintain_order=True)
        ):
            if not key or group.height < min_support:
                continue
            label = group["label"].mode().sort()[0]
            prefix = _common_prefix(group.filter(pl.col("label") == label)["description"].to_list())
            if len(prefix) < MIN_PREFIX_CHARS:
                continue
            signs = group["amount_minor"].sign().unique().to_list()
            sign = {1: "positive", -1: "negative"}.get(signs[0]) if len(signs) == 1 else None
            hits = labelled.filter(_matches(labelled, prefix, sign))
            backing = hits.filter(pl.col("label") == label)
            if backing.height < min_support or backing.height / hits.height < min_confidence:
                continue
            if existing is not None and _already_done(existing, backing, action, label):
                continue
            proposal = proposals.setdefault((tuple(prefix.lower().split()), sign), Suggestion(prefix, sign, {}))
            if action not in proposal.learnt:
                proposal.learnt[action] = Learnt(action, label, backing.height, hits.height)
                proposal.supporting += backing["_pos"].to_list()
    ordered = _narrower_first(sorted(proposals.values(), key=lambda s: (-s.support, s.prefix.lower())))
    return _with_examples(ordered, history)


def _already_done(existing: RuleSet, rows: pl.DataFrame, action: str, label: str) -> bool:
    outcome = apply_rules(rows.select(RULE_INPUT.names()), existing)
    return bool((outcome[action] == label).fill_null(False).all())


def _falls_under(narrow: Suggestion, broad: Suggestion) -> bool:
    """Every row `narrow` matches, `broad` matches too (and `narrow` is not `broad`)."""
    n, b = narrow.words, broad.words
    if n[: len(b)] != b or (broad.sign is not None and broad.sign != narrow.sign):
        return False
    return len(n) > len(b) or narrow.sign != broad.sign


def _overlap_first(a: Suggestion, b: Suggestion) -> bool:
    """`a` must come before `b`: they can match the same row and `a` is the narrower."""
    if a.words[: len(b.words)] != b.words:
        return False
    if a.sign is not None and b.sign is not None and a.sign != b.sign:
        return False
    return len(a.words) > len(b.words) or (a.sign is not None and b.sign is None)


def _narrower_first(proposals: list[Suggestion]) -> list[Suggestion]:
    """Keep the given order, except that a narrower pattern comes before every broader one it overlaps;
    a narrower one also carries the actions of the broader ones it falls under (it takes their rows)."""
    ordered: list[Suggestion] = []
    placed: set[int] = set()

    def place(s: Suggestion) -> None:
        if id(s) in placed:
            return
        placed.add(id(s))
        for other in proposals:
            if other is not s and _overlap_first(other, s):
                place(other)
        ordered.append(s)

    for s in proposals:
        place(s)
    for narrow in ordered:
        broader = sorted((b for b in ordered if _falls_under(narrow, b)), key=lambda b: -len(b.words))
        for broad in broader:
            for action, learnt in broad.learnt.items():
                if action not in narrow.learnt and learnt.inherited_from is None:
                    narrow.learnt[action] = Learnt(
                        action, learnt.value, learnt.support, learnt.matched, inherited_from=broad.prefix
                    )
    return ordered


def _with_examples(ordered: list[Suggestion], history: pl.DataFrame) -> list[Suggestion]:
    """Give each proposal an example row that no earlier proposal takes; drop one that has none."""
    taken = pl.repeat(False, history.height, eager=True)
    kept = []
    for s in ordered:
        mine = history.select(_matches(history, s.prefix, s.sign)).to_series()
        free = [p for p in s.supporting if not taken[p]]
        taken = taken | mine
        if not free:
            continue
        row = history.row(min(free), named=True)
        s.example_description = row["description"]
        s.example_amount = format_minor(row["amount_minor"], row["currency"])
        s.example_currency = row["currency"]
        kept.append(s)
    return kept


def _name(suggestion: Suggestion, taken: set[str]) -> str:
    own = [x for x in suggestion.learnt.values() if x.inherited_from is None]
    base = f"{' / '.join(x.value for x in own)} ({', '.join(x.action for x in own)}, suggested)"
    name, n = base, 2
    while name in taken:
        name, n = f"{base} {n}", n + 1
    taken.add(name)
    return name


def _single_quoted(text: str) -> str:
    """A YAML single-quoted scalar: backslashes stay as written (what a regex needs)."""
    return "'" + text.replace("'", "''") + "'"


def _evidence(x: Learnt) -> str:
    if x.inherited_from is not None:
        return f"{x.action} from the broader rule on '{x.inherited_from}', whose rows this rule takes first"
    source = "categories people gave" if x.action == "category" else "counterparties of matched ledger entries"
    return (
        f"{x.action}: support {x.support} rows, confidence {x.confidence:.0%} ({x.support} of {x.matched} "
        f"stored rows it matches); learnt from {source}"
    )


def suggestions_yaml(suggestions: list[Suggestion], *, rows_seen: int | None = None) -> str:
    """A rule file for review: one rule per pattern, with its support, confidence and one example."""
    today = datetime.now(UTC).date().isoformat()
    seen = f" from {rows_seen} stored bank rows" if rows_seen is not None else ""
    lines = [
        f"# Suggested by `recon rules suggest` on {today}{seen}.",
        "# Nothing here has been applied. Review each rule, rename it, then move it into a rule file",
        "# that the config's [rules] paths name. `recon rules test` runs the example under each rule.",
        "rules:" if suggestions else "rules: []",
    ]
    taken: set[str] = set()
    quote = json.dumps  # a JSON string is a valid YAML double-quoted scalar
    for s in suggestions:
        actions = [s.learnt[a] for a in ACTIONS if a in s.learnt]
        then = ", ".join(f"{x.action}: {quote(x.value)}" for x in actions)
        lines += [f"  # {_evidence(x)}" for x in actions]
        lines += [
            f"  - name: {quote(_name(s, taken))}",
            "    when:",
            f"      description: {{regex: {_single_quoted(prefix_regex(s.prefix))}}}",
        ]
        if s.sign:
            lines.append(f"      amount: {{sign: {s.sign}}}")
        lines += [
            f"    then: {{{then}}}",
            "    examples:",
            f"      - {{description: {quote(s.example_description)}, amount: {quote(s.example_amount)}, "
            + ("" if s.example_currency == "USD" else f"currency: {s.example_currency}, ")
            + f"expect: {{{then}}}}}",
        ]
    return "\n".join(lines) + "\n"
