"""DynamoDB adapters of the booking ports, split by aggregate: `models` (items, key scheme, mapping),
`catalog` (centres, campaigns, slots) and `bookings` (requests, bookings, person locks)."""

from chalicelib.booking.storage.bookings import CONFLICT_RETRIES, DynamoBookings
from chalicelib.booking.storage.catalog import DynamoCatalog

__all__ = ["CONFLICT_RETRIES", "DynamoBookings", "DynamoCatalog"]
