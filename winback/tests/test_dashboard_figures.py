"""The dashboard against the definitions (issue 6, "Done when"): a small hand-made history on
PostgreSQL, the facts refreshed, and every headline figure (value and previous) and chart series of
`build_dashboard` compared with the definitions of /work/briefs/dashboard_api.md and DESIGN.md
("Churn rate", "Lost revenue"), implemented here in pandas over the raw rows. Today is 2026-06-15,
Europe/Berlin (settings.TIME_ZONE); months and days are local ones."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models

from cases.models import Case, Offer, Stage
from cases.tests.factories import CaseFactory, OfferFactory
from customers.models import Customer, DefectionEvent, Reason, Transaction
from customers.tests.factories import CustomerFactory, SegmentFactory, TransactionFactory
from surveys.models import Invitation
from surveys.tests.factories import InvitationFactory, SurveyFactory
from winback.dashboard.figures import Filters, build_dashboard
from winback.dashboard.periods import custom_period, month_period, quarter_period, year_period
from winback.dashboard.refresh import record_at_risk, refresh_facts
from winback.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TZ = ZoneInfo(settings.TIME_ZONE)
D = dt.date
DAY = dt.timedelta(days=1)
NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=TZ)
THIS_MONTH = D(2026, 6, 1)
SNAPSHOT_MONTH = D(2026, 5, 1)  # the at-risk count recorded at this month's end (as backfill_history does)
PERIODS = [
    month_period(D(2026, 1, 1)),  # events on Jan 1 and Jan 31, a win-back at 00:30 on Feb 1
    month_period(D(2026, 3, 1)),  # a first purchase at 00:30 on Mar 1, a relapse as of Mar 31
    month_period(THIS_MONTH),  # includes today; the previous month has a recorded at-risk count
    quarter_period(2026, 1),
    quarter_period(2026, 2),
    year_period(2025),
    custom_period(D(2025, 11, 1), D(2026, 4, 1)),
]


def at(day: dt.date, hour: int = 12, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=TZ)


def shift(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + count
    return D(index // 12, index % 12 + 1, 1)


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(NOW, tick=False):
        yield


# --- the history ---------------------------------------------------------------------------


class History:
    def __init__(self):
        self.retail, self.wholesale = SegmentFactory(name="Retail"), SegmentFactory(name="Wholesale")
        self.anna = UserFactory(username="anna", first_name="Anna", last_name="Albers", role="Account managers")
        self.ben = UserFactory(username="ben", first_name="Ben", last_name="Brandt", role="Account managers")
        self.survey = SurveyFactory(questions=False)
        self.statuses: dict[int, tuple[str, str]] = {}  # customer id: (status at the snapshot, now)

    def customer(self, segment, manager, purchases=(), refunds=(), may="active", now="active") -> Customer:
        customer = CustomerFactory(segment=segment, account_manager=manager)
        for when, amount in purchases:
            TransactionFactory(customer=customer, occurred_at=when, amount=Decimal(amount))
        for when, amount in refunds:
            TransactionFactory(customer=customer, occurred_at=when, amount=Decimal(amount), kind="refund")
        if purchases:  # as an import leaves them
            customer.first_purchase_at = min(w for w, _ in purchases)
            customer.last_purchase_at = max(w for w, _ in purchases)
            customer.order_count = len(purchases)
            customer.save()
        self.statuses[customer.pk] = (may, now)
        return customer

    def defect(self, customer, as_of, kind="passive", reason="", lost=1000, back=None, **fields) -> DefectionEvent:
        return DefectionEvent.objects.create(
            customer=customer,
            kind=kind,
            as_of=as_of,
            detected_at=at(as_of, 6),
            status_changed_at=back or at(as_of, 6),
            last_purchase_at=customer.last_purchase_at,
            lost_revenue=Decimal(lost),
            primary_reason=reason,
            status=fields.pop("status", "recovered" if back else "open"),
            recovered_at=back,
            **fields,
        )

    def invite(self, event, sent, answered=None):
        InvitationFactory(
            event=event, customer=event.customer, survey=self.survey, status="sent", sent_at=sent, responded_at=answered
        )

    def case(self, event, owner, opened, contact_hours=None, outcome=None, closed=None, offers=(), **fields):
        case = CaseFactory(
            customer=event.customer,
            event=event,
            owner=owner,
            segment=fields.pop("segment", event.customer.segment),
            opened_at=opened,
            first_contact_at=opened + dt.timedelta(hours=contact_hours) if contact_hours else None,
            stage=outcome or Stage.CONTACTING,
            is_open=outcome is None,
            closed_at=closed,
            won_back_at=closed if outcome == Stage.WON_BACK else None,
            deadline_at=fields.pop("deadline", opened + 3 * DAY) if outcome is None else None,
            **fields,
        )
        for status, cost, decided in offers:
            OfferFactory(case=case, status=status, cost=Decimal(cost), decided_at=decided, created_by=self.anna)
        return case

    def build(self):
        self.generated()
        self.edges()
        self.set_statuses(0)
        self.snapshot = frame(Customer, "id", "segment_id", "account_manager_id", "status")
        record_at_risk(SNAPSHOT_MONTH)
        self.set_statuses(1)
        refresh_facts()
        return self

    def set_statuses(self, which: int):
        for pk, statuses in self.statuses.items():
            Customer.objects.filter(pk=pk).update(status=statuses[which])

    def generated(self):
        """36 customers over both segments, both managers and neither; purchases from 2025-04 on."""
        reasons = ["", Reason.PRICE, Reason.SERVICE, Reason.DELIVERY, Reason.PRICE, Reason.PRODUCT_QUALITY]
        for i in range(36):
            segment = (self.retail, self.wholesale, None)[i % 3]
            manager = (self.anna, self.ben, None)[i // 3 % 3]
            first = at(shift(D(2025, 4, 1), i % 13).replace(day=1 + i * 5 % 27), 8 + i % 12)
            buys = [(first + 30 * k * DAY, 40 + 7 * i) for k in range(1 + i % 4)]
            last = buys[-1][0]
            as_of = last.date() + 95 * DAY if i % 3 == 0 else last.date() + 10 * DAY if i % 5 == 1 else None
            if as_of is None or as_of >= NOW.date():
                risk = ("at_risk" if i % 7 in (2, 4) else "active", "at_risk" if i % 7 == 2 else "active")
                self.customer(segment, manager, buys, [(first + 3 * DAY, 15)] if i % 6 == 0 else [], *risk)
                continue
            back = at(as_of + 35 * DAY, 11) if i % 2 == 0 and at(as_of + 35 * DAY, 11) < NOW else None
            later = [(back, 80), (back + 20 * DAY, 60)] if back else []
            refunds = [(w, 10) for w in ([back + 25 * DAY] if back and i % 4 == 0 else []) + [first + 3 * DAY][: i % 2]]
            status = "won_back" if back else "defected"
            customer = self.customer(segment, manager, buys + [b for b in later if b[0] < NOW], refunds, status, status)
            kind = "passive" if i % 3 == 0 else "active"
            event = self.defect(customer, as_of, kind, reasons[i % 6], 100 + 37 * i, back)
            sent = at(as_of + DAY, 10)
            if i % 4 != 2 and sent < NOW:
                self.invite(event, sent, sent + 2 * DAY if i % 4 in (0, 1) and sent + 2 * DAY < NOW else None)
            opened = at(as_of + 2 * DAY, 9)
            if i % 4 == 1 or opened >= NOW:
                continue
            owner = self.ben if i % 8 == 3 else manager
            hours = None if i % 5 == 4 else 3 + i
            if back:
                offer = [("accepted", 20 + i, back - 2 * DAY)]
                self.case(event, owner, opened, hours, Stage.WON_BACK, back, offer, value_at_stake=event.lost_revenue)
            elif opened + 20 * DAY < NOW and i % 4 == 3:
                outcome = Stage.LET_GO if i % 3 == 2 else Stage.LOST
                self.case(event, owner, opened, hours, outcome, opened + 20 * DAY, value_at_stake=300 + i)
            else:
                offers = [("declined", 30, opened + 4 * DAY)] if i % 5 == 0 else []
                self.case(event, owner, opened, hours, offers=offers, value_at_stake=500 + 11 * i)

    def edges(self):
        r, w, anna, ben = self.retail, self.wholesale, self.anna, self.ben
        # An event on the first day of a month.
        c = self.customer(r, anna, [(at(D(2025, 5, 3), 10), 90), (at(D(2025, 9, 28), 10), 110)], now="defected")
        e = self.defect(c, D(2026, 1, 1), reason=Reason.DELIVERY, lost=900)
        self.invite(e, at(D(2026, 1, 2), 10))
        self.case(e, anna, at(D(2026, 1, 2), 9), 30, deadline=at(D(2026, 1, 10)))  # overdue now
        # An event on the last day of a month, won back at 00:30 local the next day (still Jan in UTC),
        # the offer accepted at 00:15 local; a purchase at 23:30 local on Apr 30, one at 00:30 on May 1.
        back = at(D(2026, 2, 1), 0, 30)
        buys = [(at(D(2025, 6, 10)), 300), (at(D(2025, 12, 20)), 280), (back, 250)]
        buys += [(at(D(2026, 4, 30), 23, 30), 120), (at(D(2026, 5, 1), 0, 30), 90)]
        c = self.customer(w, ben, buys, [(at(D(2026, 5, 20)), 30)], "won_back", "won_back")
        e = self.defect(c, D(2026, 1, 31), "active", Reason.PRICE, 1500, back)
        self.invite(e, at(D(2026, 1, 31), 23, 30), at(D(2026, 2, 3)))
        offer = [("accepted", 200, at(D(2026, 2, 1), 0, 15))]
        self.case(e, ben, at(D(2026, 1, 31), 15), 4, Stage.WON_BACK, back, offer, value_at_stake=1500)
        # A first purchase at 00:30 local on Mar 1 (Feb 28 in UTC): the March cohort.
        self.customer(None, None, [(at(D(2026, 3, 1), 0, 30), 75), (at(D(2026, 5, 5)), 80)])
        # A relapse: won back in November, defected again as of Mar 31, won back again in May; the
        # first case owned by Anna, the relapse case by Ben (the customer's manager now).
        first_back, second_back = at(D(2025, 11, 3), 10), at(D(2026, 5, 10), 9)
        buys = [(at(D(2025, 4, 10)), 100), (at(D(2025, 5, 12)), 100), (at(D(2025, 6, 14)), 100)]
        buys += [(first_back, 300), (at(D(2025, 12, 1)), 200), (second_back, 150), (at(D(2026, 6, 1)), 100)]
        c = self.customer(r, ben, buys, [(at(D(2025, 12, 5)), 50)], "won_back", "won_back")
        e1 = self.defect(c, D(2025, 9, 20), reason=Reason.SERVICE, lost=1200, back=first_back)
        e2 = self.defect(c, D(2026, 3, 31), reason=Reason.SERVICE, lost=1250, back=second_back, relapse=True)
        self.case(e1, anna, at(D(2025, 9, 22), 9), 48, Stage.WON_BACK, first_back, value_at_stake=1200)
        offer = [("accepted", 75, at(D(2026, 5, 8)))]
        opened = at(D(2026, 4, 1), 9)
        self.case(e2, ben, opened, 2, Stage.WON_BACK, second_back, offer, value_at_stake=1250, relapse=True)
        # A dismissed false alarm: left out everywhere.
        c = self.customer(w, anna, [(at(D(2025, 8, 1)), 500), (at(D(2025, 10, 1)), 500)])
        self.defect(c, D(2026, 1, 15), reason=Reason.OTHER, lost=5000, status="closed", closed_reason="Seasonal")
        # A cancellation on the day of the only purchase: a defection, but never in the active stock.
        c = self.customer(None, anna, [(at(D(2026, 3, 10), 9), 60)], now="defected")
        e = self.defect(c, D(2026, 3, 10), "active", Reason.CHANGED_NEEDS, 300)
        self.case(e, None, at(D(2026, 3, 11), 9), 1, Stage.LET_GO, at(D(2026, 3, 31), 23, 30), segment=None)
        # Never bought.
        self.customer(r, None)
        # Moved to Wholesale since its case opened (case segment Retail), case owned by Ben.
        c = self.customer(w, anna, [(at(D(2025, 7, 7)), 210), (at(D(2025, 10, 7)), 190)], now="defected")
        e = self.defect(c, D(2026, 2, 28), reason=Reason.SERVICE, lost=1100)
        self.invite(e, at(D(2026, 3, 1), 10), at(D(2026, 3, 5), 10))
        declined = [("declined", 40, at(D(2026, 3, 9)))]
        self.case(e, ben, at(D(2026, 3, 2), 9), 20, Stage.LOST, at(D(2026, 4, 15)), declined, segment=r)
        # An open case since January with nobody contacted yet, deadline ahead.
        c = self.customer(w, None, [(at(D(2025, 9, 9)), 400)], now="defected")
        e = self.defect(c, D(2025, 12, 31), lost=700)
        self.case(e, anna, at(D(2026, 1, 5), 9), deadline=at(D(2026, 7, 1)), value_at_stake=650)


# --- the definitions, in pandas over the raw rows ------------------------------------------


def frame(model, *fields, times=()) -> pd.DataFrame:
    df = pd.DataFrame.from_records(list(model.objects.values(*fields)), columns=list(fields))
    for name in times:
        df[name] = pd.to_datetime(df[name], utc=True).dt.tz_convert(TZ)
    for name, source in (("segment", "segment_id"), ("manager", "account_manager_id"), ("owner", "owner_id")):
        if source in df:
            df[name] = df[source].fillna(0).astype(int)
    return df


def midnight(day: dt.date) -> pd.Timestamp:
    return pd.Timestamp(day).tz_localize(TZ)


def within(times: pd.Series, first: dt.date, end: dt.date) -> pd.Series:
    return (times >= midnight(first)) & (times < midnight(end))


def ratio(part, whole):
    return part / whole if whole else None


def pick(df, f: Filters, segment="segment", manager="manager") -> pd.DataFrame:
    keep = pd.Series(True, index=df.index)
    if f.segment is not None:
        keep &= df[segment] == f.segment
    if f.manager is not None:
        keep &= df[manager] == f.manager
    return df[keep]


class Expected:
    """The figures for one filter, computed from the raw rows."""

    def __init__(self, f: Filters, snapshot: pd.DataFrame):
        tx = frame(Transaction, "customer_id", "occurred_at", "amount", "kind", times=["occurred_at"])
        tx["signed"] = tx.amount.astype(float) * tx.kind.map({"purchase": 1, "refund": -1})
        first = tx[tx.kind == "purchase"].groupby("customer_id").occurred_at.min()
        customers = frame(Customer, "id", "segment_id", "account_manager_id", "status")
        customers["first"] = customers.id.map(first)
        fields = ("id", "customer_id", "kind", "as_of", "lost_revenue", "primary_reason", "status", "recovered_at")
        events = frame(DefectionEvent, *fields, times=["recovered_at"])
        events = events[events.status != "closed"].copy()  # a dismissed false alarm is not churn
        events["as_of"], events["lost"] = pd.to_datetime(events.as_of), events.lost_revenue.astype(float)
        events["first"], events["start"] = events.customer_id.map(first), events.as_of.dt.tz_localize(TZ)
        invitations = frame(
            Invitation, "event_id", "customer_id", "sent_at", "responded_at", times=["sent_at", "responded_at"]
        )
        times = ["opened_at", "first_contact_at", "closed_at", "won_back_at", "deadline_at"]
        fields = ("id", "customer_id", "event_id", "segment_id", "owner_id", "stage", "is_open", "value_at_stake")
        cases = frame(Case, *fields, *times, times=times)
        offers = frame(Offer, "case_id", "status", "cost", "decided_at", times=["decided_at"])
        self.f, self.all_tx, self.all_cases, self.all_offers = f, tx, cases, offers
        self.customers = pick(customers, f)
        mine = self.customers.id
        self.events, self.tx = events[events.customer_id.isin(mine)], tx[tx.customer_id.isin(mine)]
        self.invitations = invitations[invitations.customer_id.isin(mine)]
        # Offers follow the customer's dimensions; cases (open, stake, people) the case's owner and segment.
        self.offers = offers[offers.case_id.isin(cases[cases.customer_id.isin(mine)].id)]
        self.with_offer = set(cases[cases.id.isin(offers[offers.status == "accepted"].case_id)].customer_id)
        self.cases = pick(cases, f, manager="owner")
        self.snapshot, self.memo = pick(snapshot, f), {}

    def active_at(self, day: dt.date, customers=None, cohort=None) -> int:
        """Bought before the day, minus those with a defection as of before it (having bought before
        its as-of day) not won back before it."""
        if (day, cohort) not in self.memo:
            customers = self.customers if customers is None else customers
            joined, start = customers[customers["first"] < midnight(day)], midnight(day)
            e = self.events[self.events.customer_id.isin(joined.id)]
            out = e[(e.start < start) & (e["first"] < e.start) & ~(e.recovered_at < start)]
            self.memo[day, cohort] = len(set(joined.id) - set(out.customer_id))
        return self.memo[day, cohort]

    def defected(self, first: dt.date, end: dt.date) -> pd.DataFrame:
        return self.events[(self.events.as_of >= pd.Timestamp(first)) & (self.events.as_of < pd.Timestamp(end))]

    def recovered_revenue(self, first, end, only=None) -> float:
        since = self.events.dropna(subset=["recovered_at"]).groupby("customer_id").recovered_at.min()
        tx = self.tx[self.tx.customer_id.isin(since.index if only is None else since.index.intersection(list(only)))]
        return tx[(tx.occurred_at >= tx.customer_id.map(since)) & within(tx.occurred_at, first, end)].signed.sum()

    def open_cases(self, p) -> pd.DataFrame:
        end = NOW if p.first <= THIS_MONTH <= p.last else midnight(p.end)
        return self.cases[(self.cases.opened_at < end) & ~(self.cases.closed_at < end)]

    def at_risk(self, p):
        last = min(p.last, THIS_MONTH)
        rows = self.customers if last == THIS_MONTH else self.snapshot if last == SNAPSHOT_MONTH else None
        return None if rows is None else int((rows.status == "at_risk").sum())

    def headline(self, p) -> dict:
        d, active = self.defected(p.first, p.end), self.active_at(p.first)
        sent = self.invitations[within(self.invitations.sent_at, p.first, p.end)]
        accepted = self.offers[(self.offers.status == "accepted") & within(self.offers.decided_at, p.first, p.end)]
        cost, open_cases = accepted.cost.astype(float).sum(), self.open_cases(p)
        return {
            "active_start": active,
            "defected": len(d),
            "defected_passive": int((d.kind == "passive").sum()),
            "defected_active": int((d.kind == "active").sum()),
            "churn_rate": ratio(len(d), active),
            "lost_revenue": d.lost.sum(),
            "at_risk": self.at_risk(p),
            "won_back": int(within(self.events.recovered_at, p.first, p.end).sum()),
            "recovered_revenue": self.recovered_revenue(p.first, p.end),
            "win_back_rate": ratio(int((d.status == "recovered").sum()), len(d)),
            "survey_response_rate": ratio(int(sent.responded_at.notna().sum()), len(sent)),
            "open_cases": len(open_cases),
            "stake": open_cases.value_at_stake.astype(float).sum(),
            "offer_cost": cost,
            "offer_return": ratio(self.recovered_revenue(p.first, p.end, self.with_offer), cost),
        }

    def monthly(self, p) -> list[dict]:
        last = min(p.last, THIS_MONTH)
        rows = []
        for month in (shift(last, k) for k in range(-23, 1)):
            d, active = self.defected(month, shift(month, 1)), self.active_at(month)
            passive = int((d.kind == "passive").sum())
            rows.append(
                {"month": month, "active_start": active, "defected": len(d), "passive": passive}
                | {"active": len(d) - passive, "churn_rate": ratio(len(d), active), "lost_revenue": d.lost.sum()}
            )
        return rows

    def reasons(self, p) -> dict:
        d = self.defected(p.first, p.end)
        return {reason: (len(g), g.lost.sum()) for reason, g in d.groupby("primary_reason")}

    def funnel(self, p) -> dict:
        d = self.defected(p.first, p.end)
        inv, cases = self.invitations, self.all_cases[self.all_cases.event_id.isin(d.id)]
        offered = cases[cases.id.isin(self.all_offers.case_id)]
        return {
            "defected": len(d),
            "invited": int(d.id.isin(inv[inv.sent_at.notna()].event_id).sum()),
            "answered": int(d.id.isin(inv[inv.responded_at.notna()].event_id).sum()),
            "contacted": int(d.id.isin(cases[cases.first_contact_at.notna()].event_id).sum()),
            "offered": int(d.id.isin(offered.event_id).sum()),
            "won_back": int((d.status == "recovered").sum()),
        }

    def cohorts(self, p) -> dict:
        last, found = min(p.last, THIS_MONTH), {}
        for cohort in (shift(last, k) for k in range(-11, 1)):
            joined = self.customers[within(self.customers["first"], cohort, shift(cohort, 1))]
            if len(joined):
                months = [shift(cohort, k) for k in range(12)]
                found[cohort] = (
                    len(joined),
                    [None if m > last else self.active_at(shift(m, 1), joined, cohort) / len(joined) for m in months],
                )
        return found

    def people(self, p) -> dict:
        cases, today = self.cases, p.first <= THIS_MONTH <= p.last
        open_cases = self.open_cases(p)
        contacted = cases[within(cases.opened_at, p.first, p.end) & cases.first_contact_at.notna()]
        closed = cases[within(cases.closed_at, p.first, p.end) & ~cases.is_open]
        names = {u.pk: u.get_full_name() for u in get_user_model().objects.all()}
        found = {}
        for owner in set(cases.owner):
            o = open_cases[open_cases.owner == owner]
            days = (
                contacted[contacted.owner == owner].eval("first_contact_at - opened_at").dt.total_seconds() / 86400
            ).median()
            c = closed[closed.owner == owner]
            row = {
                "name": names.get(owner, "Unassigned"),
                "open_cases": len(o),
                "overdue": int((o.is_open & (o.deadline_at < NOW)).sum()) if today else None,  # now only
                "median_contact_days": None if pd.isna(days) else round(days, 1),
                "win_rate": ratio(int((c.stage == Stage.WON_BACK).sum()), len(c)),
                "recovered_revenue": self.case_revenue(cases[cases.owner == owner], p),
            }
            if row["open_cases"] or row["recovered_revenue"] or row["win_rate"] is not None or row["overdue"]:
                found[owner] = row
        return found

    def case_revenue(self, cases, p) -> float:
        """Net purchases from a case's win-back until a later case of the customer was won back."""
        total, won = 0.0, self.all_cases.dropna(subset=["won_back_at"])
        for case in cases.dropna(subset=["won_back_at"]).itertuples():
            later = won[(won.customer_id == case.customer_id) & (won.won_back_at > case.won_back_at)].won_back_at
            tx = self.all_tx[
                (self.all_tx.customer_id == case.customer_id) & (self.all_tx.occurred_at >= case.won_back_at)
            ]
            if len(later):
                tx = tx[tx.occurred_at < later.min()]
            total += tx[within(tx.occurred_at, p.first, p.end)].signed.sum()
        return total


