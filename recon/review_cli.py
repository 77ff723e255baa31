"""`recon review`, `recon explain` and `recon undo`: people's decisions from the command line.

`recon review` alone serves the review page; its sub-commands make the same
decisions for scripts. Every decision is one transaction and goes to
`review_decisions` with who (`--by`, the OS user by default), when and why (`--note`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from recon import review as decide
from recon.batch_undo import undo_batch
from recon.config import load_config
from recon.decisions import (
    default_decider,
    dismiss_duplicates,
    find_decision,
    hand_match_difference,
    mark_to_book,
    undo_consequence,
    undo_decision,
)
from recon.errors import UserError
from recon.explain import explain_match, render_explanation
from recon.money import format_minor
from recon.person_categories import categorize_rows
from recon.store import Store, open_store

DEFAULT_PORT = 8765


def _config_option(default: Path | None) -> Any:
    return click.option(
        "--config",
        "config_path",
        type=click.Path(path_type=Path),
        default=default,
        show_default=default is not None,
        help="the recon.toml to use" + ("" if default else " (default: the one given to 'recon review')"),
    )


by_option = click.option("--by", default=default_decider, show_default="the OS user", help="who decides")
decider_option = click.option(
    "--by", default=None, show_default="the --by of 'recon review', else the OS user", help="who decides"
)
note_option = click.option("--note", help="why (kept with the decision)")


def _open(config_path: Path) -> Store:
    """The config's store, which must exist: a decision is about rows a run stored."""
    config = load_config(config_path)
    if not config.store_path.exists():
        raise UserError(f"{config.store_path}: no store yet; run 'recon run --config {config_path}' first")
    return open_store(config.store_path)


def _config_of(ctx: click.Context, given: Path | None) -> Path:
    if given is not None:
        return given
    parent = ctx.find_root().meta.get("recon.review.config")
    return Path(parent) if parent else Path("recon.toml")


def _decider_of(ctx: click.Context, given: str | None) -> str:
    return given or str(ctx.find_root().meta.get("recon.review.by") or default_decider())


