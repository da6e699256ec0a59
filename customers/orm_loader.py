"""The SQLite write path of imports (the embedded default of `make run` only sees demo-sized
files): the staged rows are read back in batches and upserted with the ORM."""

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import connection
from django.db.models import Case, Count, F, Max, Min, Q, Sum, When
from django.utils import timezone

from customers.detection.stale import note_interactions, note_purchases
from customers.models import Customer, Interaction, Segment, Transaction

if TYPE_CHECKING:
    from customers.loaders import Stage


def refresh_purchase_figures(customer_ids_sql: str | None) -> int:
    customers = Customer.objects.all()
    if customer_ids_sql:
        with connection.cursor() as cursor:
            cursor.execute(customer_ids_sql)
            customers = customers.filter(pk__in=[row[0] for row in cursor.fetchall()])
    figures = customers.annotate(
        first_at=Min("transactions__occurred_at", filter=Q(transactions__kind="purchase")),
        last_at=Max("transactions__occurred_at", filter=Q(transactions__kind="purchase")),
        orders=Count("transactions", filter=Q(transactions__kind="purchase")),
        revenue=Sum(
            Case(
                When(transactions__kind="refund", then=-F("transactions__amount")),
                default=F("transactions__amount"),
            )
        ),
    )
    changed = []
    for customer in figures.iterator(chunk_size=2000):
        values = (customer.first_at, customer.last_at, customer.orders, customer.revenue or Decimal("0"))
        current = (
            customer.first_purchase_at,
            customer.last_purchase_at,
            customer.order_count,
            customer.lifetime_revenue,
        )
        if values != current:
            (customer.first_purchase_at, customer.last_purchase_at, customer.order_count) = values[:3]
            customer.lifetime_revenue = values[3]
            changed.append(customer)
    fields = ["first_purchase_at", "last_purchase_at", "order_count", "lifetime_revenue"]
    Customer.objects.bulk_update(changed, fields, batch_size=500)
    note_purchases(customers)
    return len(changed)


def _from_us(value) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=int(value))


