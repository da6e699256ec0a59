"""The demo company behind `manage.py seed_demo`.

`build_demo` is a pure function: from a seeded random generator and "now" it makes plain Python
records (customers with their purchases, refunds and interactions), so the same seed on the same
day gives the same company. `seed_demo` writes those records with a few bulk inserts in one
transaction, together with the demo users and segments.

What the data is meant to show: two years of purchases with seasonality (busy November, December
and spring, quiet summer), per-customer rhythms, and about 15% of customers who stopped buying
3–10 months ago, some slowly (gaps growing), some suddenly, often after a complaint.
"""

import datetime as dt
import random
import re
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from customers import demo_data as data
from customers.models import Customer, Interaction, Segment, Transaction
from winback.services import user_create

SEED = 2026
DEFAULT_SIZE = 2400
BATCH_SIZE = 2000
HISTORY_DAYS = 730
QUIET_SHARE = 0.15
RHYTHM_DAYS = {"monthly": 30, "quarterly": 91, "twice_a_year": 182, "one_time": None}
# How busy each month is: a gap between purchases shrinks in busy months.
SEASON = {1: 0.9, 2: 0.95, 3: 1.15, 4: 1.2, 5: 1.15, 6: 0.8, 7: 0.7, 8: 0.7, 9: 1.0, 10: 1.05, 11: 1.4, 12: 1.6}
CENT = Decimal("0.01")
# Copied as they are from a DemoCustomer to a Customer.
CUSTOMER_FIELDS = "external_id name email phone company language do_not_contact preferred_channel contact_notes"

Kind = Interaction.Kind
Channel = Interaction.Channel


@dataclass
class DemoInteraction:
    occurred_at: dt.datetime
    kind: str
    channel: str
    summary: str
    owner: str | None
    status: str = Interaction.Status.RESOLVED
    due_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None


@dataclass
class DemoCustomer:
    external_id: str
    name: str
    email: str
    phone: str
    company: str
    segment: str
    manager: str | None
    language: str
    do_not_contact: bool
    preferred_channel: str
    contact_notes: str
    rhythm: str
    fate: str  # "active", "one_time", "quiet_slow" or "quiet_sudden"
    purchases: list[tuple[dt.datetime, Decimal]] = field(default_factory=list)
    refunds: list[tuple[dt.datetime, Decimal]] = field(default_factory=list)
    interactions: list[DemoInteraction] = field(default_factory=list)

    @property
    def lifetime_revenue(self) -> Decimal:
        return sum((a for _, a in self.purchases), Decimal(0)) - sum((a for _, a in self.refunds), Decimal(0))


@dataclass
class SeedResult:
    loaded: bool
    customers: int = 0
    transactions: int = 0
    interactions: int = 0
    users: list[tuple[str, str, str]] = field(default_factory=list)  # username, full name, role


def build_demo(*, size: int, now: dt.datetime, rng: random.Random) -> list[DemoCustomer]:
    """The demo customers with everything that happened to them up to `now` (no database)."""
    tz = ZoneInfo(settings.TIME_ZONE)
    today = timezone.localtime(now, tz).date()
    quiet = rng.sample(range(size), round(size * QUIET_SHARE))
    fates = {number: "quiet_slow" if index % 2 else "quiet_sudden" for index, number in enumerate(quiet)}
    customers = [
        _build_customer(rng, number=n + 1, fate=fates.get(n, "active"), today=today, tz=tz) for n in range(size)
    ]
    _add_open_requests(rng, customers, today=today, tz=tz)
    return customers


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _at(rng: random.Random, day: dt.date, tz: ZoneInfo) -> dt.datetime:
    """A moment in business hours of the day (never inside a DST gap, which is at night)."""
    return dt.datetime.combine(day, dt.time(rng.randint(8, 19), rng.randint(0, 59)), tzinfo=tz)


def _ascii(text: str, language: str) -> str:
    table = data.TRANSLITERATION_BG if language == "bg" else data.TRANSLITERATION
    return re.sub(r"[^a-z0-9]", "", "".join(table.get(char, char) for char in text.lower()))


