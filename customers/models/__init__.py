"""The customers app's models: customers and their data (core) and defection detection."""

from customers.models.core import Customer, DetectionRules, ImportRun, Interaction, Segment, Transaction
from customers.models.detection import (
    AtRiskDigest,
    BacktestRun,
    DefectionEvent,
    DetectionRun,
    DetectionSettings,
    Dismissal,
    Fault,
    Reason,
    ReasonChange,
    StatusChange,
)

__all__ = [
    "AtRiskDigest",
    "BacktestRun",
    "Customer",
    "DefectionEvent",
    "DetectionRules",
    "DetectionRun",
    "DetectionSettings",
    "Dismissal",
    "Fault",
    "ImportRun",
    "Interaction",
    "Reason",
    "ReasonChange",
    "Segment",
    "StatusChange",
    "Transaction",
]