def _split(values: tuple[str, ...]) -> list[str]:
    """`--bank A --bank B` or `--bank A,B`: the ids, in order."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _serve(config_path: Path, host: str, port: int, by: str) -> None:
    from recon.review_web.server import serve  # the web server loads only when serving

    config = load_config(config_path)
    if not config.store_path.exists():
        raise UserError(f"{config.store_path}: no store yet; run 'recon run --config {config_path}' first")
    try:
        serve(config.store_path, host=host, port=port, by=by, announce=click.echo)
    except OSError as exc:
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another --port") from None
    except KeyboardInterrupt:
        click.echo("review server stopped", err=True)


def _listen_options(command: Any) -> Any:
    command = click.option(
        "--host", default="127.0.0.1", show_default=True,
        help="address to listen on; anything but loopback exposes the page (with its token) to the network",
    )(command)  # fmt: skip
    return click.option("--port", type=int, default=DEFAULT_PORT, show_default=True, help="0 picks a free port")(
        command
    )


@click.group(invoke_without_command=True)
@_config_option(Path("recon.toml"))
@_listen_options
@by_option
@click.pass_context
def review(ctx: click.Context, config_path: Path, host: str, port: int, by: str) -> None:
    """Review exceptions: serve the review page (the default), or decide from a script."""
    ctx.find_root().meta["recon.review.config"] = str(config_path)
    ctx.find_root().meta["recon.review.by"] = by
    if ctx.invoked_subcommand is None:
        _serve(config_path, host, port, by)


@review.command()
@_config_option(None)
@_listen_options
@decider_option
@click.pass_context
def serve(ctx: click.Context, config_path: Path | None, host: str, port: int, by: str | None) -> None:
    """Serve the review page on a local address, protected by a token printed at start."""
    _serve(_config_of(ctx, config_path), host, port, _decider_of(ctx, by))


@review.command()
@click.argument("match_id")
@_config_option(None)
@decider_option
@note_option
@click.pass_context
def confirm(ctx: click.Context, match_id: str, config_path: Path | None, by: str | None, note: str | None) -> None:
    """Accept a suggested (or auto) match: no later run changes it."""
    by = _decider_of(ctx, by)
    with _open(_config_of(ctx, config_path)) as store:
        decided = decide.confirm(store, match_id, by=by, note=note)
    if decided.already:
        click.echo(f"match {match_id} was already confirmed; nothing changed")
    else:
        click.echo(f"match {match_id} confirmed by {by}{decided.replaced_text()}")


@review.command()
@click.argument("match_id")
@_config_option(None)
@decider_option
@note_option
@click.pass_context
def reject(ctx: click.Context, match_id: str, config_path: Path | None, by: str | None, note: str | None) -> None:
    """Reject a match: its rows are open again and the same pairing is never proposed again."""
    by = _decider_of(ctx, by)
    with _open(_config_of(ctx, config_path)) as store:
        decided = decide.reject(store, match_id, by=by, note=note)
    click.echo(f"match {match_id} was already rejected; nothing changed" if decided.already
               else f"match {match_id} rejected by {by}")  # fmt: skip
    if decided.written_back:
        click.echo(f"note: {decided.written_back}", err=True)


@review.command("match")
@click.option("--bank", "bank_ids", multiple=True, required=True, help="bank row id (txn_id); repeat or comma-separate")
@click.option("--ledger", "ledger_ids", multiple=True, required=True, help="ledger row id (entry_id); repeat too")
@click.option("--allow-difference", is_flag=True, help="save even when the bank and ledger totals differ")
@_config_option(None)
@decider_option
@note_option
@click.pass_context
def match_rows(
    ctx: click.Context, bank_ids: tuple[str, ...], ledger_ids: tuple[str, ...], allow_difference: bool,
    config_path: Path | None, by: str | None, note: str | None,
) -> None:  # fmt: skip
    """Match bank rows to ledger rows by hand (1:1, 1:N, N:1)."""
    by = _decider_of(ctx, by)
    banks, ledgers = _split(bank_ids), _split(ledger_ids)
    with _open(_config_of(ctx, config_path)) as store:
        difference, currency = hand_match_difference(store, banks, ledgers)
        if difference and not allow_difference:
            raise UserError(
                f"the rows do not add up: bank - ledger = {format_minor(difference, currency)} {currency}; "
                "pass --allow-difference to match them anyway"
            )
        decided = decide.match_by_hand(store, banks, ledgers, by=by, note=note)
    click.echo(
        f"match {decided.match_id} saved by {by}: {len(banks)} bank, {len(ledgers)} ledger row(s)"
        f"{decided.replaced_text()}"
    )


@review.command()
@click.argument("bank_ids", nargs=-1, required=True)
@_config_option(None)
@decider_option
@note_option
@click.pass_context
def book(
    ctx: click.Context, bank_ids: tuple[str, ...], config_path: Path | None, by: str | None, note: str | None
) -> None:
    """Mark bank rows (fees, interest) to be booked by a rule rather than matched."""
    by = _decider_of(ctx, by)
    rows = _split(bank_ids)
    with _open(_config_of(ctx, config_path)) as store:
        decision_id = mark_to_book(store, rows, by=by, note=note)
    click.echo(f"{len(rows)} bank row(s) marked to book (decision {decision_id})")


@review.command("categorize")
@click.argument("bank_ids", nargs=-1, required=True)
@click.option("--category", required=True, help="the GL account the rows are booked to, e.g. 'Expenses:Office'")
@click.option("--payee", help="the payee the entry gets")
@click.option("--memo", help="a memo for the entry")
@_config_option(None)
@decider_option
@note_option
@click.pass_context
def categorize(
    ctx: click.Context, bank_ids: tuple[str, ...], category: str, payee: str | None, memo: str | None,
    config_path: Path | None, by: str | None, note: str | None,
) -> None:  # fmt: skip
    """Say where open bank rows are booked: no rule changes it; write-back books it; 'recon undo' takes it back."""
    by = _decider_of(ctx, by)
    rows = _split(bank_ids)
    with _open(_config_of(ctx, config_path)) as store:
        done = categorize_rows(store, rows, category=category, payee=payee, memo=memo, by=by, note=note)
    click.echo(done.message(category.strip()))


@review.command("not-duplicate")
@click.argument("row_ids", nargs=-1, required=True)
@_config_option(None)
@decider_option
@note_option
@click.pass_context
def not_duplicate(
    ctx: click.Context, row_ids: tuple[str, ...], config_path: Path | None, by: str | None, note: str | None
) -> None:
    """Dismiss duplicate flags: these rows are real transactions of their own."""
    by = _decider_of(ctx, by)
    rows = _split(row_ids)
    with _open(_config_of(ctx, config_path)) as store:
        decision_id = dismiss_duplicates(store, rows, by=by, note=note)
    click.echo(f"{len(rows)} duplicate flag(s) dismissed (decision {decision_id})")


@click.command()
@click.argument("match_id")
@_config_option(Path("recon.toml"))
def explain(match_id: str, config_path: Path) -> None:
    """Show how a match was made: score and reasons, its rows, people's decisions, the run."""
    config = load_config(config_path)
    with open_store(config.store_path, read_only=True) as store:
        click.echo(render_explanation(explain_match(store, match_id)))


@click.command()
@click.argument("decision_id", required=False)
@click.option("--batch", "batch_id", help="reverse this whole import batch instead (import_batches.batch_id)")
@_config_option(Path("recon.toml"))
@by_option
@note_option
def undo(decision_id: str | None, batch_id: str | None, config_path: Path, by: str, note: str | None) -> None:
    """Reverse a decision (logged as a new decision), or with --batch a whole import batch."""
    if (decision_id is None) == (batch_id is None):
        raise UserError("give either a DECISION_ID or --batch BATCH_ID")
    with _open(config_path) as store:
        if batch_id is not None:
            done = undo_batch(store, batch_id, by=by, note=note)
            click.echo(
                f"import batch {batch_id} ({done.source_file}) undone: {done.rows_removed} {done.side} rows and "
                f"{done.matches_removed} engine matches removed (decision {done.decision_id})"
            )
            return
        assert decision_id is not None
        new_id = undo_decision(store, decision_id, by=by, note=note)
        undone = find_decision(store, decision_id)
    click.echo(f"decision {decision_id} undone by {by} (decision {new_id}){undo_consequence(undone)}")