# --- the tests -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    first: dt.date
    last: dt.date

    @property
    def end(self) -> dt.date:
        return shift(self.last, 1)

    def before(self) -> "Span":
        length = (self.last.year - self.first.year) * 12 + self.last.month - self.first.month + 1
        return Span(shift(self.first, -length), shift(self.first, -1))


@pytest.fixture
def history() -> History:
    return History().build()


def every_filter(history: History):
    """(label, segment, manager, the expected figures): all, each segment, none, each manager, none…"""
    retail, wholesale, anna, ben = history.retail.pk, history.wholesale.pk, history.anna.pk, history.ben.pk
    choices = [("all", None, None), ("Retail", retail, None), ("Wholesale", wholesale, None)]
    choices += [("no segment", 0, None), ("Anna", None, anna), ("Ben", None, ben), ("no manager", None, 0)]
    choices += [("Retail and Anna", retail, anna), ("Wholesale and Ben", wholesale, ben), ("neither", 0, 0)]
    for label, segment, manager in choices:
        yield label, segment, manager, Expected(Filters(PERIODS[0], segment, manager), history.snapshot)


def same(expected, actual) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    return abs(float(expected) - float(actual)) < 1e-6


def check(problems: list, where: str, expected, actual):
    if not same(expected, actual):
        problems.append(f"{where}: expected {expected!r}, got {actual!r}")


