"""The shared body of `import_customers`, `import_transactions` and `import_interactions`."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from customers import services
from customers.models import ImportRun
from customers.services.imports import copy_rejects

SHOWN_ERRORS = 50


class ImportCommand(BaseCommand):
    kind = ""

    @property
    def help(self) -> str:
        return (
            f"Imports {self.kind} from a CSV file (see docs/imports.md). A file with any bad row is rejected "
            "whole and nothing is written, unless --skip-invalid is given."
        )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="the CSV file (UTF-8, comma or semicolon separated)")
        parser.add_argument(
            "--skip-invalid", action="store_true", help="import the good rows and write the rejects to a CSV file"
        )
        parser.add_argument("--rejects", type=Path, help="where to write the rejected rows with their reasons")
        parser.add_argument("--dry-run", action="store_true", help="check the file and report, writing nothing")

    def handle(self, *args, path: Path, skip_invalid: bool, rejects: Path | None, dry_run: bool, **options):
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        run = services.import_file(kind=self.kind, path=path, skip_invalid=skip_invalid, dry_run=dry_run)
        for warning in run.warnings:
            self.stdout.write(self.style.WARNING(warning))
        for error in run.errors[:SHOWN_ERRORS]:
            where = f"line {error['line']}" if error["line"] else "file"
            column = f", column {error['column']}" if error["column"] else ""
            self.stderr.write(f"{where}{column}: {error['message']} [{error['code']}]")
        if run.error_count > SHOWN_ERRORS:
            self.stderr.write(f"… and {run.error_count - SHOWN_ERRORS:,} more problems.")
        target = rejects or path.with_name(path.stem + ".rejects.csv")
        if run.error_count and copy_rejects(run, target):
            self.stderr.write(f"Every problem, with its line, is listed in {target}")
        summary = services.import_summary(run)
        if run.status == ImportRun.Status.DONE:
            self.stdout.write(self.style.SUCCESS(f"Imported {run.rows_total:,} rows: {summary}."))
        elif run.status == ImportRun.Status.CHECKED and run.error_count and not skip_invalid:
            raise CommandError(
                f"Checked {run.rows_total:,} rows, nothing written: the file would be rejected. "
                "Fix it, or import the good rows only with --skip-invalid."
            )
        elif run.status == ImportRun.Status.CHECKED:
            self.stdout.write(f"Checked {run.rows_total:,} rows, nothing written. Importing would give: {summary}.")
        else:
            raise CommandError(f"Nothing was imported: the file was {run.get_status_display().lower()}.")