def _surname(surname: str, language: str, female: bool) -> str:
    if not female:
        return surname
    if language in ("ru", "bg") and surname.endswith(("ов", "ев", "ёв", "ин")):
        return surname + "а"
    if language == "pl" and surname.endswith(("ski", "cki")):
        return surname[:-1] + "a"
    return surname


def _build_customer(rng: random.Random, *, number: int, fate: str, today: dt.date, tz: ZoneInfo) -> DemoCustomer:
    segment = _pick(rng, {name: profile["share"] for name, profile in data.SEGMENTS.items()})
    profile = data.SEGMENTS[segment]
    language = _pick(rng, data.LANGUAGES)
    female = rng.random() < 0.5
    first = rng.choice(data.FIRST_NAMES[language]["female" if female else "male"])
    last = _surname(rng.choice(data.SURNAMES[language]), language, female)
    local_part = f"{_ascii(first, language)}.{_ascii(last, language)}"
    if profile["business"]:
        prefix, industry = rng.choice(data.COMPANY_PREFIXES), rng.choice(data.INDUSTRIES)
        company = f"{prefix} {industry} {rng.choice(data.COMPANY_SUFFIXES[language])}"
        email = f"{local_part}@{_ascii(prefix, 'en')}-{_ascii(industry, 'en')}.example.com"
    else:
        company = ""
        email = f"{local_part}{rng.randint(1, 99)}@{rng.choice(data.CONSUMER_MAIL_DOMAINS)}"
    if fate == "active":
        rhythm = _pick(rng, profile["rhythms"])
        fate = "one_time" if rhythm == "one_time" else fate
    else:
        rhythm = "monthly" if rng.random() < 0.65 else "quarterly"  # only regular buyers can be seen to go quiet
    manager = None if segment != "Enterprise" and rng.random() < 0.15 else rng.choice(data.MANAGERS)
    do_not_contact, notes, channel = False, "", ""
    if rng.random() < 0.025:
        do_not_contact, notes = True, rng.choice(data.DO_NOT_CONTACT_NOTES)
    elif rng.random() < 0.07:
        notes, channel = rng.choice(data.CONTACT_NOTES)
    elif rng.random() < 0.3:
        channel = _pick(rng, {"email": 50, "phone": 25, "sms": 10, "post": 5, "meeting": 10 * profile["business"]})
    customer = DemoCustomer(
        external_id=f"C{number:06d}",
        name=f"{first} {last}",
        email=email,
        phone=_phone(rng, language) if rng.random() < 0.9 else "",
        company=company,
        segment=segment,
        manager=manager,
        language=language,
        do_not_contact=do_not_contact,
        preferred_channel=channel,
        contact_notes=notes,
        rhythm=rhythm,
        fate=fate,
    )
    _add_transactions(rng, customer, profile=profile, today=today, tz=tz)
    _add_interactions(rng, customer, today=today, tz=tz)
    return customer


def _phone(rng: random.Random, language: str) -> str:
    digits = rng.randint
    if language == "ru":
        return f"+7 495 {digits(100, 999)}-{digits(10, 99)}-{digits(10, 99)}"
    if language == "bg":
        return f"+359 2 {digits(100, 999)} {digits(1000, 9999)}"
    if language == "pl":
        return f"+48 22 {digits(100, 999)} {digits(10, 99)} {digits(10, 99)}"
    return f"+44 20 7946 0{digits(0, 999):03d}"  # Ofcom's range reserved for fiction


