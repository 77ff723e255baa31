"""The exceptions report as one self-contained HTML page (no scripts, no external files).

Every value from a bank or ledger file is escaped: a description holding markup is
shown as text, never run.
"""

from __future__ import annotations

import re
from datetime import datetime
from html import escape

import polars as pl

from recon.money import format_minor, minor_to_decimal_expr
from recon.report.changes import AGE_BUCKETS
from recon.report.exceptions import exception_counts
from recon.report.statement import ReconciliationStatement

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

_CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #1d2433; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
.meta { color: #5b6475; } table { border-collapse: collapse; width: 100%; margin-top: .5rem; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #e2e5eb; vertical-align: top; }
th { background: #f4f6f9; font-weight: 600; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.neg { color: #a12020; } .code { font-family: ui-monospace, monospace; font-size: 12px; color: #5b6475; }
.empty { color: #5b6475; font-style: italic; }
table.rec { width: auto; min-width: 32rem; } table.rec th { background: none; font-weight: 400; }
table.rec tr.total th, table.rec tr.total td { font-weight: 600; border-top: 2px solid #1d2433; }
.ok { color: #1b6e3a; font-size: .85rem; margin-left: .5rem; }
.bad { color: #a12020; font-size: .85rem; margin-left: .5rem; }
.note { color: #a15c00; }
.new { background: #fff3c4; color: #6b5200; padding: 0 .3rem; border-radius: 3px; font-size: .8rem; }
td:nth-child(2), td.num { white-space: nowrap; }
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
            elif key == "category":
                rule = f' <span class="code">({_text(row["rule"])})</span>' if row.get("rule") else ""
                cells.append(f"<td>{_text(row[key]) or '<em>uncategorized</em>'}{rule}</td>"
                             if row["kind"] == "bank_unmatched" else "<td></td>")  # fmt: skip
            elif key == "change":
                cells.append('<td><span class="new">new</span></td>' if row[key] == "new" else "<td></td>")
            elif key == "score":
                cells.append(f'<td class="num">{"" if row[key] is None else f"{row[key]:.2f}"}</td>')
            else:
                cells.append(f"<td>{_text(row[key])}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _ageing(exceptions: pl.DataFrame) -> str:
    """Open bank and ledger rows per account and age bucket: count and total."""
    rows = exceptions.filter(pl.col("kind") != "suggested")
    if rows.is_empty():
        return '<p class="empty">Nothing open.</p>'
    grouped = (
        rows.group_by("account_id", "currency", "kind", "age_bucket")
        .agg(pl.len().alias("n"), pl.col("amount_minor").sum().alias("total"))
        .sort("account_id", "kind")
    )
    head = (
        "<tr><th>Account</th><th>Open</th>" + "".join(f'<th class="num">{b} days</th>' for b in AGE_BUCKETS) + "</tr>"
    )
    body = []
    for (account, currency, kind), part in grouped.group_by(["account_id", "currency", "kind"], maintain_order=True):
        cells = {r["age_bucket"]: r for r in part.iter_rows(named=True)}
        row = f"<td>{_text(account)}</td><td>{escape(KIND_TEXT.get(str(kind), str(kind)))}</td>"
        for bucket in AGE_BUCKETS:
            hit = cells.get(bucket)
            row += (
                f'<td class="num" data-age="{_text(account)}:{kind}:{bucket}">{hit["n"]} · '
                f"{escape(format_minor(hit['total'], str(currency)))}</td>"
                if hit
                else '<td class="num">–</td>'
            )
        body.append(f"<tr>{row}</tr>")
    return f"<table><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>"


KIND_TEXT = {"bank_unmatched": "bank rows not in the books", "ledger_unmatched": "book entries not at the bank"}


def _money(amount: int | None, currency: str) -> str:
    return "" if amount is None else f"{format_minor(amount, currency)} {currency}"


def _statement(st: ReconciliationStatement) -> str:
    cur = st.currency
    as_of = st.as_of.isoformat() if st.as_of else "(no statement yet)"
    lines = [
        ("Balance per bank statement", st.bank_balance, "bank_balance", ""),
        ("+ Deposits in transit", st.deposits_in_transit, "deposits_in_transit", ""),
        ("− Outstanding checks and payments", st.outstanding_payments, "outstanding_payments", ""),
        ("= Adjusted bank balance", st.adjusted_bank_balance, "adjusted_bank_balance", "total"),
        ("Balance per books", st.book_balance, "book_balance", ""),
        ("+ Credits the books lack (interest, receipts)", st.credits_not_in_books, "credits_not_in_books", ""),
        ("− Charges the books lack (fees, payments)", st.charges_not_in_books, "charges_not_in_books", ""),
        ("+ Differences on matched rows", st.matched_differences, "matched_differences", ""),
        ("= Adjusted book balance", st.adjusted_book_balance, "adjusted_book_balance", "total"),
        ("Difference", st.difference, "difference", "total diff"),
    ]
    rows = "".join(
        f'<tr class="{cls}"><th>{escape(label)}</th>'
        f'<td class="num" data-figure="{key}">{escape(_money(value, cur))}</td></tr>'
        for label, value, key, cls in lines
    )
    notes = "".join(f'<p class="note">{_text(n)}</p>' for n in st.notes)
    ok = st.difference == 0
    badge = (
        '<span class="ok">reconciled</span>'
        if ok
        else '<span class="bad">not reconciled</span>'
        if st.difference is not None
        else '<span class="bad">incomplete</span>'
    )
    return (
        f'<section class="statement" data-account="{_text(st.account_id)}">'
        f"<h3>{_text(st.account_id)} as of {escape(as_of)} {badge}</h3>"
        f'<table class="rec">{rows}</table>{notes}</section>'
    )


def render(
    exceptions: pl.DataFrame,
    summary: pl.DataFrame,
    *,
    statements: list[ReconciliationStatement],
    resolved: pl.DataFrame,
    generated_at: datetime,
    title: str,
) -> str:
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
        ("reason_text", "Why open"), ("category", "Category (rule)"), ("age_days", "Days"), ("change", ""),
        ("source", "Source"),
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
        (
            "Possible duplicates",
            "duplicate",
            [("account_id", "Account"), ("date", "Date"), ("amount", "Amount"), ("description", "Description"),
             ("explanation", "Why flagged"), ("source", "Source")],
            "No row repeats another.",
        ),
    ]  # fmt: skip
    counts = exception_counts(exceptions)
    # headings count what a person reviews: a suggested 1:N match is one, though it shows a line per link
    heading_counts = {
        "suggested": counts.suggested, "bank_unmatched": counts.bank_open,
        "ledger_unmatched": counts.ledger_open, "duplicate": counts.duplicates,
    }  # fmt: skip
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">Generated {generated_at:%Y-%m-%d %H:%M} UTC · '
        f"{counts.suggested} suggested matches · {counts.bank_open} bank rows open · "
        f"{counts.ledger_open} book entries open · {counts.duplicates} possible duplicates · "
        f'<span data-figure="new_items">{int((exceptions["change"] == "new").sum())}</span> new and '
        f'<span data-figure="resolved_items">{resolved.height}</span> resolved since the previous report</p>',
        "<h2>Bank reconciliation</h2>",
        *(_statement(st) for st in statements),
        "<h2>Accounts</h2>",
        summary_table,
        "<h2>Ageing of open items</h2>",
        _ageing(exceptions),
    ]
    for heading, kind, columns, empty in sections:
        rows = exceptions.filter(pl.col("kind") == kind)
        parts.append(f'<h2 id="{kind}">{escape(heading)} ({heading_counts[kind]})</h2>')
        parts.append(_table(rows.with_columns(pl.col("date").cast(pl.String)), columns, empty))
    parts.append(f'<h2 id="resolved">Resolved since the previous report ({resolved.height})</h2>')
    parts.append(
        _table(
            resolved.with_columns(
                pl.col("item_date").cast(pl.String).alias("date"),
                minor_to_decimal_expr(pl.col("amount_minor"), pl.col("currency")).alias("amount"),
            )
            if not resolved.is_empty()
            else resolved,
            [
                ("account_id", "Account"),
                ("kind", "Was"),
                ("date", "Date"),
                ("amount", "Amount"),
                ("description", "Description"),
            ],
            "Nothing was resolved since the previous report.",
        )
    )
    parts.append("</body></html>")
    return "\n".join(parts)
