"""Changing the defection rules: the settings page's "save" and the backtest's "apply"."""

import logging
from collections.abc import Mapping
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from customers.detection.rules import DEFAULT_KEY
from customers.models import DetectionRules, DetectionSettings, Segment

logger = logging.getLogger(__name__)

__all__ = ["apply_suggestion", "rules_source", "save_rules"]


def rules_source(segment_key: int, *, for_update: bool = False) -> DetectionRules:
    """The row holding one set of rules: the defaults (key 0) or a segment (its pk)."""
    if segment_key == DEFAULT_KEY:
        DetectionSettings.load()  # the row may not exist yet
        queryset = DetectionSettings.objects.all()
        segment_key = 1
    else:
        queryset = Segment.objects.all()
    if for_update:
        queryset = queryset.select_for_update()
    try:
        return queryset.get(pk=segment_key)
    except Segment.DoesNotExist:
        raise ValidationError(_("The segment no longer exists.")) from None


def _label(source: DetectionRules) -> str:
    return source.name if isinstance(source, Segment) else _("Customers without a segment")


def _validated(source: DetectionRules, values: Mapping[str, object]) -> DetectionRules:
    for name in DetectionRules.RULE_FIELDS:
        if name in values:
            setattr(source, name, values[name])
    try:
        source.full_clean(exclude=[f.name for f in source._meta.fields if f.name not in DetectionRules.RULE_FIELDS])
    except ValidationError as error:
        messages = [
            f"{source._meta.get_field(field).verbose_name if field != '__all__' else ''}: {message}".lstrip(": ")
            for field, field_messages in error.message_dict.items()
            for message in field_messages
        ]
        raise ValidationError(
            [_("%(rules)s: %(message)s") % {"rules": _label(source), "message": message} for message in messages]
        ) from None
    return source


@transaction.atomic
def save_rules(*, actor, rows: Mapping[int, Mapping[str, object]]) -> list[DetectionRules]:
    """Saves the rules of several segments (key = the segment's pk, 0 = customers without a
    segment) in one transaction: either every row is valid and saved, or none is (a
    ValidationError lists what is wrong). Values not given stay as they are. The next detection
    run applies them."""
    sources, errors = [], []
    for segment_key, values in rows.items():
        source = rules_source(int(segment_key), for_update=True)
        try:
            sources.append(_validated(source, values))
        except ValidationError as error:
            errors.extend(error.messages)
    if errors:
        raise ValidationError(errors)
    for source in sources:
        update_fields = list(DetectionRules.RULE_FIELDS)
        if isinstance(source, DetectionSettings):
            update_fields.append("updated_at")
        source.save(update_fields=update_fields)
        logger.info(
            "detection rules of %s changed by %s: %s",
            _label(source),
            getattr(actor, "pk", None),
            {name: str(getattr(source, name)) for name in DetectionRules.RULE_FIELDS},
        )
    return sources


@transaction.atomic
def apply_suggestion(
    *, actor, segment_key: int, defected_days: int, rhythm_enabled: bool, rhythm_multiple: Decimal | str | float
) -> DetectionRules:
    """Applies a backtest suggestion to one segment's rules (key 0 = customers without a segment):
    its defected days and rhythm settings. Refused (ValidationError) when the result would be
    invalid, for instance defected days not above the segment's at-risk days."""
    source = rules_source(int(segment_key), for_update=True)
    values = {
        "defected_days": int(defected_days),
        "rhythm_enabled": bool(rhythm_enabled),
        "rhythm_multiple": Decimal(str(rhythm_multiple)).quantize(Decimal("0.1")),
    }
    _validated(source, values)
    update_fields = ["defected_days", "rhythm_enabled", "rhythm_multiple"]
    if isinstance(source, DetectionSettings):
        update_fields.append("updated_at")
    source.save(update_fields=update_fields)
    logger.info("backtest suggestion applied to %s by %s: %s", _label(source), getattr(actor, "pk", None), values)
    return source