def _purchase_days(rng: random.Random, *, rhythm: str, fate: str, today: dt.date) -> list[dt.date]:
    """Purchase dates, walked backwards from the last one so a quiet customer's last purchase lands
    exactly 3–10 months ago; a slow leaver's gaps grow towards the end."""
    # Most customers were already buying when the two years of history begin; the rest joined since.
    days_ago = HISTORY_DAYS if rng.random() < 0.65 else rng.randint(30, HISTORY_DAYS)
    joined = today - dt.timedelta(days=days_ago)
    base = RHYTHM_DAYS[rhythm]
    if base is None:
        return [today - dt.timedelta(days=rng.randint(1, HISTORY_DAYS))]
    if fate == "active":
        last = today - dt.timedelta(days=rng.randint(1, max(1, int(base * 0.8))))
    else:
        last = today - dt.timedelta(days=rng.randint(92, 300))
        joined = max(min(joined, last - dt.timedelta(days=base * 6)), today - dt.timedelta(days=HISTORY_DAYS))
    days, day = [last], last
    while True:
        gap = base * rng.uniform(0.7, 1.3) * (1 + 1.6 * 0.6 ** (len(days) - 1) if fate == "quiet_slow" else 1)
        gap /= SEASON[(day - dt.timedelta(days=gap)).month]  # the month the earlier purchase falls in
        day -= dt.timedelta(days=max(3, round(gap)))
        if day < joined:
            break
        days.append(day)
    days.reverse()
    return days


def _add_transactions(rng: random.Random, customer: DemoCustomer, *, profile: dict, today: dt.date, tz) -> None:
    typical = profile["order_value"] * rng.lognormvariate(0, 0.4)
    for day in _purchase_days(rng, rhythm=customer.rhythm, fate=customer.fate, today=today):
        holiday = 1.15 if day.month in (11, 12) else 1
        amount = Decimal(typical * rng.uniform(0.75, 1.25) * holiday).quantize(CENT)
        customer.purchases.append((_at(rng, day, tz), amount))
        refund_day = day + dt.timedelta(days=rng.randint(2, 21))
        if rng.random() < 0.03 and refund_day < today:
            share = 1 if rng.random() < 0.5 else rng.uniform(0.2, 0.6)
            customer.refunds.append((_at(rng, refund_day, tz), (amount * Decimal(share)).quantize(CENT)))


def _interaction(
    rng: random.Random, customer: DemoCustomer, kind: str, summaries: list[str], day: dt.date, tz, channels: dict
) -> DemoInteraction:
    occurred_at = _at(rng, day, tz)
    needs_answer = kind in (Kind.SUPPORT_REQUEST, Kind.COMPLAINT, Kind.CANCELLATION)
    return DemoInteraction(
        occurred_at=occurred_at,
        kind=kind,
        channel=_pick(rng, channels),
        summary=rng.choice(summaries),
        owner=customer.manager,
        due_at=occurred_at + dt.timedelta(days=3) if needs_answer else None,
        resolved_at=occurred_at + dt.timedelta(hours=rng.randint(1, 96)),
    )


WRITTEN = {Channel.EMAIL: 40, Channel.PHONE: 30, Channel.CHAT: 15, Channel.WEB: 15}
KIND_TEXTS = {
    Kind.SUPPORT_REQUEST: (data.SUPPORT_REQUESTS, WRITTEN),
    Kind.PRAISE: (data.PRAISE, {Channel.EMAIL: 50, Channel.PHONE: 30, Channel.IN_PERSON: 20}),
    Kind.CALL: (data.CALLS, {Channel.PHONE: 80, Channel.IN_PERSON: 20}),
    Kind.CANCELLATION: (data.CANCELLATIONS, {Channel.EMAIL: 50, Channel.PHONE: 30, Channel.WEB: 20}),
}


