"""Request models: everything from outside is validated here, at the edge, before a service sees it."""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import date, datetime
from typing import Annotated, ClassVar, Literal, TypeVar

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from chalicelib.api.errors import ApiError, FieldProblem
from chalicelib.booking import domain as d
from chalicelib.verification.domain import Proof

_POSTAL_CODE = re.compile(r"^\d{5}$")
_PHONE = re.compile(r"^\+?[0-9 ()/-]{6,24}$")
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
M = TypeVar("M", bound=BaseModel)
# A citizen's body is a few hundred bytes; only a contingent (up to 2,000 slots) is larger (its ClassVar).
MAX_BODY_BYTES = 16 * 1024
MAX_JSON_DEPTH = 8


def _postal_code(value: str) -> str:
    if not _POSTAL_CODE.match(value):
        raise PydanticCustomError("invalid_postal_code", "postal code must be 5 digits")
    return value


def _today() -> date:
    return datetime.now(d.LOCAL_TZ).date()


OLDEST_BIRTH_DATE = date(1900, 1, 1)


def _birth_date(value: date) -> date:
    if value < OLDEST_BIRTH_DATE or value > _today():
        raise PydanticCustomError("invalid_birth_date", "birth date out of range")
    return value


# Dates the service does arithmetic with (days ahead, interval windows) stay far from date.max, so that
# `from=9999-12-31` is a 400 and never an OverflowError. The same years are in docs/openapi.yaml.
EARLIEST_DAY, LATEST_DAY = date(2000, 1, 1), date(2099, 12, 31)


def _service_day(value: date) -> date:
    if not EARLIEST_DAY <= value <= LATEST_DAY:
        raise PydanticCustomError("out_of_range", "date out of range")
    return value


def _cohort_day(value: date) -> date:
    if not OLDEST_BIRTH_DATE <= value <= LATEST_DAY:
        raise PydanticCustomError("out_of_range", "date out of range")
    return value


def _service_time(value: datetime) -> datetime:
    _service_day(value.date())
    return value


NAME_MAX_LENGTH = 100
# Invisible characters that copy-and-paste brings along and that mean nothing in a name: dropped.
_DROPPED_IN_NAMES = dict.fromkeys(map(ord, "\u00ad\u200b\u2060\ufeff"))
# Joiners that some scripts need to spell a name right (Persian, Indic): kept; every other format
# character (bidi overrides and isolates, LRM/RLM, tags) can reorder or hide text: rejected.
_KEPT_FORMAT = {"\u200c", "\u200d"}
_NAME_PUNCTUATION = set("-'.,\u2019\u2010\u2011")


def _name_character_allowed(ch: str) -> bool:
    category = unicodedata.category(ch)
    # Digits are not names, but generated test and load-test names carry them and they cannot hide anything.
    if category[0] in "LM" or category in ("Nd", "Zs"):  # Zs: spaces; tabs and line breaks are controls
        return True
    return ch in _NAME_PUNCTUATION or ch in _KEPT_FORMAT


def _name(value: str) -> str:
    """Letters, marks, digits, spaces and the punctuation of real names; no controls, symbols or bidi tricks.

    Rejecting ':' and '/' also keeps links out of the names that mails repeat.
    """
    value = unicodedata.normalize("NFC", value).translate(_DROPPED_IN_NAMES)
    allowed = all(map(_name_character_allowed, value))
    value = " ".join(value.split())
    if not allowed or not 1 <= len(value) <= NAME_MAX_LENGTH:
        raise PydanticCustomError("invalid_name", "name must have 1 to 100 letters")
    return value


def _title(value: str) -> str:
    """A campaign's name ("80+ Comirnaty"): symbols are fine, controls and invisible tricks are not."""
    value = unicodedata.normalize("NFC", value).translate(_DROPPED_IN_NAMES)
    allowed = all(
        (unicodedata.category(ch)[0] != "C" and unicodedata.category(ch) not in ("Zl", "Zp")) or ch in _KEPT_FORMAT
        for ch in value
    )
    value = " ".join(value.split())
    if not allowed or not 1 <= len(value) <= NAME_MAX_LENGTH:
        raise PydanticCustomError("invalid_name", "name must have 1 to 100 characters")
    return value


EMAIL_MAX_LENGTH = 254


