"""The gap to the previous purchase, kept on each purchase (`Transaction.gap_days`).

A customer's median gap between purchases needs each purchase's distance to the one before it:
a window function over every purchase, which cost a recompute of everyone more than all the
other figures together. The gap of a purchase depends only on the purchases before it, so it is
the same whatever day a run looks back from, and is kept on the row: the import numbers the
purchases it appends, and every detection run first numbers what is left (purchases added by
hand, in the past, or whose time changed — all stored with a NULL gap), recomputing every
purchase of their customers, since a purchase slotted in between changes the next one's gap.
"""

from django.db import connection

from customers.detection import sql as q
from customers.models import Transaction

CUSTOMERS = "detect_gap_customers"  # the customers with a purchase not numbered yet
NEW = "detect_gap_new"


def gap_expression(time: str, previous: str) -> str:
    """The gap in days from `previous` to `time`, or FIRST_PURCHASE when there is none."""
    return f"coalesce({q.days_between(time, previous)}, {Transaction.FIRST_PURCHASE})"


def _execute(sql: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.rowcount


def pending() -> bool:
    """Whether a purchase waits for its gap (one probe of a partial index)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM customers_transaction WHERE kind = 'purchase' AND gap_days IS NULL LIMIT 1")
        return cursor.fetchone() is not None


def number_purchases() -> int:
    """Numbers every purchase of the customers with an unnumbered one; returns the number of
    purchases whose gap was set or corrected. Set-based, in three statements: the customers (a
    partial index finds them), their purchases' gaps (read through the (customer, time) index),
    then the rows that differ, each by its primary key."""
    if not pending():
        return 0
    _execute(f"DROP TABLE IF EXISTS {CUSTOMERS}")
    _execute(
        f"CREATE TEMP TABLE {CUSTOMERS} AS SELECT DISTINCT customer_id FROM customers_transaction "
        "WHERE kind = 'purchase' AND gap_days IS NULL"
    )
    if q.is_postgres():
        _execute(f"ANALYZE {CUSTOMERS}")
    previous = "lag(t.occurred_at) OVER (PARTITION BY t.customer_id ORDER BY t.occurred_at, t.id)"
    _execute(f"DROP TABLE IF EXISTS {NEW}")
    _execute(
        f"CREATE TEMP TABLE {NEW} AS SELECT g.id, g.gap FROM (SELECT t.id, t.gap_days AS old, "
        f"{gap_expression('t.occurred_at', previous)} AS gap FROM {CUSTOMERS} c "
        f"JOIN customers_transaction t ON t.customer_id = c.customer_id WHERE t.kind = 'purchase') g "
        "WHERE g.old IS NULL OR g.old <> g.gap"
    )
    if q.is_postgres():
        _execute(f"ANALYZE {NEW}")
    changed = _execute(f"UPDATE customers_transaction AS t SET gap_days = n.gap FROM {NEW} n WHERE t.id = n.id")
    _execute(f"DROP TABLE {NEW}")
    _execute(f"DROP TABLE {CUSTOMERS}")
    return changed