def test_every_headline_figure_and_its_previous_value_match_the_definitions(history):
    problems = []
    for label, segment, manager, expected in every_filter(history):
        for period in PERIODS:
            data = build_dashboard(Filters(period, segment, manager))
            span = Span(period.first, period.last)
            assert (data.previous.first, data.previous.last) == (span.before().first, span.before().last)
            now, before = expected.headline(span), expected.headline(span.before())
            assert set(data.headline) == set(now)
            for key, figure in data.headline.items():
                check(problems, f"{label} {period.label} {key}", now[key], figure.value)
                check(problems, f"{label} {period.label} {key} (previous)", before[key], figure.previous)
    assert not problems, "\n".join(problems)


def test_monthly_rows_reasons_and_funnel_match_the_definitions(history):
    problems, labels = [], dict(Reason.choices)
    for label, segment, manager, expected in every_filter(history):
        for period in PERIODS:
            data, span, where = (
                build_dashboard(Filters(period, segment, manager)),
                Span(period.first, period.last),
                f"{label} {period.label}",
            )
            rows = expected.monthly(span)
            assert [r.month for r in data.monthly] == [r["month"] for r in rows]
            for row, want in zip(data.monthly, rows, strict=True):
                for key in ("active_start", "defected", "passive", "active", "churn_rate", "lost_revenue"):
                    check(problems, f"{where} monthly {row.month:%Y-%m} {key}", want[key], getattr(row, key))
            reasons = expected.reasons(span)
            assert {r.reason for r in data.reasons} == set(reasons), where
            for row in data.reasons:
                check(problems, f"{where} reason {row.reason!r} events", reasons[row.reason][0], row.events)
                check(problems, f"{where} reason {row.reason!r} lost revenue", reasons[row.reason][1], row.lost_revenue)
                assert row.label == str(labels.get(row.reason, "Not yet known"))
            assert [r.lost_revenue for r in data.reasons] == sorted(
                (r.lost_revenue for r in data.reasons), reverse=True
            )
            funnel = expected.funnel(span)
            assert [step.key for step in data.funnel] == list(funnel)
            for step in data.funnel:
                check(problems, f"{where} funnel {step.key}", funnel[step.key], step.count)
    assert not problems, "\n".join(problems)


