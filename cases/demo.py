"""Demo win-back cases for `make run` (`manage.py seed_case_demo`, after `seed_demo` and
`seed_survey_demo`): about 25 cases over the demo's defected customers, at every stage, so the
queue, the board, the case pages, the rescue cycle and the corrective actions open with something
to look at.

Every step goes through the product's own services (open_case, the state machine, the work
services for calls, offers and tasks, the rescue cycle, corrective actions); only the clock is
moved, with time-machine, so each case's timeline reads like days of real work rather than one
second of seeding. Does nothing when any case exists already.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import time_machine
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from cases import states
from cases.models import Case, CorrectiveAction, Offer, Stage, Task
from cases.services.actions import action_create
from cases.services.opening import open_case
from cases.services.rescue import rescue_take
from cases.services.work import add_task, complete_task, decide_offer, log_activity, make_offer
from customers.models import DefectionEvent, Fault, Reason, Transaction

# The stories, in the order the best customers get them: (kind, days since the case opened).
STORIES = [
    ("offer_made", 9),
    ("won_back", 240),
    ("diagnosed", 8),
    ("contacting", 6),
    ("rescue", 5),
    ("offer_made", 12),
    ("new", 1),
    ("won_back", 45),
    ("lost", 30),
    ("diagnosed", 10),
    ("overdue_first_contact", 7),
    ("contacting", 4),
    ("offer_made", 7),
    ("let_go", 25),
    ("overdue_case", 40),
    ("won_back", 60),
    ("diagnosed", 6),
    ("new", 0),
    ("lost", 20),
    ("offer_made", 15),
    ("let_go", 35),
    ("contacting", 3),
]
POOL_STORIES = 2  # customers without an account manager: the cases wait in the unassigned pool
REASONS = [Reason.PRICE, Reason.SERVICE, Reason.DELIVERY, Reason.PRODUCT_QUALITY, Reason.BILLING]
FAULTS = {Reason.PRICE: Fault.UNKNOWN, Reason.RELOCATION: Fault.NOT_OURS}


@dataclass
class CaseDemoResult:
    loaded: bool
    cases: int = 0
    open: int = 0
    actions: int = 0


class _Clock:
    """Moves the clock to a moment of a case's story (and back afterwards)."""

    def __init__(self, now: dt.datetime):
        self.now = now

    def moment(self, days_ago: float, hour: int = 10) -> dt.datetime:
        day = timezone.localtime(self.now - dt.timedelta(days=days_ago))
        return min(day.replace(hour=hour, minute=15, second=0, microsecond=0), self.now)

    def at(self, days_ago: float, hour: int = 10):
        return time_machine.travel(self.moment(days_ago, hour), tick=False)


def _users():
    users = get_user_model().objects.in_bulk(["manager1", "manager2", "exec1", "admin1"], field_name="username")
    return users.get("manager1"), users.get("manager2"), users.get("exec1"), users.get("admin1")


def _defectors(*, managed: bool):
    """Defected customers with an open defection event, the most valuable first."""
    events = DefectionEvent.objects.filter(
        status=DefectionEvent.Status.OPEN, customer__account_manager__isnull=not managed
    )
    return list(events.select_related("customer__account_manager").order_by("-lost_revenue", "pk"))


def _call(case, actor, *, diagnosed=False, reason="", offered=False, notes=""):
    return log_activity(
        case=case,
        actor=actor,
        kind="call",
        apologised=True,
        listened=True,
        diagnosed=diagnosed,
        helped=diagnosed,
        offered=offered,
        notes=notes,
        reason=reason if diagnosed else "",
        fault=FAULTS.get(reason, Fault.OURS) if diagnosed else "",
    )


def _tell(case: Case, kind: str, opened_days: int, clock: _Clock, *, reason: str) -> Case:
    """Plays one story on a freshly opened case."""
    owner = case.owner
    step = min(max(opened_days / 6, 0.3), 3)
    if kind in ("new", "overdue_first_contact") or owner is None:
        return case
    with clock.at(opened_days - step):
        _call(case, owner, notes="Apologised for the trouble; they will think about a follow-up call.")
    if kind in ("contacting", "rescue", "overdue_case"):
        with clock.at(opened_days - step, hour=11):
            add_task(
                case=case,
                actor=owner,
                title="Call back about the last order",
                assignee=owner,
                due_on=timezone.localdate() + dt.timedelta(days=2 if kind != "overdue_case" else 3),
            )
        return case
    with clock.at(opened_days - 2 * step):
        _call(case, owner, diagnosed=True, reason=reason, notes="Found the cause and fixed what we could today.")
        case = states.move(case, Stage.DIAGNOSED, actor=owner)
    if kind == "diagnosed":
        return case
    if kind in ("lost", "let_go"):
        with clock.at(opened_days - 3 * step):
            note = "Chose a competitor for good." if kind == "lost" else "Moved abroad; nothing we can offer."
            return states.move(case, kind, actor=owner, note=note)
    with clock.at(opened_days - 3 * step):
        offer = make_offer(
            case=case,
            actor=owner,
            kind=Offer.Kind.DISCOUNT,
            value=Decimal("15"),
            cost=(case.value_at_stake * Decimal("0.05")).quantize(Decimal("0.01")),
            expires_on=timezone.localdate() + dt.timedelta(days=30),
            description="15% off the next three orders",
        )
    if kind == "offer_made":
        return case
    with clock.at(opened_days - 4 * step):
        decide_offer(offer=offer, actor=owner, decision=Offer.Status.ACCEPTED)
    won_back_at = clock.moment(opened_days - 5 * step, hour=9)
    for n in range(3):
        Transaction.objects.create(
            customer=case.customer,
            external_id=f"DEMO-WB-{case.pk}-{n + 1}",
            occurred_at=min(won_back_at + dt.timedelta(days=n * step), clock.now - dt.timedelta(hours=1)),
            amount=(case.value_at_stake / 6).quantize(Decimal("0.01")),
        )
    with clock.at(opened_days - 5 * step, hour=16):
        note = "Ordered again after the offer."
        case = states.move(case, Stage.WON_BACK, actor=owner, note=note, won_back_at=won_back_at)
    for review in case.tasks.filter(kind=Task.Kind.HEALTH_REVIEW, due_on__lt=clock.now.date()):
        with clock.at((clock.now.date() - review.due_on).days - 1):
            complete_task(task=review, actor=owner)
    return case