def _email(value: str) -> str:
    """What is accepted here can be sent by SES as it is: ASCII only, the domain in punycode.

    Umlaut domains (a@bücher.de) are accepted and kept as a@xn--bcher-kva.de; a non-ASCII local part
    (ü@…) would need SMTPUTF8, which SES's raw sending does not do, so it is rejected. RFC 2047
    encoded words (=?utf-8?…?=) are legal atext but turn into other text in mail clients: rejected.
    """
    value = value.strip()
    if len(value) > EMAIL_MAX_LENGTH or "=?" in value:
        raise PydanticCustomError("invalid_email", "invalid e-mail address")
    try:
        checked = validate_email(value, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        if any(ord(ch) > 127 for ch in value.partition("@")[0]):
            raise PydanticCustomError("invalid_email_local_part", "non-ASCII before the @") from None
        raise PydanticCustomError("invalid_email", "invalid e-mail address") from None
    assert checked.ascii_email is not None  # always set with allow_smtputf8=False
    if len(checked.ascii_email) > EMAIL_MAX_LENGTH:
        raise PydanticCustomError("invalid_email", "invalid e-mail address")
    return checked.ascii_email


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
ServiceDay = Annotated[date, AfterValidator(_service_day)]
ServiceTime = Annotated[AwareDatetime, AfterValidator(_service_time)]
CohortDay = Annotated[date, AfterValidator(_cohort_day)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    max_body_bytes: ClassVar[int] = MAX_BODY_BYTES


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


class VerificationProofBody(_Body):
    id: Identifier
    code: Annotated[str, Field(pattern=r"^[0-9]{6}$")]


class BookingRequestBody(_Body):
    campaign_id: Identifier
    center_id: Identifier
    slot_id: Identifier
    second_slot_id: Identifier | None = None  # the second dose the site showed with slot_id (optional)
    flexible: bool = False
    language: Literal["de", "en"] = "de"
    person: PersonBody
    verification: VerificationProofBody | None = None  # for campaigns that verify the e-mail address

    def verification_proof(self) -> Proof | None:
        return Proof(self.verification.id, self.verification.code) if self.verification else None


class VerificationBody(_Body):
    campaign_id: Identifier
    email: Annotated[str, AfterValidator(_email)]
    language: Literal["de", "en"] = "de"


class CancelBody(_Body):
    birth_date: BirthDate


class AvailabilityQuery(_Body):
    campaign: Identifier
    from_: ServiceDay | None = Field(default=None, alias="from")
    days: int = Field(default=14, ge=1, le=d.PAGE_DAYS)  # one page; later pages: `from` = the answer's next_from


class PostalCodeQuery(_Body):
    postal_code: PostalCode | None = None


class BirthDateQuery(_Body):
    birth_date: BirthDate


class LookupBody(_Body):
    """The birth date of a look-up or calendar download, sent in the body so it stays out of URLs and logs."""

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
_CUSTOM_CODES = {
    "invalid_postal_code",
    "invalid_birth_date",
    "invalid_name",
    "invalid_email",
    "invalid_email_local_part",
    "invalid_phone",
    "invalid",
    "out_of_range",
}


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


def _json_depth_exceeds(raw: bytes, limit: int) -> bool:
    """True if arrays/objects nest deeper than `limit`: checked before json.loads, whose recursion would
    otherwise end in a RecursionError (a 500) on a body of a few thousand '['."""
    depth, in_string, escaped = 0, False, False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return False


def parse_json_body(model: type[M], raw_body: str | bytes | None) -> M:
    """A JSON object body into `model`: 413 if too large, 400 if too deep, not JSON or not an object."""
    if isinstance(raw_body, str):  # chalice declares str | bytes; the depth check reads bytes
        raw_body = raw_body.encode()
    if raw_body and len(raw_body) > getattr(model, "max_body_bytes", MAX_BODY_BYTES):
        raise ApiError(413, "payload_too_large")
    if raw_body and _json_depth_exceeds(raw_body, MAX_JSON_DEPTH):
        raise ApiError(400, "invalid_request", [FieldProblem("body", "too_deeply_nested")])
    try:
        data = json.loads(raw_body or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ApiError(400, "invalid_request", [FieldProblem("body", "invalid_json")]) from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_request", [FieldProblem("body", "invalid_json")])
    return parse(model, data)


class IntervalBody(_Body):
    min: int = Field(ge=1, le=365)
    max: int = Field(ge=1, le=365)


class CampaignBody(_Body):
    """A campaign as ops define it; opening a cohort is putting one with its birth-date range and opening time."""

    name: Annotated[str, AfterValidator(_title)]
    vaccine: Identifier
    doses: int = Field(ge=1, le=2)
    interval_days: IntervalBody | None = None
    regions: list[Identifier] = Field(min_length=1)
    center_ids: list[Identifier] = Field(min_length=1)
    opens_at: ServiceTime
    closes_at: ServiceTime | None = None
    born_on_or_after: CohortDay | None = None
    born_on_or_before: CohortDay | None = None
    series: Identifier = d.DEFAULT_SERIES  # campaigns of one series share the one-booking-per-person lock
    verification: Literal["none", "email"] = "none"
    # The booking horizon: how many days ahead from today, and/or the last bookable day; neither: 28 days.
    # The range is checked by Campaign.validate (one home for the rule), which names the field.
    horizon_days: int | None = None
    bookable_until: ServiceDay | None = None

    def to_domain(self, campaign_id: str) -> d.Campaign:
        interval = self.interval_days or IntervalBody(min=1, max=1)
        return d.Campaign(
            campaign_id,
            self.name,
            self.vaccine,
            self.doses,
            interval.min,
            interval.max,
            frozenset(self.regions),
            tuple(self.center_ids),
            self.opens_at,
            self.closes_at,
            self.born_on_or_after,
            self.born_on_or_before,
            series=self.series,
            verification=self.verification,
            horizon_days=self.horizon_days,
            bookable_until=self.bookable_until,
        )


class SlotReleaseBody(_Body):
    start: ServiceTime
    end: ServiceTime
    capacity: int = Field(ge=1, le=10_000)


class ContingentBody(_Body):
    center_id: Identifier
    slots: list[SlotReleaseBody] = Field(min_length=1, max_length=2_000)
    release_at: ServiceTime | None = None  # a scheduled release: the slots stay hidden from booking until then
    max_body_bytes: ClassVar[int] = 512 * 1024  # 2,000 slots of ~100 bytes


class CapacityCutBody(_Body):
    """Cut one slot (`slot_id`) or every slot of a day (`day`) to `capacity`, never below what is booked."""

    center_id: Identifier
    slot_id: Identifier | None = None
    day: ServiceDay | None = None
    capacity: int = Field(ge=0, le=10_000)


class CentreDayBody(_Body):
    """A failed delivery: cancel every booking with an appointment at the centre on [from, to] (to: from), or
    move the appointments of one day (`from`) to the same times on `target_day`."""

    center_id: Identifier
    from_: ServiceDay = Field(alias="from")
    to: ServiceDay | None = None
    action: Literal["cancel", "move"] = "cancel"
    target_day: ServiceDay | None = None  # needed for a move (checked in commands.centre_day_operation)


class OperationQuery(_Body):
    batch: int = Field(default=50, ge=1, le=200)


class SecondDoseBody(_Body):
    slot_id: Identifier


class ReportQuery(_Body):
    campaign: Identifier
    from_: ServiceDay = Field(alias="from")
    to: ServiceDay
    format: Literal["json", "csv"] | None = None


_OPERATION_ID = re.compile(r"^[0-9a-f]{32}$")


def operation_id(value: str) -> str:
    if not _OPERATION_ID.match(value):
        raise ApiError(404, "unknown_operation")
    return value


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


# A booking code as people type it: any case, dashes or spaces (31 letters and digits, 10 of them).
_BOOKING_CODE = re.compile(rf"^[{d.CODE_ALPHABET}]{{4}}-[{d.CODE_ALPHABET}]{{4}}-[{d.CODE_ALPHABET}]{{2}}$")
_TYPED_BOOKING_CODE = re.compile(r"^[A-Za-z0-9 -]{1,32}$")


def booking_code(value: str) -> str:
    """The normalised code, or 404 unknown_booking: an impossible code answers like an unknown one."""
    code = d.normalise_booking_code(value) if _TYPED_BOOKING_CODE.match(value) else ""
    if not _BOOKING_CODE.match(code):
        raise ApiError(404, "unknown_booking")
    return code


def request_id(value: str) -> str:
    if not _ID.match(value):
        raise ApiError(404, "unknown_request")
    return value


def center_id(value: str) -> str:
    if not _ID.match(value):
        raise ApiError(404, "unknown_center")
    return value


IDEMPOTENCY_KEY_MAX_LENGTH = 200


def check_idempotency_key(headers) -> None:
    """An Idempotency-Key, if sent, is 1 to 200 printable ASCII characters (it is logged and stored)."""
    key = (headers or {}).get("idempotency-key")
    if key and not (len(key) <= IDEMPOTENCY_KEY_MAX_LENGTH and key.isascii() and key.isprintable()):
        raise ApiError(400, "invalid_request", [FieldProblem("Idempotency-Key", "invalid")])


class RebookBody(_Body):
    """`POST /v1/bookings/{code}/rebook` (and the hotline's): the new first-dose slot at the booking's centre."""

    birth_date: BirthDate
    slot_id: Identifier
    flexible: bool = False
