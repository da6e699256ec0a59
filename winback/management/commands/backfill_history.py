"""`manage.py backfill_history --from YYYY-MM`: churn history from the imported purchases."""

import datetime as dt
import re

from django.core.management.base import BaseCommand, CommandError

from winback.dashboard.backfill import BackfillError, backfill_history

MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(value: str) -> dt.date:
    match = MONTH.match(value or "")
    try:
        return dt.date(int(match[1]), int(match[2]), 1)
    except (TypeError, ValueError) as error:
        raise CommandError(f"--from must be a month like 2024-07, not {value!r}.") from error


class Command(BaseCommand):
    help = (
        "Replays detection as of the last day of each month from --from up to the last complete month "
        "(one detection run per month, like detect_defections --as-of), records each month's at-risk "
        "count, then runs detection as of today and rebuilds the dashboard's facts. Each month is "
        "committed on its own: after an interruption, run the same command again and it continues "
        "after the latest month already replayed. It refuses to start (writing nothing) when detection "
        "has already run as of a day after the last complete month."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--from",
            dest="from_month",
            required=True,
            metavar="YYYY-MM",
            help="The first month to replay (not before the month of the first purchase).",
        )

    def handle(self, *args, from_month: str, **options):
        month = parse_month(from_month)
        try:
            summary = backfill_history(month, stdout=self.stdout)
        except BackfillError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"History from {summary.from_month:%Y-%m} to {summary.to_month:%Y-%m}: "
                f"{len(summary.months)} month(s) replayed, {len(summary.skipped)} already done."
            )
        )