class OrmUpsert:
    """The SQLite path: reads the stage back in batches and upserts with the ORM."""

    BATCH = 1000

    def __init__(self, stage: "Stage", *, present: list[str], actor_id):
        self.stage, self.present, self.actor_id = stage, present, actor_id
        self.new = self.updated = 0
        self.notes: list[str] = []

    def run(self) -> tuple[int, int, list[str]]:
        handler = getattr(self, f"_{self.stage.kind}")
        columns = ", ".join(self.stage.columns)
        rows = self.stage.fetch(f"SELECT {columns} FROM {self.stage.name} ORDER BY line")
        batch = []
        for row in rows:
            batch.append(dict(zip(self.stage.columns, row, strict=True)))
            if len(batch) == self.BATCH:
                handler(batch)
                batch = []
        if batch:
            handler(batch)
        if self.stage.kind == "transactions":
            refresh_purchase_figures(
                f"SELECT DISTINCT c.id FROM {self.stage.name} s "
                f"JOIN customers_customer c ON c.external_id = s.customer_ext"
            )
        return self.new, self.updated, self.notes

    def _customer_ids(self, batch) -> dict[str, int]:
        keys = {row["customer_ext"] for row in batch}
        return dict(Customer.objects.filter(external_id__in=keys).values_list("external_id", "id"))

    def _customers(self, batch) -> None:
        segments = {segment.name.lower(): segment for segment in Segment.objects.all()}
        existing = Customer.objects.in_bulk([row["external_id"] for row in batch], field_name="external_id")
        now = timezone.now()
        create, update = [], []
        for row in batch:
            segment_name = row["segment"]
            if segment_name and segment_name.lower() not in segments:
                segments[segment_name.lower()] = Segment.objects.create(name=segment_name)
                self.notes.append(f"New segment created with the default detection settings: {segment_name}.")
            values = {
                "name": row["name"],
                "email": row["email"],
                "phone": row["phone"],
                "company": row["company"],
                "segment_id": segments[segment_name.lower()].pk if segment_name else None,
                "account_manager_id": row["account_manager_id"],
                "language": row["language"],
                "do_not_contact": None if row["do_not_contact"] is None else bool(row["do_not_contact"]),
            }
            customer = existing.get(row["external_id"])
            if customer is None:
                defaults = {"phone": "", "company": "", "language": "en", "do_not_contact": False}
                fields = {key: (value if value is not None else defaults.get(key)) for key, value in values.items()}
                create.append(Customer(external_id=row["external_id"], **fields))
                continue
            changed = False
            for key, value in values.items():
                if value is not None and getattr(customer, key) != value:
                    setattr(customer, key, value)
                    changed = True
            if changed:
                customer.updated_at = now  # bulk_update leaves auto_now fields alone
                update.append(customer)
        Customer.objects.bulk_create(create)
        fields = ["name", "email", "phone", "company", "segment_id", "account_manager_id", "language", "do_not_contact"]
        Customer.objects.bulk_update(update, [*fields, "updated_at"])
        self.new += len(create)
        self.updated += len(update)

    def _transactions(self, batch) -> None:
        customer_ids = self._customer_ids(batch)
        keyed = [(customer_ids[row["customer_ext"]], row["external_id"]) for row in batch if row["external_id"]]
        existing = {
            (t.customer_id, t.external_id): t
            for t in Transaction.objects.filter(
                customer_id__in={k[0] for k in keyed}, external_id__in={k[1] for k in keyed}
            )
        }
        create, update = [], []
        for row in batch:
            values = {
                "occurred_at": _from_us(row["occurred_us"]),
                "amount": Decimal(str(row["amount"])).quantize(Decimal("0.01")),
                "kind": row["kind"],
            }
            customer_id = customer_ids[row["customer_ext"]]
            current = existing.get((customer_id, row["external_id"])) if row["external_id"] else None
            if current is None:
                create.append(Transaction(customer_id=customer_id, external_id=row["external_id"], **values))
            elif any(getattr(current, key) != value for key, value in values.items()):
                for key, value in values.items():
                    setattr(current, key, value)
                current.gap_days = None  # detection numbers the customer's purchases again
                update.append(current)
        Transaction.objects.bulk_create(create)
        Transaction.objects.bulk_update(update, ["occurred_at", "amount", "kind", "gap_days"])
        self.new += len(create)
        self.updated += len(update)

    def _interactions(self, batch) -> None:
        customer_ids = self._customer_ids(batch)
        existing = {
            (i.customer_id, i.occurred_at, i.kind, i.summary): i
            for i in Interaction.objects.filter(customer_id__in=set(customer_ids.values()))
        }
        create, update = [], []
        for row in batch:
            occurred_at = _from_us(row["occurred_us"])
            key = (customer_ids[row["customer_ext"]], occurred_at, row["kind"], row["summary"])
            current = existing.get(key)
            if current is None:
                create.append(
                    Interaction(
                        customer_id=key[0],
                        occurred_at=occurred_at,
                        kind=row["kind"],
                        summary=row["summary"],
                        channel=row["channel"],
                        owner_id=row["owner_id"],
                        status=Interaction.Status.RESOLVED,
                        resolved_at=occurred_at,
                        created_by_id=self.actor_id,
                    )
                )
            elif current.channel != row["channel"] or (row["owner_id"] and current.owner_id != row["owner_id"]):
                current.channel = row["channel"]
                current.owner_id = row["owner_id"] or current.owner_id
                update.append(current)
        Interaction.objects.bulk_create(create)
        Interaction.objects.bulk_update(update, ["channel", "owner_id"])
        note_interactions(Customer.objects.filter(pk__in=set(customer_ids.values())))
        self.new += len(create)
        self.updated += len(update)
