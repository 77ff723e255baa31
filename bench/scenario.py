"""Seeded synthetic reconciliation problems with ground truth, for the matching benchmark.

    python -m bench.scenario 10000      # prints the mix of a 10k problem

Four business accounts over a year. Each real-world event becomes bank rows and/or
ledger rows carrying the same `truth` group id:

- customer receipts by ACH (invoice number on the bank side half the time),
- card purchases with noisy bank text (card masks, dates, truncated names),
- recurring identical amounts: subscriptions and memberships at a few price points,
  payroll where several employees get the same net pay on the same day,
- payouts net of fees (the books hold the gross amount),
- checks clearing 2-60 days after they were written,
- batched deposits: one bank row for 2-4 ledger receipts (1:N),
- identical twins (two same coffees on one day, on both sides),
- bank-only fees and interest, and ledger items still outstanding.

Bank rows post 0-5 days after the books (a few 1-2 days before). Row ids are
shuffled so that no row order gives the answer away.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from recon.model import BANK_TRANSACTIONS, LEDGER_ENTRIES

START = date(2025, 1, 1)
DAYS = 365
ACCOUNTS = ["ops", "payroll", "sales", "cards"]
CUSTOMERS = [f"{a} {b}" for a in ("Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay",
             "Soylent", "Tyrell", "Cyberdyne", "Wonka", "Oscorp", "Pied Piper", "Massive", "Dunder")
             for b in ("Corp", "Inc", "LLC", "Foods", "Health", "Labs")]  # fmt: skip
VENDORS = [f"{a} {b}" for a in ("Blue Bottle", "Shell", "Staples", "Home Depot", "Delta", "Uber", "Lyft", "Amazon",
           "Office Depot", "Costco", "Target", "FedEx", "UPS", "Hilton", "Marriott", "Chevron", "Walgreens")
           for b in ("", "Store", "Market", "Supply")]  # fmt: skip
SUBSCRIPTIONS = ["Adobe Creative Cloud", "Google Workspace", "Slack", "GitHub", "Zoom", "Dropbox", "Notion",
                 "Atlassian", "Figma", "HubSpot"]  # fmt: skip
PRICE_POINTS = np.array([999, 1999, 2100, 5000, 5499, 7200, 8750, 9900, 12000])

KIND_1TO1, KIND_1TON = "1:1", "1:N"


@dataclass(frozen=True, slots=True)
class Scenario:
    """A generated problem.

    Attributes:
      bank, ledger: rows in recon's normalized schema, plus a `truth` column (group id).
      truth: one row per group with at least one row on each side: truth, kind (1:1 | 1:N),
        expected_links (how many links a perfect matcher makes for it).
    """

    bank: pl.DataFrame
    ledger: pl.DataFrame
    truth: pl.DataFrame


class _Builder:
    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.bank: list[pl.DataFrame] = []
        self.ledger: list[pl.DataFrame] = []
        self.next_group = 0

    def groups(self, n: int) -> np.ndarray:
        ids = np.arange(self.next_group, self.next_group + n)
        self.next_group += n
        return ids

    def lag(self, n: int) -> np.ndarray:
        late = self.rng.choice([0, 1, 1, 2, 2, 3, 4, 5], size=n)
        early = self.rng.choice([-1, -2], size=n)
        return np.where(self.rng.random(n) < 0.05, early, late)

    def accounts(self, n: int) -> np.ndarray:
        return self.rng.choice(ACCOUNTS, size=n)

    def book_days(self, n: int) -> np.ndarray:
        return self.rng.integers(0, DAYS, size=n)

    def add(self, side: str, **columns: object) -> None:
        frame = pl.DataFrame(
            {
                k: pl.Series(k, v.tolist(), dtype=pl.String) if isinstance(v, np.ndarray) and v.dtype == object else v
                for k, v in columns.items()
            }
        )
        (self.bank if side == "bank" else self.ledger).append(frame)


def _pick(rng: np.random.Generator, names: list[str], n: int) -> np.ndarray:
    return np.array(names, dtype=object)[rng.integers(0, len(names), size=n)]


def _receipts(b: _Builder, n: int) -> None:
    rng = b.rng
    g, acct, day = b.groups(n), b.accounts(n), b.book_days(n)
    customer = _pick(rng, CUSTOMERS, n)
    amount = rng.integers(20_000, 2_000_000, size=n)
    invoice = rng.permutation(n) + 100_000
    with_invoice = rng.random(n) < 0.5
    upper = np.char.upper(customer.astype(str))
    short = np.array([c[: rng.integers(6, 16)] for c in upper], dtype=object)
    bank_text = np.where(
        with_invoice,
        "ACH CREDIT " + upper + " ORIG CO NAME:" + upper + " INV-" + invoice.astype(str),
        "ACH CREDIT " + short + " PPD ID " + rng.integers(10**9, 10**10, size=n).astype(str),
    )
    keep_bank = rng.random(n) >= 0.05  # outstanding: in the books, not yet at the bank
    b.add("bank", truth=g[keep_bank], account_id=acct[keep_bank], day=(day + b.lag(n))[keep_bank],
          amount_minor=amount[keep_bank], description=bank_text[keep_bank])  # fmt: skip
    b.add("ledger", truth=g, account_id=acct, day=day, amount_minor=amount,
          description="Payment received - " + customer.astype(str), counterparty=customer.astype(str),
          reference="INV-" + invoice.astype(str))  # fmt: skip


def _purchases(b: _Builder, n: int) -> None:
    rng = b.rng
    g, acct, day = b.groups(n), b.accounts(n), b.book_days(n)
    vendor = np.char.strip(_pick(rng, VENDORS, n).astype(str))
    amount = -rng.integers(300, 300_000, size=n)
    lag = b.lag(n)
    upper = np.char.upper(vendor)
    noisy = np.array([v.replace(" ", "")[: rng.integers(5, 14)] if rng.random() < 0.3 else v for v in upper])
    mask = "XXXX" + rng.integers(1000, 9999, size=n).astype(str)
    month_day = ((day + lag) % 28 + 1).astype(str)
    bank_text = "POS DEBIT " + noisy + " " + mask + " 0" + ((day // 31) % 9 + 1).astype(str) + "/" + month_day
    keep_bank = rng.random(n) >= 0.05
    b.add("bank", truth=g[keep_bank], account_id=acct[keep_bank], day=(day + lag)[keep_bank],
          amount_minor=amount[keep_bank], description=bank_text[keep_bank])  # fmt: skip
    b.add("ledger", truth=g, account_id=acct, day=day, amount_minor=amount,
          description=vendor.astype(object) + " purchase", counterparty=vendor.astype(object),
          reference=np.full(n, None, dtype=object))  # fmt: skip


def _recurring(b: _Builder, n: int) -> None:
    """Monthly identical amounts: the firm's own subscriptions, and members paying dues at a few price points.

    A firm has one subscription per (vendor, price) and account; members are many, and
    half of the bank rows carry their member number.
    """
    rng = b.rng
    combos = [(a, s, p) for a in ACCOUNTS for s in SUBSCRIPTIONS for p in PRICE_POINTS[:5]]
    subs = [combos[i] for i in rng.permutation(len(combos))[: max(1, min(len(combos), n // 48))]]
    members = max(1, n // 12 - len(subs))
    first_names = ["Ana", "Bo", "Cy", "Dee", "Eve", "Finn", "Gus", "Hal", "Ivy", "Jo", "Kai", "Lu", "Mo", "Ned"]
    last_names = ["Smith", "Jones", "Brown", "Garcia", "Miller", "Davis", "Lopez", "Wilson", "Moore", "Clark"]
    member_name = (
        _pick(rng, first_names, members).astype(str) + " " + _pick(rng, last_names, members).astype(str)
    ).astype(object)
    acct = np.concatenate([np.array([a for a, _, _ in subs], dtype=object), b.accounts(members)])
    price = np.concatenate(
        [-np.array([p for _, _, p in subs]), PRICE_POINTS[rng.integers(0, len(PRICE_POINTS), size=members)]]
    )
    name = np.concatenate([np.array([s for _, s, _ in subs], dtype=object), member_name])
    number = np.concatenate([np.full(len(subs), None, dtype=object),
                             (rng.permutation(members) + 10_000_000).astype(str).astype(object)])  # fmt: skip
    payers = len(price)
    first = rng.integers(0, 28, size=payers)
    payer = np.repeat(np.arange(payers), 12)
    day = first[payer] + np.tile(np.arange(12), payers) * 30
    count = len(payer)
    g = b.groups(count)
    upper = np.char.upper(name[payer].astype(str))
    shows_number = (rng.random(count) < 0.5) & (price[payer] > 0)
    bank_text = np.where(
        price[payer] < 0,
        "RECURRING " + upper,
        np.where(shows_number, "DEPOSIT DUES " + upper + " MBR " + number[payer].astype(str), "DEPOSIT DUES " + upper),
    )
    is_member = price[payer] > 0
    b.add("bank", truth=g, account_id=acct[payer], day=day + b.lag(count), amount_minor=price[payer],
          description=bank_text)  # fmt: skip
    b.add("ledger", truth=g, account_id=acct[payer], day=day, amount_minor=price[payer],
          description=np.where(is_member, "Membership dues - ", "Subscription - ").astype(object) + name[payer],
          counterparty=name[payer], reference=number[payer])  # fmt: skip


def _payroll(b: _Builder, n: int) -> None:
    """Biweekly net pay: employees with the same pay share one interchangeable group per pay day."""
    rng = b.rng
    runs = max(1, n // 20)
    day = rng.integers(0, DAYS, size=runs)
    for run in range(runs):
        employees = rng.integers(2, 6)
        g = b.groups(1)
        pay = -int(rng.choice([180_000, 210_000, 250_000]))
        names = _pick(rng, ["Ana", "Bo", "Cy", "Dee", "Eve", "Finn", "Gus", "Hal"], employees)
        b.add("bank", truth=np.repeat(g, employees), account_id=np.repeat("payroll", employees),
              day=np.repeat(day[run] + 1, employees), amount_minor=np.repeat(pay, employees),
              description=np.repeat("GUSTO PAYROLL NET PAY", employees))  # fmt: skip
        b.add("ledger", truth=np.repeat(g, employees), account_id=np.repeat("payroll", employees),
              day=np.repeat(day[run], employees), amount_minor=np.repeat(pay, employees),
              description="Net pay - " + names.astype(object), counterparty=np.repeat("Gusto", employees),
              reference=np.full(employees, None, dtype=object))  # fmt: skip


def _payouts_net_of_fees(b: _Builder, n: int) -> None:
    rng = b.rng
    g, acct, day = b.groups(n), b.accounts(n), b.book_days(n)
    gross = rng.integers(50_000, 900_000, size=n)
    net = gross - (gross * 29 // 1000 + 30)
    b.add("bank", truth=g, account_id=acct, day=day + 1 + rng.integers(0, 2, size=n), amount_minor=net,
          description="STRIPE TRANSFER ST-" + rng.integers(100000, 999999, size=n).astype(str))  # fmt: skip
    b.add("ledger", truth=g, account_id=acct, day=day, amount_minor=gross, description=np.repeat("Stripe payout", n),
          counterparty=np.repeat("Stripe", n), reference=np.full(n, None, dtype=object))  # fmt: skip


def _checks(b: _Builder, n: int) -> None:
    rng = b.rng
    g, acct, day = b.groups(n), b.accounts(n), b.book_days(n)
    number = (rng.permutation(n) + 1001).astype(str)
    amount = -rng.integers(5_000, 500_000, size=n)
    vendor = _pick(rng, VENDORS, n).astype(str)
    cleared = rng.random(n) >= 0.08
    b.add(
        "bank",
        truth=g[cleared],
        account_id=acct[cleared],
        day=(day + rng.integers(2, 61, size=n))[cleared],
        amount_minor=amount[cleared],
        description=("CHECK " + number)[cleared],
        check_number=number[cleared],
    )
    b.add("ledger", truth=g, account_id=acct, day=day, amount_minor=amount,
          description="Check " + number + " - " + vendor, counterparty=vendor.astype(object),
          reference=number.astype(object))  # fmt: skip


def _batched_deposits(b: _Builder, n: int) -> None:
    rng = b.rng
    g, acct, day = b.groups(n), b.accounts(n), b.book_days(n)
    size = rng.integers(2, 5, size=n)
    member = np.repeat(np.arange(n), size)
    amount = rng.integers(5_000, 400_000, size=len(member))
    total = np.bincount(member, weights=amount).astype(np.int64)
    b.add("bank", truth=g, account_id=acct, day=day + rng.integers(0, 3, size=n), amount_minor=total,
          description=np.repeat("DEPOSIT BRANCH MOBILE", n))  # fmt: skip
    customer = _pick(rng, CUSTOMERS, len(member)).astype(object)
    b.add("ledger", truth=g[member], account_id=acct[member], day=day[member], amount_minor=amount,
          description="Check received - " + customer, counterparty=customer,
          reference=np.full(len(member), None, dtype=object))  # fmt: skip


def _twins(b: _Builder, n: int) -> None:
    rng = b.rng
    pairs = max(1, n // 2)
    g, acct, day = b.groups(pairs), b.accounts(pairs), b.book_days(pairs)
    amount = -rng.choice([475, 550, 1250], size=pairs)
    for side in ("bank", "ledger"):
        columns: dict[str, object] = {
            "truth": np.repeat(g, 2), "account_id": np.repeat(acct, 2), "day": np.repeat(day, 2),
            "amount_minor": np.repeat(amount, 2),
        }  # fmt: skip
        if side == "bank":
            b.add("bank", **columns, description=np.repeat("POS DEBIT BLUE BOTTLE COFFEE", 2 * pairs))
        else:
            b.add(
                "ledger",
                **columns,
                description=np.repeat("Coffee", 2 * pairs),
                counterparty=np.repeat("Blue Bottle", 2 * pairs),
                reference=np.full(2 * pairs, None, dtype=object),
            )


def _bank_only(b: _Builder, n: int) -> None:
    rng = b.rng
    g, acct, day = b.groups(n), b.accounts(n), b.book_days(n)
    fee = rng.random(n) < 0.6
    b.add(
        "bank",
        truth=g,
        account_id=acct,
        day=day,
        amount_minor=np.where(fee, -rng.choice([1500, 3500, 2500], size=n), rng.integers(1, 5000, size=n)),
        description=np.where(fee, "MONTHLY SERVICE FEE", "INTEREST PAYMENT"),
    )


MIX = {  # share of the bank rows
    _receipts: 0.25, _purchases: 0.25, _recurring: 0.15, _payroll: 0.05, _payouts_net_of_fees: 0.04,
    _checks: 0.04, _batched_deposits: 0.03, _twins: 0.02, _bank_only: 0.05,
}  # fmt: skip


def _finish(frames: list[pl.DataFrame], table: str, rng: np.random.Generator) -> pl.DataFrame:
    frame = pl.concat(frames, how="diagonal_relaxed")
    ids = rng.permutation(frame.height)
    prefix = "B" if table == "bank" else "L"
    frame = frame.with_columns(
        (pl.lit(prefix) + pl.Series(ids).cast(pl.String).str.zfill(9)).alias(
            "txn_id" if table == "bank" else "entry_id"
        ),
        (pl.lit(START) + pl.duration(days=pl.col("day"))).alias("posted_date"),
        pl.lit("USD").alias("currency"),
        pl.lit(False).alias("pending"),
        pl.lit("bench").alias("source_file"),
        pl.lit("bench").alias("batch_id"),
    )
    schema = BANK_TRANSACTIONS if table == "bank" else LEDGER_ENTRIES
    return schema.conform(frame).with_columns(frame["truth"].cast(pl.Int64))


def generate(n: int, *, seed: int = 7) -> Scenario:
    """A problem with about `n` bank rows (and about as many ledger rows)."""
    rng = np.random.default_rng(seed)
    builder = _Builder(rng)
    for make, share in MIX.items():
        make(builder, max(1, int(n * share)))
    bank = _finish(builder.bank, "bank", rng)
    ledger = _finish(builder.ledger, "ledger", rng)
    sizes = (
        bank.group_by("truth").agg(pl.len().alias("n_bank"))
        .join(ledger.group_by("truth").agg(pl.len().alias("n_ledger")), on="truth")
    )  # fmt: skip
    truth = sizes.select(
        "truth",
        pl.when((pl.col("n_bank") == 1) & (pl.col("n_ledger") > 1)).then(pl.lit(KIND_1TON)).otherwise(pl.lit(KIND_1TO1))
        .alias("kind"),
        pl.when((pl.col("n_bank") == 1) & (pl.col("n_ledger") > 1)).then(pl.col("n_ledger"))
        .otherwise(pl.min_horizontal("n_bank", "n_ledger")).alias("expected_links"),
    )  # fmt: skip
    return Scenario(bank, ledger, truth)


if __name__ == "__main__":
    scenario = generate(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
    print(f"bank rows {scenario.bank.height}, ledger rows {scenario.ledger.height}")
    print(scenario.truth.group_by("kind").agg(pl.len(), pl.col("expected_links").sum()))
