"""`manage.py seed_demo`: loads the demo company (users, segments, customers, purchases, contacts)."""

from django.core.management.base import BaseCommand, CommandError

from customers.demo import DEFAULT_SIZE, seed_demo
from customers.demo_data import DEMO_PASSWORD


class Command(BaseCommand):
    help = "Loads a believable demo company once; does nothing if the demo data is already there."

    def add_arguments(self, parser):
        parser.add_argument(
            "--customers", type=int, default=DEFAULT_SIZE, help=f"How many customers (default {DEFAULT_SIZE})."
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="Load only into a database without any customer (make run)."
        )

    def handle(self, *args, customers: int, if_empty: bool, **options):
        if customers < 1:
            raise CommandError("--customers must be at least 1.")
        result = seed_demo(size=customers, if_empty=if_empty)
        if not result.loaded:
            self.stdout.write("Demo data already loaded.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data loaded: {result.customers} customers, {result.transactions} transactions, "
                f"{result.interactions} interactions."
            )
        )
        for username, full_name, role in result.users:
            self.stdout.write(f"  {username:<10} {full_name:<18} {role}")
        self.stdout.write(f"Demo password: {DEMO_PASSWORD}")