def test_cohort_retention_matches_the_definitions(history):
    problems = []
    for label, segment, manager, expected in every_filter(history):
        for period in PERIODS:
            data, cohorts = (
                build_dashboard(Filters(period, segment, manager)),
                expected.cohorts(Span(period.first, period.last)),
            )
            shown = {row.cohort: row for row in data.cohorts if row.joined}
            assert set(shown) == set(cohorts), f"{label} {period.label}"
            assert len(data.cohorts) <= 12
            assert all(row.cohort <= min(period.last, THIS_MONTH) for row in data.cohorts)
            for cohort, (joined, retention) in cohorts.items():
                where = f"{label} {period.label} cohort {cohort:%Y-%m}"
                check(problems, f"{where} joined", joined, shown[cohort].joined)
                assert len(shown[cohort].retention) == 12, where
                for offset, (want, got) in enumerate(zip(retention, shown[cohort].retention, strict=True)):
                    check(problems, f"{where} month +{offset}", want, got)
    assert not problems, "\n".join(problems)


def test_people_follow_the_case_owner_and_the_case_segment(history):
    problems = []
    for label, segment, manager, expected in every_filter(history):
        for period in PERIODS:
            data, people = (
                build_dashboard(Filters(period, segment, manager)),
                expected.people(Span(period.first, period.last)),
            )
            shown = {row.manager_key: row for row in data.people}
            where = f"{label} {period.label}"
            if set(shown) != set(people):
                problems.append(f"{where} people: expected {sorted(people)}, got {sorted(shown)}")
            for key in set(shown) & set(people):
                for name, want in people[key].items():
                    if name == "name":
                        assert shown[key].name == want, where
                    elif name != "overdue" or want is not None:  # overdue is known for now only
                        check(problems, f"{where} person {key} {name}", want, getattr(shown[key], name))
    assert not problems, "\n".join(problems)


