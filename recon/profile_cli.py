"""`recon profile ...`: work with bank CSV profiles (see `importers.csv_profile`).

`recon profile guess FILE` prints a proposed profile for an unknown export, and
checks it on the file itself, so that what it prints at least reads that file.
"""

from __future__ import annotations

from pathlib import Path

import click

from importers.csv_bank import CsvBankImporter
from importers.csv_guess import GuessError, guess_profile
from importers.csv_profile import builtin_profile_names, parse_profile
from recon.errors import ConfigError, InputError

__all__ = ["profile"]


@click.group()
def profile() -> None:
    """Bank CSV profiles: how a bank writes its CSV export."""


@profile.command()
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
def guess(file: Path) -> None:
    """Propose a profile (TOML on stdout) for the CSV export FILE."""
    try:
        proposal = guess_profile(file.read_bytes())
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror}", path=file) from None
    except GuessError as exc:
        raise InputError(f"cannot propose a profile: {exc}", path=file) from None
    text = proposal.to_toml()
    try:
        checked = CsvBankImporter(parse_profile(text, source="(proposal)", name=file.stem)).extract(
            file, currency="USD"
        )
    except ConfigError as exc:  # pragma: no cover - the guesser writes only what the profile accepts
        raise InputError(f"the proposed profile is invalid: {exc}", path=file) from None
    click.echo(text, nl=False)
    if checked.problems:
        click.echo(f"# with this profile the file has {len(checked.problems)} problems, the first:", err=True)
        click.echo(f"#   {checked.problems[0]}", err=True)
    else:
        click.echo(f"# this profile reads {checked.rows.height} rows of {file.name} without a problem", err=True)


@profile.command("list")
def list_() -> None:
    """The built-in profiles, by name (use as profile = "NAME" in a source)."""
    for name in builtin_profile_names():
        click.echo(name)
