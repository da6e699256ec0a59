"""`manage.py seed_survey_demo`: the demo's survey history (after `seed_demo`)."""

from django.core.management.base import BaseCommand

from surveys.demo import seed_survey_demo


class Command(BaseCommand):
    help = "Invites the demo's defectors, sends the emails and answers a share of the surveys (once)."

    def add_arguments(self, parser):
        parser.add_argument("--if-empty", action="store_true", help="Only when there is no invitation yet (make run).")

    def handle(self, *args, if_empty: bool, **options):
        result = seed_survey_demo(if_empty=if_empty)
        if not result.loaded:
            self.stdout.write("Survey demo data already loaded.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Survey demo loaded: {result.invitations} invitations, {result.sent} sent, "
                f"{result.responses} answered, {result.reviewed} reviewed."
            )
        )
