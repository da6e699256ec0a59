"""Corrective actions: fixes for the root causes found in cases and surveys, ranked by the lost
revenue of the defections behind them, and closing the loop with the respondents once done.

CorrectiveAction.lost_revenue is the stored sum of the linked defection events' lost revenue;
every function here that links events recomputes it in the same transaction (one UPDATE)."""

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import DecimalField, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import Case, CorrectiveAction
from customers.models import DefectionEvent
from surveys.forms.inbox import short_quote
from surveys.models import Answer, Response, ResponseReply
from surveys.services import replies
from surveys.suppression import suppressed_hashes, survey_mail_refusal
from surveys.views.inbox_queries import open_text_excerpt

MONEY = DecimalField(max_digits=16, decimal_places=2)
RECENT_DAYS = 90
Through = CorrectiveAction.events.through
ReplyKind = ResponseReply.Kind


def events_citing(reason: str, *, days: int = RECENT_DAYS, today: dt.date | None = None) -> QuerySet:
    """The open or recent (detected in the last `days` days) defection events whose primary reason
    is `reason`."""
    today = today or timezone.localdate()
    since = today - dt.timedelta(days=days)
    return DefectionEvent.objects.filter(primary_reason=reason).filter(
        Q(status=DefectionEvent.Status.OPEN) | Q(as_of__gte=since)
    )


def refresh_lost_revenue(action: CorrectiveAction) -> None:
    """Stores the sum of the linked events' lost revenue on the action (one UPDATE)."""
    total = (
        Through.objects.filter(correctiveaction_id=OuterRef("pk"))
        .order_by()
        .values("correctiveaction_id")
        .annotate(total=Sum("defectionevent__lost_revenue"))
        .values("total")
    )
    CorrectiveAction.objects.filter(pk=action.pk).update(
        lost_revenue=Coalesce(Subquery(total, output_field=MONEY), 0, output_field=MONEY)
    )
    action.refresh_from_db(fields=["lost_revenue"])


def link_events(action: CorrectiveAction, events: QuerySet) -> int:
    """Links every event of the queryset to the action in one INSERT … SELECT (however many there
    are; those already linked are left alone) and refreshes the stored lost revenue."""
    sql, params = events.order_by().values("id").query.sql_with_params()
    table = connection.ops.quote_name(Through._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (correctiveaction_id, defectionevent_id) "  # noqa: S608 (no user text)
            # "WHERE true": SQLite would read ON CONFLICT as a join's ON without it.
            f"SELECT %s, linked.id FROM ({sql}) AS linked WHERE true ON CONFLICT DO NOTHING",
            [action.pk, *params],
        )
        added = cursor.rowcount
    refresh_lost_revenue(action)
    return added


def _event_of_answer(answer: Answer | None) -> DefectionEvent | None:
    if answer is None:
        return None
    return answer.response.invitation.event


@transaction.atomic
def action_create(
    *,
    actor,
    title: str,
    reason: str,
    deadline: dt.date,
    description: str = "",
    owner=None,
    department: str = "",
    status: str = CorrectiveAction.Status.OPEN,
    source_case: Case | None = None,
    source_answer: Answer | None = None,
    link_recent: bool = False,
    recent_days: int = RECENT_DAYS,
) -> CorrectiveAction:
    """Creates an action. The source case's and the source answer's defection events are linked;
    with `link_recent` so is every open or recent defection event citing the reason."""
    action = CorrectiveAction.objects.create(
        title=title,
        description=description,
        reason=reason,
        owner=owner,
        department=department,
        deadline=deadline,
        status=status,
        done_at=timezone.now() if status == CorrectiveAction.Status.DONE else None,
        source_case=source_case,
        source_answer=source_answer,
        created_by=actor,
    )
    ids = [event.pk for event in (source_case.event if source_case else None, _event_of_answer(source_answer)) if event]
    if ids:
        link_events(action, DefectionEvent.objects.filter(pk__in=ids))
    if link_recent:
        link_events(action, events_citing(reason, days=recent_days))
    return action


@transaction.atomic
def action_update(*, action: CorrectiveAction, actor, link_recent: bool = False, **fields) -> CorrectiveAction:
    """Changes the action's fields; marking it done stamps done_at (reopening clears it)."""
    stored = CorrectiveAction.objects.select_for_update().values_list("status", flat=True).get(pk=action.pk)
    was_done = stored == CorrectiveAction.Status.DONE  # `action` may hold a form's changes already
    for name, value in fields.items():
        setattr(action, name, value)
    if action.status == CorrectiveAction.Status.DONE and not was_done:
        action.done_at = timezone.now()
    elif action.status != CorrectiveAction.Status.DONE:
        action.done_at = None
    action.save()
    if link_recent:
        link_events(action, events_citing(action.reason))
    return action


# Closing the loop --------------------------------------------------------------------------------


