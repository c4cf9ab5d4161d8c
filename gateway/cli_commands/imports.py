"""`import participants FILE.csv`: enrol a school's spreadsheet, with a per-line report."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from gateway.cli_commands.base import CliError, command, emit, now, with_db
from gateway.config import Settings
from gateway.program.importer import ImportReport, import_participants

FILE_PROBLEMS = {
    "empty": "the file is empty",
    "not_text": "this is not a CSV text file (a spreadsheet saved as .xlsx? save it as CSV)",
    "no_email_column": "no e-mail column (courriel/email) in the header line; the header reads",
    "unreadable": "the CSV cannot be read",
    "unknown_organization": "no organization named",
}


@command
def register(sub: Any) -> None:
    group = sub.add_parser("import", help="enrol many participants at once").add_subparsers(
        dest="action", required=True)
    p = group.add_parser("participants", help="import a CSV export of participants (see docs/program.md)")
    p.add_argument("file", type=Path)
    p.add_argument("--org", default=None, help="every line belongs to this organization")
    p.add_argument("--dry-run", action="store_true", help="validate only; change nothing")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=import_file)


class _Progress:
    """A rich progress bar, shown only once the import has run for more than a second."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.started = time.monotonic()
        self.bar: Any = None
        self.task: Any = None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.bar is None and time.monotonic() - self.started > 1.0:
            from rich.progress import Progress

            self.bar = Progress(transient=True, console=None)
            self.bar.start()
            self.task = self.bar.add_task("import", total=total)
        if self.bar is not None:
            self.bar.update(self.task, completed=done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def import_file(args: argparse.Namespace, settings: Settings) -> int:
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        raise CliError(f"{args.file}: {exc.strerror}") from exc
    progress = _Progress(enabled=not args.json and sys.stderr.isatty())
    try:
        report: ImportReport = with_db(settings, lambda s: import_participants(
            s, settings, data, now=now(), org=args.org, dry_run=args.dry_run, progress=progress))
    finally:
        progress.close()
    if report.file_problem:
        code, _, detail = report.file_problem.partition(": ")
        raise CliError(f"{args.file}: {FILE_PROBLEMS.get(code, code)} {detail}".rstrip())
    emit(args, report.to_json(), describe(args.file, report))
    return 0 if report.ok else 1


def describe(path: Path, report: ImportReport) -> str:
    lines = [f"{path}: {report.lines} line(s) read ({report.encoding}, "
             f"separator {report.delimiter!r})"]
    if report.ignored_columns:
        lines.append("  columns ignored (unknown): " + ", ".join(report.ignored_columns))
    for problem in report.problems:
        column = f" [{problem.column}]" if problem.column else ""
        lines.append(f"  line {problem.line}{column}: {problem.message('fr')} / {problem.message('en')}")
    if report.consent_lines:
        lines.append("  guardians asked for consent (lines " + ", ".join(map(str, report.consent_lines))
                     + "): no pair of theirs is activated until the guardian answers")
    if report.dry_run:
        lines.append(f"dry run: {report.valid} valid line(s), {report.failed_lines} refused; "
                     "nothing was changed")
    else:
        lines.append(f"{report.created} created, {report.updated} updated, {report.unchanged} "
                     f"unchanged, {report.failed_lines} refused; {report.consent_requested} "
                     "guardian(s) asked for consent")
    return "\n".join(lines)
