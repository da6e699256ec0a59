"""`manage.py refresh_dashboard`: rebuilds the dashboard's fact tables now."""

from django.core.management.base import BaseCommand

from winback.dashboard.refresh import refresh_facts


class Command(BaseCommand):
    help = "Rebuilds the dashboard's monthly fact tables from customers, defections, surveys and cases."

    def handle(self, *args, **options):
        run = refresh_facts(trigger="command")
        self.stdout.write(self.style.SUCCESS(f"Dashboard facts rebuilt in {run.seconds} s"))
        for table, rows in sorted(run.rows.items()):
            self.stdout.write(f"  {table:<28}{rows:>10}")
