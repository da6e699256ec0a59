"""`manage.py backtest_detection --from YYYY-MM --to YYYY-MM [--horizon-days 180] [--csv PATH] [--no-save]`."""

import csv

from django.core.management.base import BaseCommand, CommandError

from customers.detection.backtest import RULE_SETS, BacktestError, parse_month, run_backtest

CSV_MEASURES = ("flagged", "false_alarms", "dismissed", "precision", "recall", "f1")
TABLE_MEASURES = (("flagged", "Flagged", "d"), ("false_alarms", "False al.", "d"))
RATIO_MEASURES = (("precision", "Precision"), ("recall", "Recall"), ("f1", "F1"))


def month_option(value: str, option: str):
    try:
        return parse_month(value)
    except BacktestError as error:
        raise CommandError(f"{option} must be a month like 2025-01, not {value!r}.") from error


def ratio(value) -> str:
    return "—" if value is None else f"{value:.3f}"


def csv_value(value) -> str:
    return "" if value is None else str(value)


class Command(BaseCommand):
    help = (
        "Replays the 'defected' rule month by month (as of each month's last day) and compares it with "
        "whether the customers really bought again within the horizon: flagged, false alarms, precision, "
        "recall and F1 for the saved rules and the plain segment days side by side, plus the defected days "
        "(and rhythm multiple) per segment that would have scored best."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="from_month", required=True, help="First month (YYYY-MM).")
        parser.add_argument("--to", dest="to_month", required=True, help="Last month (YYYY-MM).")
        parser.add_argument(
            "--horizon-days",
            type=int,
            default=180,
            help="A flagged customer who buys within this many days "
            "after the as-of day was a false alarm (default 180).",
        )
        parser.add_argument("--csv", dest="csv_path", help="Also write the month rows to this CSV file.")
        parser.add_argument("--no-save", action="store_true", help="Do not record the result for the settings page.")

    def handle(self, *args, from_month, to_month, horizon_days, csv_path, no_save, **options):
        first, last = month_option(from_month, "--from"), month_option(to_month, "--to")
        if first > last:
            raise CommandError(f"--from ({from_month}) is after --to ({to_month}).")
        if horizon_days < 1:
            raise CommandError(f"--horizon-days must be at least 1, not {horizon_days}.")
        try:
            outcome = run_backtest(from_month=first, to_month=last, horizon_days=horizon_days, save=not no_save)
        except BacktestError as error:
            raise CommandError(str(error)) from error
        result = outcome if no_save else outcome.result
        self.print_table(result, f"{first:%Y-%m}", f"{last:%Y-%m}")
        self.print_suggestions(result)
        if csv_path:
            self.write_csv(result, csv_path)
            self.stdout.write(f"Month rows written to {csv_path}.")
        if not no_save:
            self.stdout.write(self.style.SUCCESS(f"Saved as backtest #{outcome.pk}."))

    def print_table(self, result: dict, first: str, last: str) -> None:
        latest = result["latest_purchase"] or "none"
        self.stdout.write(
            self.style.SUCCESS(
                f"Backtest {first} – {last}: 'defected' as of each month's last day against no purchase within "
                f"{result['horizon_days']} days (latest purchase in the data: {latest})"
            )
        )
        block = "".join(f"{label:>10}" for _, label, _ in TABLE_MEASURES) + "".join(
            f"{label:>10}" for _, label in RATIO_MEASURES
        )
        self.stdout.write(f"{'':<19}{'current rules':<50}  {'plain segment days':<50}")
        self.stdout.write(f"{'Month':<8}{'Customers':>11}{block}  {block}")
        for row in result["months"]:
            label = row["month"] + ("" if row["complete"] else "*")
            self.stdout.write(f"{label:<8}{row['population']:>11}{self.cells(row)}")
        totals = {"population": sum(r["population"] for r in result["months"] if r["complete"]), **result["totals"]}
        self.stdout.write(f"{'Total':<8}{totals['population']:>11}{self.cells(totals)}")
        self.stdout.write(
            f"Totals pool the {result['complete_months']} complete month(s) ({result['defectors']} defectors). "
            f"Dismissed alarms (not flagged): current {result['totals']['current']['dismissed']}, "
            f"plain {result['totals']['plain']['dismissed']}."
        )
        incomplete = [row["month"] for row in result["months"] if not row["complete"]]
        if incomplete:
            self.stdout.write(
                self.style.WARNING(
                    f"* incomplete: the {result['horizon_days']}-day horizon runs past the latest purchase "
                    f"({latest}), so it is not yet known who came back; left out of the totals and the "
                    f"suggestions: {', '.join(incomplete)}."
                )
            )

    @staticmethod
    def cells(row: dict) -> str:
        parts = []
        for name in RULE_SETS:
            figures = row[name]
            part = "".join(f"{figures[key]:>10}" for key, _, _ in TABLE_MEASURES)
            part += "".join(f"{ratio(figures[key]):>10}" for key, _ in RATIO_MEASURES)
            parts.append(part)
        return "  ".join(parts)

    def print_suggestions(self, result: dict) -> None:
        if not result["suggestions"]:
            self.stdout.write("No suggestions: no complete month to learn from.")
            return
        self.stdout.write("Suggested 'defected' rules (best F1 over the complete months):")
        for item in result["suggestions"]:
            rhythm = f"rhythm × {item['rhythm_multiple']}" if item["rhythm_enabled"] else "no rhythm"
            self.stdout.write(
                f"  {item['segment']:<28} {item['defected_days']:>4} days, {rhythm:<13} F1 {ratio(item['f1'])} "
                f"(current {ratio(item['current_f1'])}), false alarms {item['false_alarms']} "
                f"(current {item['current_false_alarms']})"
            )

    @staticmethod
    def write_csv(result: dict, path: str) -> None:
        header = ["month", "as_of", "complete", "population", "defectors"]
        header += [f"{name}_{measure}" for name in RULE_SETS for measure in CSV_MEASURES]
        try:
            with open(path, "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(header)
                for row in result["months"]:
                    values = [row["month"], row["as_of"], int(row["complete"]), row["population"], row["defectors"]]
                    values += [csv_value(row[name][measure]) for name in RULE_SETS for measure in CSV_MEASURES]
                    writer.writerow(values)
        except OSError as error:
            raise CommandError(f"Cannot write {path}: {error.strerror}.") from error
