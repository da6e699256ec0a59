"""The hand-made history of winback/tests/test_dashboard_figures.py: 45 customers over 15 months
in two segments and two account managers (and without either), with purchases, refunds, defection
events at period edges, win-backs, a dismissed false alarm, a relapse, invitations, cases and
offers. Today is 2026-06-15 in the business time zone."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pandas as pd
from django.conf import settings

from cases.models import Stage
from cases.tests.factories import CaseFactory, OfferFactory
from customers.models import Customer, DefectionEvent, Reason
from customers.tests.factories import CustomerFactory, SegmentFactory, TransactionFactory
from surveys.tests.factories import InvitationFactory, SurveyFactory
from winback.dashboard.periods import custom_period, month_period, quarter_period, year_period
from winback.dashboard.refresh import record_at_risk, refresh_facts
from winback.tests.factories import UserFactory

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
