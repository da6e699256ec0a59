from customers.management.import_command import ImportCommand


class Command(ImportCommand):
    kind = "customers"
