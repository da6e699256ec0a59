"""Two housekeeping runs and two digest runs at the same moment, each on its own database connection:
every case opens once, every offer expires once, every overdue item is mailed once (RELIABILITY.md
JOB-03). The second connection sees committed rows only, so these tests commit."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from cases.models import Case, CaseEvent, CaseSettings, Offer, OverdueNotice
from cases.services.digest import send_overdue_digests
from cases.services.housekeeping import run_housekeeping
from cases.tests.factories import CaseFactory, OfferFactory
from customers.tests.factories import CustomerFactory
from surveys.tests.factories import DefectionEventFactory
from winback.tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def at_once(work, times: int = 2) -> list:
    """Runs `work` in `times` threads released together; returns their results (or errors)."""
    barrier = threading.Barrier(times)
    results: list = [None] * times

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work()
        except Exception as error:  # reported by the assertions
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_two_concurrent_runs_open_each_case_once_and_take_round_robin_turns(short_lived_db_connections):
    managers = [UserFactory(role="Account managers") for _ in range(3)]
    settings = CaseSettings.load()
    settings.round_robin = True
    settings.save()
    events = [
        DefectionEventFactory(customer=CustomerFactory(status="defected"), lost_revenue=Decimal("2000"))
        for _ in range(60)
    ]
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    offers = [OfferFactory(expires_on=yesterday, case__owner=managers[0]) for _ in range(5)]

    results = at_once(run_housekeeping, times=3)

    assert not [result for result in results if isinstance(result, Exception)], results
    opened = sum(int(result.split("opened ")[1].split(" ")[0]) for result in results)
    assert opened == 60, results
    assert Case.objects.filter(event__in=events).count() == 60
    assert CaseEvent.objects.filter(kind=CaseEvent.Kind.OPENED, case__event__in=events).count() == 60
    owners = sorted(Case.objects.filter(event__in=events).values_list("owner_id", flat=True))
    assert owners == sorted([manager.pk for manager in managers] * 20)  # each manager in turn
    assert Offer.objects.filter(pk__in=[offer.pk for offer in offers], status="expired").count() == 5
    assert CaseEvent.objects.filter(kind=CaseEvent.Kind.OFFER).count() == 5


def test_two_concurrent_digest_runs_mail_each_item_once(short_lived_db_connections):
    past = timezone.now() - dt.timedelta(days=5)
    owners = [UserFactory(role="Account managers") for _ in range(4)]
    for owner in owners:
        for _ in range(3):
            CaseFactory(owner=owner, first_contact_due=past, deadline_at=past)

    results = at_once(send_overdue_digests, times=3)

    assert not [result for result in results if isinstance(result, Exception)], results
    assert sum(results) == 4
    assert sorted(message.to[0] for message in mail.outbox) == sorted(owner.email for owner in owners)
    assert OverdueNotice.objects.count() == 12
    assert OverdueNotice.objects.filter(sent_at__isnull=True).count() == 0
