"""The exceptions report as one self-contained HTML page (no scripts, no external files).

Every value from a bank or ledger file is escaped: a description holding markup is
shown as text, never run.
"""

from __future__ import annotations

import re
from datetime import datetime
from html import escape

import polars as pl

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

_CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #1d2433; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
.meta { color: #5b6475; } table { border-collapse: collapse; width: 100%; margin-top: .5rem; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #e2e5eb; vertical-align: top; }
th { background: #f4f6f9; font-weight: 600; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.neg { color: #a12020; } .code { font-family: ui-monospace, monospace; font-size: 12px; color: #5b6475; }
.empty { color: #5b6475; font-style: italic; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; } tr { break-inside: avoid; } }
"""


def _text(value: object) -> str:
    if value is None:
        return ""
    return escape(_CONTROL.sub("", str(value)))


def _amount_cell(amount: str, currency: str) -> str:
    cls = "num neg" if amount.startswith("-") else "num"
    return f'<td class="{cls}">{_text(amount)} {_text(currency)}</td>'


def _table(frame: pl.DataFrame, columns: list[tuple[str, str]], empty: str) -> str:
    if frame.is_empty():
        return f'<p class="empty">{escape(empty)}</p>'
    head = "".join(
        f'<th class="num">{escape(label)}</th>' if key == "amount" else f"<th>{escape(label)}</th>"
        for key, label in columns
    )
    body = []
    for row in frame.iter_rows(named=True):
        cells = []
        for key, _ in columns:
            if key == "amount":
                cells.append(_amount_cell(row["amount"], row["currency"]))
            elif key in ("row_id", "source", "match_id"):
                cells.append(f'<td class="code">{_text(row[key])}</td>')
            elif key == "score":
                cells.append(f'<td class="num">{"" if row[key] is None else f"{row[key]:.2f}"}</td>')
            else:
                cells.append(f"<td>{_text(row[key])}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render(exceptions: pl.DataFrame, summary: pl.DataFrame, *, generated_at: datetime, title: str) -> str:
    """The whole page as a string."""
    summary_table = _table(
        summary.with_columns(pl.col(c).cast(pl.String) for c in summary.columns),
        [
            ("account_id", "Account"), ("currency", "Currency"), ("bank_rows", "Bank rows"),
            ("ledger_rows", "Ledger rows"), ("bank_matched", "Bank rows matched"),
            ("bank_suggested", "Bank rows suggested"),
        ],
        "No accounts.",
    )  # fmt: skip
    row_columns = [
        ("account_id", "Account"), ("date", "Date"), ("amount", "Amount"), ("description", "Description"),
        ("reason_text", "Why open"), ("source", "Source"),
    ]  # fmt: skip
    sections = [
        (
            "Suggested matches",
            "suggested",
            [
                ("account_id", "Account"), ("date", "Bank date"), ("amount", "Amount"),
                ("description", "Bank  <->  ledger"), ("score", "Score"), ("explanation", "Why"),
                ("match_id", "Match"),
            ],
            "No suggestions waiting for review.",
        ),
        ("Bank rows not in the books", "bank_unmatched", row_columns, "Every bank row is matched."),
        ("Book entries not on the bank statement", "ledger_unmatched", row_columns, "Every book entry is matched."),
    ]  # fmt: skip
    counts = {k: exceptions.filter(pl.col("kind") == k).height for _, k, _, _ in sections}
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">Generated {generated_at:%Y-%m-%d %H:%M} UTC · '
        f"{counts['suggested']} suggested · {counts['bank_unmatched']} bank rows open · "
        f"{counts['ledger_unmatched']} book entries open</p>",
        "<h2>Accounts</h2>",
        summary_table,
    ]
    for heading, kind, columns, empty in sections:
        rows = exceptions.filter(pl.col("kind") == kind)
        parts.append(f'<h2 id="{kind}">{escape(heading)} ({rows.height})</h2>')
        parts.append(_table(rows.with_columns(pl.col("date").cast(pl.String)), columns, empty))
    parts.append("</body></html>")
    return "\n".join(parts)
