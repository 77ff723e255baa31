"""The review page as one HTML string: suggestions, open rows, possible duplicates, recent decisions, the tray
(hand-match total, account field, note).

Every value from a bank or ledger file (and every note a person wrote) is escaped:
a description holding markup is shown as text, never run. The only script is the
page's own, allowed by a per-response nonce in the Content-Security-Policy.
"""

from __future__ import annotations

import re
from html import escape
from typing import Any

from recon.money import currency_exponent, format_minor
from recon.report.html import _CSS as REPORT_CSS
from recon.review_web.page_data import ReviewData, Suggestion
from recon.review_web.page_script import REVIEW_CSS, REVIEW_JS

__all__ = ["render_page"]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

KEYS_HELP = (
    ("j / ↓", "next"), ("k / ↑", "previous"), ("c", "confirm"), ("r", "reject"),
    ("x", "select row for a hand match"), ("Enter", "save the hand match"), ("b", "book by a rule / unmark"),
    ("a", "book a bank row to an account"), ("d", "not a duplicate"), ("u", "undo a decision"), ("n", "write a note"),
)  # fmt: skip


def _t(value: object) -> str:
    """Text for HTML content or a quoted attribute."""
    return "" if value is None else escape(_CONTROL.sub("", str(value)), quote=True)


def _money(amount_minor: int, currency: str) -> str:
    cls = "num neg" if amount_minor < 0 else "num"
    return f'<td class="{cls}">{_t(format_minor(amount_minor, currency))} {_t(currency)}</td>'


def _sub_row(side: str, row: dict[str, Any]) -> str:
    amount = f"{format_minor(row['amount_minor'], row['currency'])} {row['currency']}"
    return (
        f'<span class="sub"><span class="side">{side}</span>{_t(row["date"])} · <b>{_t(amount)}</b> · '
        f'{_t(row["description"])} <span class="code">{_t(row["source"])}</span></span>'
    )


def _suggestion(s: Suggestion) -> str:
    rows = "".join(_sub_row("bank", r) for r in s.bank_rows) + "".join(_sub_row("ledger", r) for r in s.ledger_rows)
    return (
        f'<tr class="item" tabindex="0" data-kind="suggestion" data-key="m:{_t(s.match_id)}" '
        f'data-match-id="{_t(s.match_id)}">'
        f"<td>{_t(s.account_id)}</td><td>{_t(s.kind)}</td><td>{rows}</td>"
        f'<td class="num">{s.score:.2f}</td><td>{_t(s.reasons)}</td>'
        f'<td class="code">{_t(s.match_id)}</td>'
        '<td class="actions"><button type="button" data-command="confirm">Confirm (c)</button>'
        '<button type="button" data-command="reject">Reject (r)</button></td></tr>'
    )


def _category_badge(row: dict[str, Any], data: ReviewData) -> str:
    """Where the bank row is booked, and on whose word: a rule's or a person's."""
    if not row.get("category"):
        return ""
    by_person = row["row_id"] in data.by_person
    whose = "a person" if by_person else f"rule {row['rule']}" if row.get("rule") else "a rule"
    cls = "badge category person" if by_person else "badge category"
    return f'<span class="{cls}">→ {_t(row["category"])} ({_t(whose)})</span>'


def _open_row(row: dict[str, Any], data: ReviewData) -> str:
    side, row_id = row["side"], row["row_id"]
    book_decision = data.to_book.get(row_id) if side == "bank" else None
    badge = '<span class="badge">to book by a rule</span>' if book_decision else ""
    if side == "bank":
        badge += _category_badge(row, data)
    book_button = ""
    if side == "bank":
        label = "Unmark (b)" if book_decision else "Book by rule (b)"
        book_button = f'<button type="button" data-command="book">{label}</button>'
        if row_id not in data.by_person:
            book_button += '<button type="button" data-command="categorize">Book to account (a)</button>'
    book_attr = f' data-book-decision="{_t(book_decision)}"' if book_decision else ""
    return (
        f'<tr class="item" tabindex="0" aria-selected="false" data-kind="row" data-key="{_t(side)}:{_t(row_id)}" '
        f'data-side="{_t(side)}" data-row-id="{_t(row_id)}" data-amount-minor="{int(row["amount_minor"])}" '
        f'data-currency="{_t(row["currency"])}" data-exponent="{currency_exponent(row["currency"])}"{book_attr}>'
        f'<td class="mark">[ ]</td><td>{_t(row["account_id"])}</td><td class="date">{_t(row["date"])}</td>'
        f"{_money(int(row['amount_minor']), row['currency'])}<td>{_t(row['description'])}{badge}</td>"
        f'<td>{_t(row["reason_text"])}</td><td class="code">{_t(row["source"])}</td>'
        f'<td class="code">{_t(row_id)}</td>'
        f'<td class="actions"><button type="button" data-command="select">Select (x)</button>{book_button}</td></tr>'
    )


def _duplicate(d: dict[str, Any]) -> str:
    repeated = (
        _sub_row("repeats", {
            "date": d["of_date"], "amount_minor": d["of_amount_minor"], "currency": d["of_currency"],
            "description": d["of_description"], "source": d["of_source"],
        })
        if d["of_amount_minor"] is not None
        else f'<span class="sub"><span class="side">repeats</span>{_t(d["duplicate_of"])}</span>'
    )  # fmt: skip
    return (
        f'<tr class="item" tabindex="0" data-kind="duplicate" data-key="dup:{_t(d["side"])}:{_t(d["row_id"])}" '
        f'data-side="{_t(d["side"])}" data-row-id="{_t(d["row_id"])}">'
        f"<td>{_t(d['account_id'])}</td><td>{_t(d['side'])}</td>"
        f"<td>{_sub_row('flagged', d)}{repeated}</td><td>{_t(d['reason'])}</td>"
        f'<td class="code">{_t(d["row_id"])}</td><td class="code">{_t(d["duplicate_of"])}</td>'
        '<td class="actions"><button type="button" data-command="not-duplicate">Not a duplicate (d)</button></td></tr>'
    )


