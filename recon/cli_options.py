"""Options shared by the command modules (the `recon` group lives in `recon.cli`, which nothing imports)."""

from __future__ import annotations

from pathlib import Path

import click

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=Path("recon.toml"),
    show_default=True,
    help="the recon.toml to use",
)
