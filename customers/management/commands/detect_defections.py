"""`manage.py detect_defections [--as-of YYYY-MM-DD] [--full] [--dry-run]`."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from customers.detection.engine import DetectionError, run_detection

LABELS = (
    ("scanned", "Customers scanned"),
    ("figures_updated", "Figures recomputed"),
    ("newly_at_risk", "Newly at risk"),
    ("newly_defected_passive", "Newly defected (passive)"),
    ("newly_defected_active", "Newly defected (active)"),
    ("won_back", "Won back"),
    ("relapsed", "Relapsed"),
    ("back_to_active", "No longer at risk"),
    ("events_opened", "Events opened"),
    ("events_closed", "Events closed"),
    ("seconds", "Seconds taken"),
)


def as_of_date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"--as-of must be a date like 2026-03-31, not {value!r}.") from error


class Command(BaseCommand):
    help = (
        "Finds customers drifting away (at risk), defected (passive or active) and won back, opens and "
        "closes defection events and prints a summary. Without --as-of it works from the figures kept "
        "current by imports; --as-of replays a past day from the purchases as they stood then."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="Replay this day (YYYY-MM-DD); later purchases are ignored.")
        parser.add_argument("--full", action="store_true", help="Recompute every customer's figures (a repair).")
        parser.add_argument("--dry-run", action="store_true", help="Report what would change; write nothing.")

    def handle(self, *args, as_of: str | None, full: bool, dry_run: bool, **options):
        day = as_of_date(as_of) if as_of else None
        try:
            run = run_detection(as_of=day, full=full, dry_run=dry_run, trigger="command")
        except DetectionError as error:
            raise CommandError(str(error)) from error
        title = f"Detection as of {run.as_of} ({run.get_mode_display().lower()})"
        self.stdout.write(self.style.SUCCESS(title + (" — dry run, nothing written" if dry_run else "")))
        for key, label in LABELS:
            self.stdout.write(f"  {label:<28}{run.summary.get(key, 0):>12}")