@dataclass
class LoopPlan:
    """Who the close-the-loop (or invitation-to-return) mail would go to: the latest survey
    response of each customer of the linked defections, split into those to mail, those refused
    (contact preferences, suppressed or missing address) with why, and those already mailed."""

    to_send: list[Response] = field(default_factory=list)
    refused: list[tuple[Response, str]] = field(default_factory=list)
    already: list[Response] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.to_send) + len(self.refused) + len(self.already)


def linked_responses(action: CorrectiveAction) -> list[Response]:
    """The latest response of each customer of the linked events, with an excerpt of their words
    (one query)."""
    customers = Through.objects.filter(correctiveaction_id=action.pk).values("defectionevent__customer_id")
    responses = (
        Response.objects.filter(customer_id__in=customers)
        .select_related("customer")
        .annotate(excerpt=open_text_excerpt())
        .order_by("customer_id", "-submitted_at", "-id")
        .distinct("customer_id")
    )
    return sorted(responses, key=lambda r: (r.customer.name, r.pk))


def _already_mailed(action: CorrectiveAction, kind: str, responses: list[Response]) -> set[int]:
    """Close the loop: responses this action's mail went to already (its Message-IDs carry the
    action). Return: customers invited back already, by any action or the inbox."""
    live = [ResponseReply.Status.PENDING, ResponseReply.Status.SENT]
    if kind == ReplyKind.RETURN:
        customers = set(
            ResponseReply.objects.filter(
                kind=kind, status__in=live, response__customer_id__in=[r.customer_id for r in responses]
            ).values_list("response__customer_id", flat=True)
        )
        return {r.pk for r in responses if r.customer_id in customers}
    return set(
        ResponseReply.objects.filter(
            kind=kind,
            status__in=live,
            response_id__in=[r.pk for r in responses],
            message_id__startswith=_prefix(action),
        ).values_list("response_id", flat=True)
    )


def loop_plan(action: CorrectiveAction, kind: str) -> LoopPlan:
    """Three queries however many respondents there are."""
    responses = linked_responses(action)
    already = _already_mailed(action, kind, responses)
    suppressions = suppressed_hashes([r.customer.email for r in responses])
    plan = LoopPlan()
    for response in responses:
        if response.pk in already:
            plan.already.append(response)
            continue
        refusal = survey_mail_refusal(response.customer, suppressions)
        if refusal:
            plan.refused.append((response, refusal))
        else:
            plan.to_send.append(response)
    return plan


def _prefix(action: CorrectiveAction) -> str:
    return f"<cases-action{action.pk}-"


def _message_id(action: CorrectiveAction, run_key: str, response: Response) -> str:
    """A fixed Message-ID per action, confirm step and response: submitting the confirm form twice
    returns the replies already made (surveys.services.replies.reply_create) instead of mailing
    twice."""
    return f"{_prefix(action)}{run_key[:12]}-{response.pk}@{settings.WINBACK_MESSAGE_ID_DOMAIN}>"


@dataclass
class LoopResult:
    queued: list[ResponseReply] = field(default_factory=list)
    refused: list[tuple[Response, str]] = field(default_factory=list)


@transaction.atomic
def loop_send(
    *, action: CorrectiveAction, kind: str, actor, run_key: str, changed: str = "", offer: str = ""
) -> LoopResult:
    """Sends the close-the-loop reply ("You told us … Here is what we changed: …") or the
    invitation to return to each linked respondent, through the surveys app (reply_create: a
    ResponseReply row each, sent by its task after commit), and stamps loop_closed_at. Only for a
    done action; refused respondents are reported, not mailed."""
    if action.status != CorrectiveAction.Status.DONE:
        raise ValidationError(_("Close the loop once the action is done."))
    if kind not in (ReplyKind.CLOSE_LOOP, ReplyKind.RETURN):
        raise ValidationError(_("Choose which email to send."))
    if not run_key.isalnum() or len(run_key) < 12:
        raise ValidationError(_("The form is out of date; please review the recipients again."))
    if kind == ReplyKind.CLOSE_LOOP and not changed.strip():
        raise ValidationError(_("Say what was changed."))
    if kind == ReplyKind.RETURN and not offer.strip():
        raise ValidationError(_("Describe the offer."))
    plan = loop_plan(action, kind)
    result = LoopResult(refused=list(plan.refused))
    for response in plan.to_send:
        try:
            reply = replies.reply_create(
                response=response,
                kind=kind,
                actor=actor,
                told=short_quote(response.excerpt or ""),
                changed=changed,
                offer=offer,
                message_id=_message_id(action, run_key, response),
            )
        except ValidationError:
            refusal = survey_mail_refusal(response.customer)  # changed since the plan was read
            if not refusal:
                raise  # e.g. no email template of this kind: nothing is sent at all
            result.refused.append((response, refusal))
        else:
            result.queued.append(reply)
    if result.queued:
        action.loop_closed_at = timezone.now()
        action.save(update_fields=["loop_closed_at", "updated_at"])
    return result
