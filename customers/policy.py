"""Who may do what with customers, interactions and imports: the one policy module that views,
templates (through the card context), exports and the admin all ask.

Account managers see every customer and edit the details and contact preferences of their own
customers; executives read everything and change nothing; administrators do everything,
including changing a customer's account manager and importing files.
"""

from customers.models import Customer, Interaction
from winback.roles import is_administrator


def can_view_customers(user) -> bool:
    return user.is_authenticated and user.is_active and user.has_perm("customers.view_customer")


def can_create_customer(user) -> bool:
    return user.is_authenticated and user.is_active and user.has_perm("customers.add_customer")


def can_edit_customer(user, customer: Customer) -> bool:
    """Details and contact preferences: administrators for everyone, managers for their own."""
    if not (user.is_authenticated and user.is_active and user.has_perm("customers.change_customer")):
        return False
    return is_administrator(user) or customer.account_manager_id == user.pk


def can_assign_manager(user) -> bool:
    return user.is_authenticated and user.is_active and is_administrator(user)


def can_export_customers(user) -> bool:
    return user.is_authenticated and user.is_active and user.has_perm("customers.export_customers")


def can_log_interaction(user, customer: Customer) -> bool:
    """Any account manager may log a call or complaint on any card (the customer may call
    anyone); administrators too; executives read only."""
    return user.is_authenticated and user.is_active and user.has_perm("customers.add_interaction")


def can_resolve_interaction(user, interaction: Interaction) -> bool:
    """The responsible employee, the customer's account manager, or an administrator."""
    if not (user.is_authenticated and user.is_active and user.has_perm("customers.change_interaction")):
        return False
    return is_administrator(user) or user.pk in (interaction.owner_id, interaction.customer.account_manager_id)


def can_import(user) -> bool:
    return user.is_authenticated and user.is_active and user.has_perm("customers.import_data")


def can_dismiss_alarm(user, customer: Customer) -> bool:
    """A false alarm is dismissed by the customer's account manager or an administrator."""
    return can_edit_customer(user, customer)


def can_change_detection_rules(user) -> bool:
    """The detection rules, their preview, applying a backtest suggestion and starting a run."""
    return user.is_authenticated and user.is_active and is_administrator(user)
