"""Categorization: rule files (YAML) that say what bank rows are, applied to every open row at once.

rulefile.py   read and validate rule files (file, line and key of every mistake)
schema.py     what a rule file may say (pydantic models); values.py, templates.py: its value types
conditions.py conditions -> Polars expressions; actions.py: actions -> Polars expressions
engine.py     apply a rule set to rows (first match wins, `stop: false` goes on)
service.py    `categorize(store, config, run_id)`: the nightly step; table.py: the store table
lint.py, examples.py, dryrun.py, suggest.py: `recon rules check | test | suggest`
"""

from recon.categorize.rulefile import RuleFileError, RuleSet, load_rule_files, load_rules
from recon.categorize.service import CategorizeSummary, categorize

__all__ = ["CategorizeSummary", "RuleFileError", "RuleSet", "categorize", "load_rule_files", "load_rules"]