def _add_interactions(rng: random.Random, customer: DemoCustomer, *, today: dt.date, tz) -> None:
    """Support requests, calls and praise over the customer's life; complaints and cancellations
    around a departure. Resolved ones are at least five days old, so they were resolved by now."""
    latest = today - dt.timedelta(days=5)
    first_day, last_day = customer.purchases[0][0].date(), customer.purchases[-1][0].date()
    quiet = customer.fate.startswith("quiet")
    end = min(last_day + dt.timedelta(days=20), latest) if quiet else latest

    def some_day(start: dt.date = first_day, stop: dt.date = end) -> dt.date:
        return min(start + dt.timedelta(days=rng.randint(0, max(0, (stop - start).days))), latest)

    def add(kind: str, day: dt.date, summaries: list[str] | None = None) -> None:
        texts, channels = KIND_TEXTS.get(kind, (data.COMPLAINTS, WRITTEN))
        customer.interactions.append(_interaction(rng, customer, kind, summaries or texts, day, tz, channels))

    for _ in range(rng.choices([0, 1, 2, 3], weights=[55, 25, 13, 7])[0]):
        add(Kind.SUPPORT_REQUEST, some_day())
    callable_ = not customer.do_not_contact and customer.preferred_channel not in ("email", "sms", "post")
    if data.SEGMENTS[customer.segment]["business"] and callable_ and rng.random() < 0.25:
        for _ in range(rng.randint(1, 2)):
            add(Kind.CALL, some_day())
    if not quiet and rng.random() < 0.1:
        add(Kind.PRAISE, some_day())
    if not quiet and rng.random() < 0.05:
        add(Kind.COMPLAINT, some_day(), data.MINOR_COMPLAINTS)
    if customer.fate == "quiet_sudden" and rng.random() < 0.6:
        add(Kind.COMPLAINT, some_day(last_day - dt.timedelta(days=7), last_day + dt.timedelta(days=20)))
    if customer.fate == "quiet_slow" and rng.random() < 0.35:
        add(Kind.COMPLAINT, some_day(customer.purchases[max(0, len(customer.purchases) - 3)][0].date(), last_day))
    if quiet and rng.random() < 0.18:
        add(Kind.CANCELLATION, some_day(last_day + dt.timedelta(days=3), last_day + dt.timedelta(days=30)))
    customer.interactions.sort(key=lambda interaction: interaction.occurred_at)


