"""`manage.py seed_case_demo`: the demo's win-back cases (after `seed_demo` and `seed_survey_demo`)."""

from django.core.management.base import BaseCommand

from cases.demo import seed_case_demo


class Command(BaseCommand):
    help = "Opens and works about 25 win-back cases over the demo's defectors (once; nothing if any case exists)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty", action="store_true", help="Accepted for make run; the command never loads twice anyway."
        )

    def handle(self, *args, if_empty: bool, **options):
        result = seed_case_demo()
        if not result.loaded:
            self.stdout.write("Case demo data already loaded (or no demo company to work on).")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Case demo loaded: {result.cases} cases ({result.open} open), {result.actions} corrective actions."
            )
        )