def _relapse(event: DefectionEvent, clock: _Clock, reason: str) -> Case:
    """A customer won back months ago who defected again: the old case closed as won back, the
    new one flagged as a relapse and linked to it."""
    owner = event.customer.account_manager
    with clock.at(300):
        old = open_case(customer=event.customer, actor=owner, event=event)
        _call(old, owner, diagnosed=True, reason=reason, notes="Sorted out the billing mix-up.")
        old = states.move(old, Stage.DIAGNOSED, actor=owner)
    with clock.at(280):
        old = states.move(old, Stage.WON_BACK, actor=owner, note="Back after the credit note.")
    with clock.at(2):
        return open_case(customer=event.customer, actor=owner, event=event, previous_case=old)


@transaction.atomic
def seed_case_demo(*, now: dt.datetime | None = None) -> CaseDemoResult:
    if Case.objects.exists():
        return CaseDemoResult(loaded=False)
    manager1, manager2, executive, administrator = _users()
    if manager1 is None:
        return CaseDemoResult(loaded=False)  # no demo company (seed_demo) to work on
    clock = _Clock(now or timezone.now())
    managed, unmanaged = _defectors(managed=True), _defectors(managed=False)
    cases: list[Case] = []
    for index, (event, (kind, days)) in enumerate(zip(managed, STORIES, strict=False)):
        reason = REASONS[index % len(REASONS)]
        with clock.at(days, hour=8):
            case = open_case(customer=event.customer, actor=None, event=event)
        if kind == "overdue_case":
            # Opened before the overall deadline passed: first contact made, the case still open.
            case = _tell(case, "contacting", days, clock, reason=reason)
        else:
            case = _tell(case, kind, days, clock, reason=reason)
        if kind == "rescue" and executive is not None:
            rescue_take(case_id=case.pk, executive=executive)  # in the current cycle
        cases.append(case)
    for event in unmanaged[:POOL_STORIES]:
        with clock.at(3, hour=8):
            cases.append(open_case(customer=event.customer, actor=None, event=event))
    used = {case.customer_id for case in cases}
    relapsing = next((event for event in managed if event.customer_id not in used), None)
    if relapsing is not None:
        cases.append(_relapse(relapsing, clock, Reason.BILLING))
    actions = _corrective_actions(cases, manager1, administrator or manager1, clock)
    if now is None:
        # Detection sees the won-back customers' new purchases, so their cards and case pages
        # explain the win-back instead of the old defection.
        from customers.detection.engine import run_detection
        from customers.models import Customer

        Customer.objects.filter(cases__stage=Stage.WON_BACK).update(metrics_stale=True)
        run_detection(trigger="seed_case_demo")
    return CaseDemoResult(
        loaded=True, cases=len(cases), open=Case.objects.filter(is_open=True).count(), actions=actions
    )


def _corrective_actions(cases: list[Case], owner, actor, clock: _Clock) -> int:
    """Two fixes for root causes found in the cases, with the recent defections citing them."""
    diagnosed = [case for case in Case.objects.filter(pk__in=[c.pk for c in cases]).exclude(primary_reason="")]
    by_reason = {case.primary_reason: case for case in diagnosed}
    made = 0
    for reason, title, department in (
        (Reason.DELIVERY, "Two-day delivery guarantee for regular customers", "Logistics"),
        (Reason.SERVICE, "Call back every open support request within one working day", "Customer service"),
    ):
        with clock.at(2):
            action_create(
                actor=actor,
                title=title,
                reason=reason,
                deadline=timezone.localdate() + dt.timedelta(days=45),
                owner=owner,
                department=department,
                status=CorrectiveAction.Status.IN_PROGRESS if made else CorrectiveAction.Status.OPEN,
                source_case=by_reason.get(reason),
                link_recent=True,
            )
        made += 1
    return made