def _add_open_requests(rng: random.Random, customers: list[DemoCustomer], *, today: dt.date, tz) -> None:
    """Recent requests still awaiting an answer, owned by the two managers; half of them overdue."""
    count = max(min(len(customers), 6), len(customers) // 40)
    for index, customer in enumerate(rng.sample(customers, count)):
        due_day = today + dt.timedelta(days=-rng.randint(1, 6) if index % 2 == 0 else rng.randint(1, 6))
        day = min(due_day - dt.timedelta(days=rng.randint(2, 5)), today - dt.timedelta(days=1))
        complaint = rng.random() < 0.35
        customer.interactions.append(
            DemoInteraction(
                occurred_at=_at(rng, day, tz),
                kind=Kind.COMPLAINT if complaint else Kind.SUPPORT_REQUEST,
                channel=_pick(rng, WRITTEN),
                summary=rng.choice(data.MINOR_COMPLAINTS if complaint else data.SUPPORT_REQUESTS),
                owner=customer.manager or data.MANAGERS[index % 2],
                status=Interaction.Status.OPEN,
                due_at=dt.datetime.combine(due_day, dt.time(17, 0), tzinfo=tz),
            )
        )


def demo_already_loaded(*, if_empty: bool = False) -> bool:
    """True when a demo user or the first demo customer exists, or, with `if_empty`, any customer."""
    if if_empty and Customer.objects.exists():
        return True
    usernames = [username for username, *_ in data.DEMO_USERS]
    return (
        get_user_model().objects.filter(username__in=usernames).exists()
        or Customer.objects.filter(external_id="C000001").exists()
    )


DEMO_HISTORY_MONTHS = 6


@transaction.atomic
def seed_demo(*, size: int = DEFAULT_SIZE, if_empty: bool = False, now: dt.datetime | None = None) -> SeedResult:
    """Creates the demo users, segments, customers, transactions and interactions, unless the demo
    (or, with `if_empty`, any customer) is already there; then it writes nothing."""
    if demo_already_loaded(if_empty=if_empty):
        return SeedResult(loaded=False)
    users = {
        username: user_create(
            username=username, email=email, first_name=first, last_name=last, role=role, password=data.DEMO_PASSWORD
        )
        for username, first, last, email, role in data.DEMO_USERS
    }
    segments = {
        name: Segment.objects.get_or_create(
            name=name,
            defaults={key: profile[key] for key in ("at_risk_days", "defected_days", "case_min_annual_value")},
        )[0]
        for name, profile in data.SEGMENTS.items()
    }
    people = build_demo(size=size, now=now or timezone.now(), rng=random.Random(SEED))
    customer_ids = _write_customers(people, users=users, segments=segments)
    transactions = _write_transactions(people, customer_ids)
    interactions = Interaction.objects.bulk_create(
        (
            Interaction(
                customer_id=customer_ids[person.external_id],
                **(vars(item) | {"owner": users.get(item.owner), "created_by": users.get(item.owner)}),
            )
            for person in people
            for item in person.interactions
        ),
        batch_size=BATCH_SIZE,
    )
    replay_detection(months=DEMO_HISTORY_MONTHS)
    return SeedResult(
        loaded=True,
        customers=len(people),
        transactions=transactions,
        interactions=len(interactions),
        users=[(u, f"{first} {last}", str(role.label)) for u, first, last, _, role in data.DEMO_USERS],
    )


def replay_detection(*, months: int) -> None:
    """Runs detection as of the end of each of the last `months` months and then today, so the
    demo opens with statuses, status histories and defection events spread over time, and a
    backtest of the rules over the past year."""
    from customers.detection.engine import run_detection  # detection builds on this app's models

    today = timezone.localdate()
    month_end = today.replace(day=1) - dt.timedelta(days=1)
    days = []
    for _ in range(months):
        days.append(month_end)
        month_end = month_end.replace(day=1) - dt.timedelta(days=1)
    for day in reversed(days):
        run_detection(as_of=day, trigger="seed_demo")
    run_detection(trigger="seed_demo")
    # A backtest for the settings page: the last twelve months whose 180-day horizon is over.
    from customers.detection.backtest import run_backtest

    last_month = (today.replace(day=1) - dt.timedelta(days=200)).replace(day=1)
    first_month = (last_month - dt.timedelta(days=330)).replace(day=1)
    run_backtest(from_month=first_month, to_month=last_month, horizon_days=180)


def _write_customers(people: list[DemoCustomer], *, users: dict, segments: dict) -> dict[str, int]:
    """Inserts the customers with their metric columns computed from the generated purchases;
    returns customer ids by external id."""
    rows = [
        Customer(
            **{name: getattr(person, name) for name in CUSTOMER_FIELDS.split()},
            segment=segments[person.segment],
            account_manager=users.get(person.manager),
            first_purchase_at=person.purchases[0][0],
            last_purchase_at=person.purchases[-1][0],
            order_count=len(person.purchases),
            lifetime_revenue=person.lifetime_revenue,
        )
        for person in people
    ]
    Customer.objects.bulk_create(rows, batch_size=BATCH_SIZE)
    if any(row.pk is None for row in rows):  # a database that cannot return ids from a bulk insert
        external_ids = [row.external_id for row in rows]
        return dict(Customer.objects.filter(external_id__in=external_ids).values_list("external_id", "id"))
    return {row.external_id: row.pk for row in rows}


def _write_transactions(people: list[DemoCustomer], customer_ids: dict[str, int]) -> int:
    """Inserts purchases and refunds; transaction ids are numbered in time order, like a shop's."""
    entries = [
        (occurred_at, customer_ids[person.external_id], kind, amount)
        for person in people
        for kind, items in ((Transaction.Kind.PURCHASE, person.purchases), (Transaction.Kind.REFUND, person.refunds))
        for occurred_at, amount in items
    ]
    entries.sort(key=lambda entry: (entry[0], entry[1]))
    Transaction.objects.bulk_create(
        (
            Transaction(customer_id=customer_id, external_id=f"T{n:08d}", occurred_at=at, kind=kind, amount=amount)
            for n, (at, customer_id, kind, amount) in enumerate(entries, start=1)
        ),
        batch_size=BATCH_SIZE,
    )
    return len(entries)
