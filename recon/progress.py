"""What a running command tells its operator: progress lines for a person, JSON lines for a log.

Text mode writes plain lines to stderr (readable in a terminal and in a cron mail);
`quiet` keeps only warnings and errors, for cron jobs that should mail only trouble.
JSON mode writes one object per line (`ts`, `level`, `event`, fields) for log
collectors, `quiet` or not; a command's final error is one of them too. Nothing here
ever receives a secret: callers pass ids and counts only.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

LogFormat = Literal["text", "json"]


class Reporter:
    """Progress and events of one command."""

    def __init__(self, *, log_format: LogFormat = "text", quiet: bool = False, stream: TextIO | None = None):
        self.log_format = log_format
        self.quiet = quiet
        self.stream = stream or sys.stderr

    def _emit(self, level: str, event: str, message: str, fields: dict[str, Any]) -> None:
        if level == "info" and self.quiet:
            return
        if self.log_format == "json":
            record = {"ts": datetime.now(UTC).isoformat(timespec="milliseconds"), "level": level, "event": event}
            record.update(fields)
            record["message"] = message
            print(json.dumps(record, default=str), file=self.stream, flush=True)
        else:
            prefix = "" if level == "info" else f"{level}: "
            print(prefix + message, file=self.stream, flush=True)

    def info(self, event: str, message: str, **fields: Any) -> None:
        self._emit("info", event, message, fields)

    def warning(self, event: str, message: str, **fields: Any) -> None:
        self._emit("warning", event, message, fields)

    def error(self, event: str, message: str, **fields: Any) -> None:
        self._emit("error", event, message, fields)
