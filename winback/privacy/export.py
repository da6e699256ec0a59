"""Export of everything held about one customer (RELIABILITY.md PRIV-04; docs/privacy.md).

One ZIP: `customer.json` (every category of the inventory, nested by category) and one CSV per
category, cells neutralised by winback.exports. It is produced while it is sent: each category is
read in chunks through a database cursor and each chunk is compressed and handed to the response
at once, so a customer with 10,000 purchases costs no more memory than one with ten. The export
itself is recorded in the audit trail before the first byte is sent.
"""

import datetime as dt
import io
import json
import zipfile
from collections.abc import Iterator

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from customers.models import Customer
from winback.audit.models import Entry
from winback.exports import csv_chunks
from winback.privacy.inventory import CATEGORIES, Category

__all__ = ["AUDIT_KIND", "customer_export_record", "export_filename", "export_zip_chunks"]

AUDIT_KIND = "privacy.customer"
CHUNK_ROWS = 2000


def customer_export_record(*, customer: Customer, actor, request_id: str = "") -> Entry:
    """Writes the audit entry of an export (a plain insert, which the application's database role
    may do): who exported which customer, when, and the categories included. No personal data."""
    return Entry.objects.create(
        created_at=timezone.now(),
        kind=AUDIT_KIND,
        action="export",
        object_id=customer.pk,
        customer_id=customer.pk,
        actor_id=getattr(actor, "pk", None),
        request_id=request_id[:64],
        after={"action": "export", "categories": len(CATEGORIES)},
    )


def export_filename(customer: Customer) -> str:
    return f"customer-{customer.pk}-{timezone.localdate():%Y%m%d}.zip"


class _Sink(io.RawIOBase):
    """An unseekable file for zipfile: collects what is written until the generator takes it."""

    def __init__(self):
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


def _rows(category: Category, customer: Customer, columns: list[str]) -> Iterator[tuple]:
    queryset = category.rows(customer).order_by("pk").values_list(*columns).distinct()
    return queryset.iterator(chunk_size=CHUNK_ROWS)


def _cell(value):
    if isinstance(value, dict | list):
        return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def export_zip_chunks(customer: Customer) -> Iterator[bytes]:
    """The ZIP, in pieces of about CHUNK_ROWS rows each (module docstring)."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("customer.json", "w", force_zip64=True) as member:
            member.write(b'{"customer_id": %d, "exported_at": ' % customer.pk)
            member.write(json.dumps(timezone.now(), cls=DjangoJSONEncoder).encode())
            member.write(b', "categories": {')
            for index, category in enumerate(CATEGORIES):
                columns = category.columns()
                member.write(b"%s%s: [" % (b", " if index else b"", json.dumps(category.name).encode()))
                for count, row in enumerate(_rows(category, customer, columns)):
                    record = json.dumps(dict(zip(columns, row, strict=True)), cls=DjangoJSONEncoder, ensure_ascii=False)
                    member.write((", " if count else "").encode() + record.encode())
                    if count % CHUNK_ROWS == CHUNK_ROWS - 1:
                        yield sink.take()
                member.write(b"]")
                yield sink.take()
            member.write(b"}}")
        for category in CATEGORIES:
            columns = category.columns()
            rows = ([_cell(value) for value in row] for row in _rows(category, customer, columns))
            with archive.open(f"{category.name}.csv", "w", force_zip64=True) as member:
                for text in csv_chunks(columns, rows, rows_per_chunk=CHUNK_ROWS, bom=True):
                    member.write(text.encode("utf-8"))
                    yield sink.take()
    yield sink.take()
