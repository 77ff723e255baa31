"""`recon rules check | test | suggest`: the rule-file author's tools. None of them changes the store.

Rule files are the FILES given, else those the config's `[rules] paths` name. The
config (`--config`, default ./recon.toml when no FILES are given) supplies the
account ids rules may name and the store the history comes from.

Exit codes: 0 all good; 1 `test`: an example failed; 2 a rule file is invalid, or
`check` found a rule that can never apply (with `--strict`: any finding).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from recon.categorize.dryrun import DryRun, dry_run
from recon.categorize.examples import example_rows, run_examples
from recon.categorize.lint import lint
from recon.categorize.rows import history_rows
from recon.categorize.rulefile import RuleSet, load_rule_files, load_rules, shown_path
from recon.categorize.suggest import suggest_rules, suggestions_yaml
from recon.config import Config, load_config
from recon.errors import ReconError, UserError
from recon.store import Store, open_store
from recon.store.migrations import LATEST_VERSION, current_version

__all__ = ["rules"]

DEFAULT_CONFIG = Path("recon.toml")
PROGRESS_FROM_RULES = 1000  # checks of this many rules say on stderr what they are doing


@dataclass
class _Setup:
    config: Config | None
    ruleset: RuleSet
    warnings: list[str]

    @property
    def unchecked(self) -> str:
        """What could not be checked for want of a config ('' when there is one)."""
        if self.config is not None:
            return ""
        return "account names (account, transfer_to) not checked: no config (give --config recon.toml)"

    @property
    def default_account(self) -> str:
        return self.config.accounts[0].id if self.config else "example"

    @property
    def currencies(self) -> dict[str, str]:
        return {a.id: a.currency for a in self.config.accounts} if self.config else {}


def _setup(config_path: Path | None, files: tuple[Path, ...]) -> _Setup:
    if config_path is None and not files:
        config_path = DEFAULT_CONFIG
    config = load_config(config_path) if config_path is not None else None
    accounts = [a.id for a in config.accounts] if config else None
    if files:
        missing = [str(f) for f in files if not f.is_file()]
        if missing:
            raise UserError(f"rule file not found: {', '.join(missing)}")
        return _Setup(config, load_rule_files(list(files), accounts=accounts), [])
    assert config is not None
    if not config.rules.paths:
        raise UserError(f'{config_path}: no rule files: add [rules] paths = ["rules/*.yaml"], or give FILES')
    ruleset, warnings = load_rules(config)
    return _Setup(config, ruleset, warnings)


def _open_history_store(config: Config | None) -> Store | None:
    """The store, read-only, when there is one of this recon's schema; else None (with a note why)."""
    if config is None:
        return None
    if not config.store_path.exists():
        click.echo(f"note: no store at {config.store_path} yet; only the rule files are checked", err=True)
        return None
    store = open_store(config.store_path, read_only=True)
    if current_version(store.con) < LATEST_VERSION:
        store.close()
        click.echo("note: the store predates this recon; run 'recon run' once to use its history", err=True)
        return None
    return store


def _summary_line(setup: _Setup) -> str:
    files = len(setup.ruleset.files)
    return f"{len(setup.ruleset.rules)} rules in {files} file{'s' if files != 1 else ''}"


config_option = click.option(
    "--config", "config_path", type=click.Path(path_type=Path), default=None,
    help="the recon.toml to use (default: ./recon.toml when no FILES are given)",
)  # fmt: skip
files_argument = click.argument("files", nargs=-1, type=click.Path(path_type=Path))


@click.group("rules")
def rules() -> None:
    """Check, test and suggest categorization rules (rule files are never applied here)."""


@rules.command()
@config_option
@files_argument
@click.option("--strict", is_flag=True, help="fail (exit 2) on warnings too")
def check(config_path: Path | None, files: tuple[Path, ...], strict: bool) -> None:
    """Validate rule files and find unreachable, unused and overlapping rules."""
    setup = _setup(config_path, files)
    for warning in setup.warnings:
        click.echo(f"warning: {warning}", err=True)
    store = _open_history_store(setup.config)
    try:
        history = history_rows(store) if store else None
    finally:
        if store:
            store.close()
    examples = example_rows(setup.ruleset, default_account=setup.default_account, currencies=setup.currencies)
    long_check = len(setup.ruleset.rules) >= PROGRESS_FROM_RULES
    progress = (lambda message: click.echo(f"rules check: {message} ...", err=True)) if long_check else None
    findings = lint(setup.ruleset, history=history, examples=examples, progress=progress)
    for finding in findings:
        click.echo(str(finding))
    errors = sum(f.severity == "error" for f in findings)
    warnings = len(findings) - errors
    seen = f", checked against {history.height} stored bank rows" if history is not None else ""
    skipped = f" ({setup.unchecked})" if setup.unchecked else ""
    click.echo(f"{_summary_line(setup)}{seen}: {errors} errors, {warnings} warnings{skipped}")
    if errors or (strict and warnings):
        raise UserError("rules check failed" + ("" if errors else " (--strict: warnings count)"))


