"""Who may do what with surveys: the one policy module the surveys views, templates and admin ask.

Administrators edit surveys, templates and settings. Every staff role reads responses (they are on
the customer card). The designated impartial reviewer (SurveySettings.reviewer; when none is set,
any executive) and administrators review responses and confirm the reason and fault — the one
write an executive may make. Replies that close the loop are written by the reviewer, an
administrator or the customer's account manager.
"""

from customers import policy as customer_policy
from surveys.models import Response, SurveySettings
from winback.roles import is_administrator, is_executive, role_of


def _active(user) -> bool:
    return user.is_authenticated and user.is_active


def can_edit_surveys(user) -> bool:
    """Surveys, questions, email templates and the sender/sending settings."""
    return _active(user) and is_administrator(user)


def can_view_responses(user) -> bool:
    return _active(user) and role_of(user) is not None


def is_reviewer(user, settings: SurveySettings | None = None) -> bool:
    if not _active(user):
        return False
    settings = settings or SurveySettings.load()
    if settings.reviewer_id is not None:
        return settings.reviewer_id == user.pk
    return is_executive(user)


def can_review_responses(user, settings: SurveySettings | None = None) -> bool:
    """Mark reviewed, confirm or change the reason and fault."""
    return _active(user) and (is_administrator(user) or is_reviewer(user, settings))


def can_reply_to_response(user, response: Response, settings: SurveySettings | None = None) -> bool:
    """Close the loop or invite back: the reviewer, an administrator, or the account manager."""
    if not _active(user):
        return False
    if can_review_responses(user, settings):
        return True
    return role_of(user) is not None and response.customer.account_manager_id == user.pk


def can_send_bulk_return_invitations(user) -> bool:
    return _active(user) and is_administrator(user)


def can_export_answers(user) -> bool:
    return _active(user) and (is_administrator(user) or is_executive(user))


def can_view_survey_figures(user) -> bool:
    return can_view_responses(user)


def can_undo_invalid_mark(user) -> bool:
    """Removing a staff "email invalid" mark (never a bounce or complaint) is for administrators."""
    return _active(user) and is_administrator(user)


def can_view_invitations(user) -> bool:
    """The list of invitations with their sending errors."""
    return _active(user) and is_administrator(user)


def can_mark_email_invalid(user, customer) -> bool:
    """The customer's account manager or an administrator (as for contact preferences)."""
    return customer_policy.can_edit_customer(user, customer)