def test_the_history_reaches_every_period_edge(history):
    """The hand-made rows do exercise the edges the other tests rely on (checked on the raw rows)."""
    everyone = Expected(Filters(PERIODS[0]), history.snapshot)
    january = everyone.defected(D(2026, 1, 1), D(2026, 2, 1))
    assert {D(2026, 1, 1), D(2026, 1, 31)} <= set(january.as_of.dt.date)
    assert 5000 not in set(january.lost)  # the dismissed false alarm
    won_feb = everyone.events[within(everyone.events.recovered_at, D(2026, 2, 1), D(2026, 2, 2))]
    assert len(won_feb) == 1
    assert won_feb.recovered_at.dt.tz_convert("UTC").dt.month.tolist() == [1]
    late = everyone.customers[everyone.customers["first"] == midnight(D(2026, 3, 1)) + pd.Timedelta(minutes=30)]
    assert len(late) == 1
    assert late["first"].dt.tz_convert("UTC").dt.month.tolist() == [2]
    assert (everyone.active_at(D(2026, 3, 1), late, "late"), everyone.active_at(D(2026, 4, 1), late, "late")) == (0, 1)
    assert DefectionEvent.objects.filter(relapse=True).count() == 1
    assert everyone.at_risk(Span(THIS_MONTH, THIS_MONTH))
    assert everyone.at_risk(Span(SNAPSHOT_MONTH, SNAPSHOT_MONTH))
    assert Case.objects.exclude(owner=None).exclude(owner_id=models.F("customer__account_manager_id")).exists()
    assert Case.objects.exclude(segment_id=models.F("customer__segment_id")).exists()
