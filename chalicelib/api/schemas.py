"""Request models: everything from outside is validated here, at the edge, before a service sees it."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Annotated, Literal, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from chalicelib.api.errors import ApiError, FieldProblem
from chalicelib.booking import domain as d

_POSTAL_CODE = re.compile(r"^\d{5}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9 ()/-]{6,24}$")
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
M = TypeVar("M", bound=BaseModel)


def _postal_code(value: str) -> str:
    if not _POSTAL_CODE.match(value):
        raise PydanticCustomError("invalid_postal_code", "postal code must be 5 digits")
    return value


def _birth_date(value: date) -> date:
    if value < date(1900, 1, 1) or value > date.today():
        raise PydanticCustomError("invalid_birth_date", "birth date out of range")
    return value


def _name(value: str) -> str:
    value = " ".join(value.split())
    if not 1 <= len(value) <= 100 or any(ord(ch) < 32 for ch in value):
        raise PydanticCustomError("invalid_name", "name must have 1 to 100 characters")
    return value


def _email(value: str) -> str:
    value = value.strip()
    if len(value) > 254 or not _EMAIL.match(value):
        raise PydanticCustomError("invalid_email", "invalid e-mail address")
    return value


def _phone(value: str | None) -> str | None:
    if value is None or value.strip() == "":
        return None
    if not _PHONE.match(value.strip()):
        raise PydanticCustomError("invalid_phone", "invalid phone number")
    return value.strip()


def _identifier(value: str) -> str:
    if not _ID.match(value):
        raise PydanticCustomError("invalid", "invalid identifier")
    return value


PostalCode = Annotated[str, AfterValidator(_postal_code)]
BirthDate = Annotated[date, AfterValidator(_birth_date)]
Name = Annotated[str, AfterValidator(_name)]
Identifier = Annotated[str, AfterValidator(_identifier)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class EligibilityBody(_Body):
    birth_date: BirthDate
    postal_code: PostalCode


class PersonBody(_Body):
    given_name: Name
    family_name: Name
    birth_date: BirthDate
    postal_code: PostalCode
    email: Annotated[str, AfterValidator(_email)]
    phone: Annotated[str | None, AfterValidator(_phone)] = None

    def to_domain(self) -> d.Person:
        return d.Person(**self.model_dump())


class BookingRequestBody(_Body):
    campaign_id: Identifier
    center_id: Identifier
    slot_id: Identifier
    flexible: bool = False
    language: Literal["de", "en"] = "de"
    person: PersonBody


class CancelBody(_Body):
    birth_date: BirthDate


class AvailabilityQuery(_Body):
    campaign: Identifier
    from_: date | None = Field(default=None, alias="from")
    days: int = Field(default=14, ge=1, le=d.BOOKING_WINDOW.max_days)


class PostalCodeQuery(_Body):
    postal_code: PostalCode | None = None


class BirthDateQuery(_Body):
    birth_date: BirthDate


_CODE_BY_PYDANTIC_TYPE = {
    "missing": "missing",
    "date_from_datetime_parsing": "invalid_date",
    "date_parsing": "invalid_date",
    "date_type": "invalid_date",
    "literal_error": "unsupported_language",
    "greater_than_equal": "out_of_range",
    "too_short": "out_of_range",
    "too_long": "out_of_range",
    "timezone_aware": "invalid_date",
    "datetime_parsing": "invalid_date",
    "datetime_from_date_parsing": "invalid_date",
    "less_than_equal": "out_of_range",
}
_CUSTOM_CODES = {"invalid_postal_code", "invalid_birth_date", "invalid_name", "invalid_email", "invalid_phone", "invalid"}


def _problems(error: ValidationError) -> list[FieldProblem]:
    problems = []
    for item in error.errors():
        kind = item["type"]
        code = kind if kind in _CUSTOM_CODES else _CODE_BY_PYDANTIC_TYPE.get(kind, "invalid")
        path = ".".join(str(p) for p in item["loc"]) or "body"
        problems.append(FieldProblem(path, code))
    return problems


def parse(model: type[M], data: object, *, error_code: str = "invalid_request") -> M:
    """Validate data into model, or raise the API's 400 with every bad field named."""
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as error:
        raise ApiError(400, error_code, _problems(error)) from None


def parse_json_body(model: type[M], raw_body: bytes | None) -> M:
    try:
        data = json.loads(raw_body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_request", [FieldProblem("body", "invalid_json")]) from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_request", [FieldProblem("body", "invalid_json")])
    return parse(model, data)


class IntervalBody(_Body):
    min: int = Field(ge=1, le=365)
    max: int = Field(ge=1, le=365)


class CampaignBody(_Body):
    """A campaign as ops define it; opening a cohort is putting one with its birth-date range and opening time."""

    name: Annotated[str, AfterValidator(_name)]
    vaccine: Identifier
    doses: int = Field(ge=1, le=2)
    interval_days: IntervalBody | None = None
    regions: list[Identifier] = Field(min_length=1)
    center_ids: list[Identifier] = Field(min_length=1)
    opens_at: AwareDatetime
    closes_at: AwareDatetime | None = None
    born_on_or_after: date | None = None
    born_on_or_before: date | None = None
    series: Identifier = d.DEFAULT_SERIES  # campaigns of one series share the one-booking-per-person lock

    def to_domain(self, campaign_id: str) -> d.Campaign:
        interval = self.interval_days or IntervalBody(min=1, max=1)
        return d.Campaign(campaign_id, self.name, self.vaccine, self.doses, interval.min, interval.max,
                          frozenset(self.regions), tuple(self.center_ids), self.opens_at, self.closes_at,
                          self.born_on_or_after, self.born_on_or_before, self.series)


class SlotReleaseBody(_Body):
    start: AwareDatetime
    end: AwareDatetime
    capacity: int = Field(ge=1, le=10_000)


class ContingentBody(_Body):
    center_id: Identifier
    slots: list[SlotReleaseBody] = Field(min_length=1, max_length=2_000)


def parse_identifier(value: str, field_name: str = "campaign_id") -> str:
    try:
        return _identifier(value)
    except PydanticCustomError:
        raise ApiError(400, "invalid_request", [FieldProblem(field_name, "invalid")]) from None


def require_header(headers, name: str) -> str:
    value = (headers.get(name.lower()) or "").strip()
    if not value or len(value) > 200:
        raise ApiError(400, "invalid_request", [FieldProblem(name, "missing")])
    return value


class RebookBody(_Body):
    """`POST /v1/bookings/{code}/rebook` (and the hotline's): the new first-dose slot at the booking's centre."""

    birth_date: BirthDate
    slot_id: Identifier
    flexible: bool = False