@rules.command()
@config_option
@files_argument
@click.option("--examples-only", is_flag=True, help="skip the dry run over the stored rows")
@click.option("--show", default=30, show_default=True, help="changed rows to list in the dry run")
def test(config_path: Path | None, files: tuple[Path, ...], examples_only: bool, show: int) -> None:
    """Run the examples in the rule files, then a dry run over the stored open rows."""
    setup = _setup(config_path, files)
    for warning in setup.warnings:
        click.echo(f"warning: {warning}", err=True)
    results = run_examples(setup.ruleset, default_account=setup.default_account, currencies=setup.currencies)
    failed = [r for r in results if not r.passed]
    for result in failed:
        click.echo(f"FAIL {result.where}: rule '{result.rule.name}', example '{result.description}'")
        for failure in result.failures:
            click.echo(f"     {failure}")
    click.echo(f"examples: {len(results) - len(failed)} passed, {len(failed)} failed ({_summary_line(setup)})")
    if not examples_only:
        store = _open_history_store(setup.config)
        if store is not None and setup.config is not None:
            with store:
                _show_dry_run(dry_run(store, setup.ruleset, base_dir=setup.config.base_dir), show=show)
    if failed:
        raise _ExamplesFailedError(f"{len(failed)} example(s) failed")


class _ExamplesFailedError(ReconError):
    """An example in a rule file did not come out as expected (exit code 1, as a failed test)."""


def _show_dry_run(result: DryRun, *, show: int) -> None:
    matched = result.governed_rows - result.open_rows
    also = f" and {matched} matched off by a difference (book_difference)" if matched else ""
    click.echo(f"dry run over {result.open_rows} open bank rows{also} (nothing is written):")
    for impact in result.impacts:
        if not impact.applies:
            continue
        click.echo(
            f"  {impact.rule.where}: rule '{impact.rule.name}': applies to {impact.applies} rows, "
            f"{impact.changes} would change"
        )
        for sample in impact.samples:
            click.echo(f"      e.g. {sample}")
    unused = [i.rule.name for i in result.impacts if not i.applies]
    if unused:
        click.echo(f"  rules that apply to no open row: {', '.join(repr(n) for n in unused)}")
    click.echo(f"changes against the current categorization: {len(result.changes)} rows")
    for change in result.changes[:show]:
        click.echo(f"  {change.row}\n      before: {change.before}\n      after:  {change.after}")
    if len(result.changes) > show:
        click.echo(f"  ... and {len(result.changes) - show} more (--show N)")
    for why, n in result.kept.items():
        click.echo(f"not changed by the rules: {n} row{'' if n == 1 else 's'} kept: {why}")


@rules.command()
@config_option
@click.option("-o", "--output", type=click.Path(path_type=Path), help="rule file to write (default: print)")
@click.option(
    "--min-support", default=3, show_default=True, type=click.IntRange(min=1), help="rows that must back a suggestion"
)
@click.option(
    "--min-confidence", default=0.9, show_default=True, type=click.FloatRange(0, 1),
    help="share of the stored rows a suggestion matches that must agree (0 to 1)",
)  # fmt: skip
def suggest(config_path: Path | None, output: Path | None, min_support: int, min_confidence: float) -> None:
    """Propose rules from history (categories people gave, matched payees) as a YAML rule file to review."""
    config = load_config(config_path or DEFAULT_CONFIG)
    if output is not None and output.exists():
        raise UserError(f"{output} exists; suggestions are never written over a file (choose another name)")
    if output is not None and not output.parent.is_dir():
        raise UserError(f"{output}: the folder {output.parent} does not exist")
    existing = load_rules(config)[0] if config.rules.paths else None
    store = _open_history_store(config)
    if store is None:
        raise UserError("rules suggest learns from the store: run 'recon run' first")
    with store:
        suggestions = suggest_rules(store, existing=existing, min_support=min_support, min_confidence=min_confidence)
        rows_seen = history_rows(store).height
    text = suggestions_yaml(suggestions, rows_seen=rows_seen)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        with output.open("x", encoding="utf-8") as out:  # "x": never over a file made meanwhile
            out.write(text)
    except OSError as exc:
        raise UserError(f"{output}: cannot write the suggestions: {exc.strerror or exc}") from None
    click.echo(f"{len(suggestions)} suggested rules written to {shown_path(output)}; review them before use")