def _decision(d: dict[str, Any]) -> str:
    rows = len(d["bank_txn_ids"]) + len(d["ledger_entry_ids"])
    about = f"match {d['match_id']}" if d["match_id"] else f"{rows} row(s)"
    if d["undoes"]:
        about += f", undoing {d['undoes']}"
    state = "" if d["in_effect"] or d["action"] == "undo" else '<span class="badge">undone</span>'
    button = '<button type="button" data-command="undo">Undo (u)</button>' if d["undoable"] else ""
    key_attrs = f'data-key="d:{_t(d["decision_id"])}"'
    if d["undoable"]:
        key_attrs += f' data-decision-id="{_t(d["decision_id"])}"'
    return (
        f'<tr class="item" tabindex="0" data-kind="decision" {key_attrs}>'
        f"<td>{d['decided_at']:%Y-%m-%d %H:%M:%S}</td><td>{_t(d['decided_by'])}</td>"
        f'<td>{_t(d["action"])}{state}</td><td class="code">{_t(about)}</td><td>{_t(d["note"])}</td>'
        f'<td class="code">{_t(d["decision_id"])}</td><td>{button}</td></tr>'
    )


def _table(headers: list[str], body: list[str], empty: str, table_id: str) -> str:
    if not body:
        return f'<p class="empty" id="{table_id}">{_t(empty)}</p>'
    head = "".join(f"<th>{_t(h)}</th>" for h in headers)
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def render_page(data: ReviewData, *, token: str, nonce: str, by: str, store_name: str) -> str:
    """The whole page. `token` goes into a meta tag for the script's requests, `nonce` on the script tag."""
    bank_rows = [r for r in data.open_rows if r["side"] == "bank"]
    ledger_rows = [r for r in data.open_rows if r["side"] == "ledger"]
    row_headers = ["", "Account", "Date", "Amount", "Description", "Why open", "Source", "Row", ""]
    keys = " · ".join(f"<kbd>{_t(k)}</kbd> {_t(v)}" for k, v in KEYS_HELP)
    options = "".join(f'<option value="{_t(c)}">' for c in data.categories)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="referrer" content="no-referrer">',
        f'<meta name="recon-token" content="{_t(token)}">',
        f"<title>recon: review</title><style>{REPORT_CSS}{REVIEW_CSS}</style></head><body>",
        "<h1>recon: review</h1>",
        f'<p class="meta">Store {_t(store_name)} · deciding as <b>{_t(by)}</b> · '
        f"{len(data.suggestions)} suggested · {len(bank_rows)} bank rows open · "
        f"{len(ledger_rows)} book entries open · {len(data.duplicates)} possible duplicates</p>",
        f'<p class="keys">{keys}</p>',
        f'<h2 id="suggested">Suggested matches ({len(data.suggestions)})</h2>',
        _table(
            ["Account", "Kind", "Rows", "Score", "Why", "Match", ""],
            [_suggestion(s) for s in data.suggestions],
            "No suggestions waiting for review.",
            "suggestions",
        ),
        f'<h2 id="bank_unmatched">Bank rows not in the books ({len(bank_rows)})</h2>',
        _table(row_headers, [_open_row(r, data) for r in bank_rows], "Every bank row is matched.", "bank"),
        f'<h2 id="ledger_unmatched">Book entries not on the bank statement ({len(ledger_rows)})</h2>',
        _table(row_headers, [_open_row(r, data) for r in ledger_rows], "Every book entry is matched.", "ledger"),
        f'<h2 id="duplicates">Possible duplicates ({len(data.duplicates)})</h2>',
        _table(
            ["Account", "Side", "Rows", "Why flagged", "Flagged row", "Repeats row", ""],
            [_duplicate(d) for d in data.duplicates],
            "No row is flagged as a possible duplicate.",
            "duplicate-rows",
        ),
        '<h2 id="decisions">Latest decisions</h2>',
        _table(
            ["When (UTC)", "Who", "Action", "About", "Note", "Decision", ""],
            [_decision(d) for d in data.decisions],
            "No decisions yet.",
            "decision-log",
        ),
        '<div id="tray"><div class="inner">',
        '<span>Hand match: <span id="total" aria-live="polite"></span></span>',
        '<label>Note <input id="note" type="text" maxlength="2000" autocomplete="off" '
        'placeholder="why (kept with the decision)"></label>',
        '<button type="button" id="save-match" disabled>Save match (Enter)</button>',
        '<label>Book <span id="category-rows">the focused bank row</span> to account '
        '<input id="category" type="text" maxlength="200" autocomplete="off" list="categories" '
        'placeholder="e.g. Expenses:Office Supplies (a, then Enter)"></label>',
        f'<datalist id="categories">{options}</datalist>',
        '<span id="status" role="status" aria-live="polite"></span>',
        "</div></div>",
        f'<script nonce="{_t(nonce)}">{REVIEW_JS}</script>',
        "</body></html>",
    ]
    return "\n".join(parts)
