"""Changes to the cases settings an administrator makes: the settings row, the segments' own
value thresholds and the holiday list."""

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from cases.models import CaseSettings, Holiday, SegmentThreshold
from customers.models import Segment


@transaction.atomic
def settings_update(*, settings: CaseSettings, **fields) -> CaseSettings:
    for name, value in fields.items():
        setattr(settings, name, value)
    settings.full_clean()
    settings.save()
    return settings


@transaction.atomic
def thresholds_update(*, thresholds: dict[int, Decimal | None]) -> None:
    """{segment id: threshold or None}: None removes the segment's own threshold (the general one
    applies)."""
    segments = set(Segment.objects.filter(pk__in=list(thresholds)).values_list("pk", flat=True))
    for segment_id, value in thresholds.items():
        if segment_id not in segments:
            continue
        if value is None:
            SegmentThreshold.objects.filter(segment_id=segment_id).delete()
        else:
            SegmentThreshold.objects.update_or_create(segment_id=segment_id, defaults={"value_threshold": value})


def holiday_add(*, day: dt.date, name: str = "") -> Holiday:
    """Adds a holiday; a day is on the list once (ValidationError if it is already)."""
    try:
        with transaction.atomic():
            return Holiday.objects.create(day=day, name=name.strip())
    except IntegrityError as error:
        raise ValidationError(
            {"day": _("%(day)s is on the holiday list already.") % {"day": day.isoformat()}}
        ) from error


def holiday_remove(*, holiday_id: int) -> bool:
    return Holiday.objects.filter(pk=holiday_id).delete()[0] > 0
