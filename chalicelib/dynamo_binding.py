"""The one binding of PynamoDB models to the bookings table, shared by booking and notify.

Every item of the table is a `TableItem`; `bind_table` points all of them at the table at once, so no
package binds its own models (and none needs to import another's to do so).
"""

from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.models import Model


class TableItem(Model):
    class Meta:
        table_name = "unbound"  # set by bind_table(); models are never used before that

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


def _models(base: type[Model]) -> list[type[Model]]:
    found = []
    for sub in base.__subclasses__():
        found += [sub, *_models(sub)]
    return found


def bind_table(table_name: str, region: str, host: str | None) -> Connection:
    """Point every item model at the table; returns the connection transactions use."""
    models: list[type[Model]] = [TableItem, *_models(TableItem)]
    for model in models:
        model.Meta.table_name = table_name
        model.Meta.region = region
        model.Meta.host = host
        model._connection = None  # PynamoDB caches the connection per class
    return Connection(region=region, host=host)
