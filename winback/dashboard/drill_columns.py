"""The columns of each drill-down list's CSV and XLSX: (header, row) builders."""

from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import Stage
from customers.models import Customer, DefectionEvent, Reason


def when(value) -> str:
    """A time in the business time zone, to the minute."""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _person(user) -> str:
    return (user.get_full_name() or user.get_username()) if user else ""


def _customer_cells(customer) -> list:
    return [
        customer.external_id,
        customer.name,
        customer.segment.name if customer.segment else "",
        _person(customer.account_manager),
    ]


def _customer_header() -> list[str]:
    return [_("Customer id"), _("Customer"), _("Segment"), _("Account manager")]


def _event_columns():
    kinds, reasons, statuses = (
        dict(DefectionEvent.Kind.choices),
        dict(Reason.choices),
        dict(DefectionEvent.Status.choices),
    )
    header = [
        *_customer_header(),
        _("As of"),
        _("Kind"),
        _("Reason"),
        _("Lost revenue"),
        _("Status"),
        _("Won back"),
    ]

    def row(event) -> list:
        return [
            *_customer_cells(event.customer),
            event.as_of,
            str(kinds.get(event.kind, event.kind)),
            str(reasons.get(event.primary_reason, _("Not yet known"))),
            event.lost_revenue,
            str(statuses.get(event.status, event.status)),
            when(event.recovered_at),
        ]

    return header, row


def _customer_columns():
    statuses = dict(Customer.Status.choices)
    header = [
        *_customer_header(),
        _("Status"),
        _("First purchase"),
        _("Last purchase"),
        _("Estimated annual revenue"),
        _("Lifetime revenue"),
    ]

    def row(customer) -> list:
        return [
            *_customer_cells(customer),
            str(statuses.get(customer.status, customer.status)),
            when(customer.first_purchase_at),
            when(customer.last_purchase_at),
            customer.annual_value,
            customer.lifetime_revenue,
        ]

    return header, row


def _invitation_columns():
    header = [*_customer_header(), _("Sent"), _("Answered"), _("Defection as of")]

    def row(invitation) -> list:
        return [
            *_customer_cells(invitation.customer),
            when(invitation.sent_at),
            when(invitation.responded_at),
            invitation.event.as_of,
        ]

    return header, row


def _case_columns():
    stages = dict(Stage.choices)
    header = [
        _("Case id"),
        _("Customer id"),
        _("Customer"),
        _("Segment"),
        _("Stage"),
        _("Owner"),
        _("Revenue at stake"),
        _("Opened"),
        _("Next deadline"),
        _("Closed"),
    ]

    def row(case) -> list:
        return [
            case.pk,
            case.customer.external_id,
            case.customer.name,
            case.segment.name if case.segment else "",
            str(stages.get(case.stage, case.stage)),
            _person(case.owner),
            case.value_at_stake,
            when(case.opened_at),
            when(case.deadline_at),
            when(case.closed_at),
        ]

    return header, row


LIST_COLUMNS = {
    "defected": _event_columns,
    "won_back": _event_columns,
    "at_risk": _customer_columns,
    "active": _customer_columns,
    "invited": _invitation_columns,
    "cases_open": _case_columns,
    "cases_closed": _case_columns,
}
