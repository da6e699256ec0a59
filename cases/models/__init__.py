"""The cases app's models: cases and their history, the work on them, settings, corrective
actions and the rescue cycle."""

from cases.models.actions import CorrectiveAction, OverdueNotice, RescuePick
from cases.models.case import CLOSED_STAGES, OPEN_STAGES, Case, CaseEvent, Stage
from cases.models.config import CaseSettings, Holiday, SegmentThreshold
from cases.models.work import Activity, Offer, Task

__all__ = [
    "CLOSED_STAGES",
    "OPEN_STAGES",
    "Activity",
    "Case",
    "CaseEvent",
    "CaseSettings",
    "CorrectiveAction",
    "Holiday",
    "Offer",
    "OverdueNotice",
    "RescuePick",
    "SegmentThreshold",
    "Stage",
    "Task",
]
