"""Panels that downstream apps add to the customer card (DESIGN.md: the customers app never
imports surveys or cases; they register a panel here from their AppConfig.ready()).

A panel is a template and a function that returns its context for one customer and the viewing
user. Each function must run a small, fixed number of queries."""

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["CardPanel", "panels_for", "register"]


@dataclass(frozen=True)
class CardPanel:
    name: str
    template: str
    context: Callable  # (customer, user) -> dict
    order: int = 100


_PANELS: dict[str, CardPanel] = {}


def register(panel: CardPanel) -> None:
    _PANELS[panel.name] = panel  # by name, so a re-import does not add it twice


def panels_for(customer, user) -> list[dict]:
    """[{"name", "template", "context"}] in order, for the card template to include."""
    return [
        {"name": panel.name, "template": panel.template, "context": panel.context(customer, user)}
        for panel in sorted(_PANELS.values(), key=lambda p: (p.order, p.name))
    ]
