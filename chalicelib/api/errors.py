"""Every error the API answers: one table from exception type to status and machine code, DE/EN texts.

No error is chosen by parsing a message, and nothing unknown leaks: it becomes `internal_error`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.booking import domain as d
from chalicelib.limits.domain import TooManyRequests
from chalicelib.verification import domain as verification
from chalicelib.waitingroom import domain as wr

MESSAGES: dict[str, dict[str, str]] = {
    "invalid_request": {
        "de": "Die Anfrage ist unvollständig oder fehlerhaft. Bitte prüfen Sie die markierten Angaben.",
        "en": "The request is incomplete or invalid. Please check the marked fields.",
    },
    "invalid_postal_code": {
        "de": "Bitte geben Sie eine Postleitzahl mit 5 Ziffern ein.",
        "en": "Please enter a postal code of 5 digits.",
    },
    "unknown_center": {"de": "Dieses Impfzentrum gibt es nicht.", "en": "This vaccination centre does not exist."},
    "unknown_campaign": {"de": "Diese Impfaktion gibt es nicht.", "en": "This vaccination campaign does not exist."},
    "unknown_request": {"de": "Diese Buchungsanfrage ist nicht bekannt.", "en": "This booking request is not known."},
    "unknown_booking": {
        "de": "Zu diesem Buchungscode und Geburtsdatum gibt es keine Buchung.",
        "en": "There is no booking for this booking code and date of birth.",
    },
    "unknown_operation": {"de": "Diesen Vorgang gibt es nicht.", "en": "This operation does not exist."},
    "slot_full": {"de": "Dieser Termin ist ausgebucht.", "en": "This appointment is fully booked."},
    "not_eligible": {
        "de": "Sie können in dieser Impfaktion (noch) keinen Termin buchen.",
        "en": "You cannot book an appointment in this campaign (yet).",
    },
    "idempotency_key_reused": {
        "de": "Dieser Idempotency-Key wurde schon für eine andere Anfrage verwendet.",
        "en": "This Idempotency-Key was already used for a different request.",
    },
    "request_in_progress": {
        "de": "Diese Anfrage wird gerade bearbeitet. Bitte versuchen Sie es gleich noch einmal.",
        "en": "This request is being processed. Please try again in a moment.",
    },
    "too_many_requests": {
        "de": "Gerade sind sehr viele Anfragen unterwegs. Bitte versuchen Sie es gleich noch einmal.",
        "en": "There are very many requests right now. Please try again in a moment.",
    },
    "verification_required": {
        "de": "Für diese Impfaktion bestätigen Sie bitte zuerst Ihre E-Mail-Adresse mit einem Code.",
        "en": "For this campaign, please first confirm your e-mail address with a code.",
    },
    "verification_failed": {
        "de": "Der Bestätigungscode stimmt nicht oder ist abgelaufen. Bitte fordern Sie einen neuen an.",
        "en": "The confirmation code is wrong or has expired. Please request a new one.",
    },
    "service_unavailable": {
        "de": "Der Dienst ist kurz nicht erreichbar. Ihre Anfrage wurde nicht gespeichert. "
        "Bitte versuchen Sie es gleich noch einmal.",
        "en": "The service is briefly unavailable. Your request was not saved. Please try again in a moment.",
    },
    "payload_too_large": {
        "de": "Die Anfrage ist zu groß.",
        "en": "The request is too large.",
    },
    "unknown_route": {"de": "Diese Adresse gibt es nicht.", "en": "This address does not exist."},
    "method_not_allowed": {"de": "Diese Methode ist hier nicht erlaubt.", "en": "This method is not allowed here."},
    "unsupported_media_type": {
        "de": "Bitte senden Sie JSON (Content-Type: application/json).",
        "en": "Please send JSON (Content-Type: application/json).",
    },
    "unauthorized": {"de": "Anmeldung erforderlich.", "en": "Sign-in required."},
    "forbidden": {
        "de": "Ihre Rolle erlaubt diese Aktion nicht.",
        "en": "Your role does not allow this action.",
    },
    "slot_taken": {
        "de": "Dieser Termin ist nicht mehr frei. Ihre bisherigen Termine bleiben bestehen.",
        "en": "This appointment is no longer available. Your current appointments are kept.",
    },
    "booking_cancelled": {
        "de": "Diese Buchung ist storniert. Bitte buchen Sie neue Termine.",
        "en": "This booking is cancelled. Please book new appointments.",
    },
    "booking_changed": {
        "de": "Diese Buchung wurde gerade geändert. Bitte sehen Sie sie noch einmal an.",
        "en": "This booking was just changed. Please look it up again.",
    },
    "appointment_started": {
        "de": "Der erste Termin hat schon begonnen; die Buchung kann nicht mehr umgebucht werden.",
        "en": "The first appointment has already begun; the booking can no longer be changed.",
    },
    "internal_error": {
        "de": "Ein interner Fehler ist aufgetreten. Bitte versuchen Sie es später noch einmal.",
        "en": "An internal error occurred. Please try again later.",
    },
    # --- waiting room (contract §8) ---
    "unknown_entry": {
        "de": "Diesen Platz im Warteraum gibt es nicht (mehr). Bitte stellen Sie sich neu an.",
        "en": "This place in the waiting room does not exist (any more). Please join the queue again.",
    },
    "admission_required": {
        "de": "Für diese Impfaktion brauchen Sie zuerst Einlass aus dem Warteraum.",
        "en": "For this campaign you first need to be let in from the waiting room.",
    },
    "waiting_room_not_open": {
        "de": "Der Warteraum dieser Impfaktion ist noch nicht offen.",
        "en": "The waiting room of this campaign is not open yet.",
    },
}

FIELD_MESSAGES: dict[str, dict[str, str]] = {
    "missing": {"de": "Diese Angabe fehlt.", "en": "This field is required."},
    "invalid": {"de": "Diese Angabe ist ungültig.", "en": "This value is invalid."},
    "invalid_postal_code": MESSAGES["invalid_postal_code"],
    "invalid_date": {"de": "Bitte ein Datum im Format JJJJ-MM-TT angeben.", "en": "Please give a date as YYYY-MM-DD."},
    "invalid_birth_date": {"de": "Dieses Geburtsdatum ist nicht möglich.", "en": "This date of birth is not possible."},
    "invalid_email": {"de": "Bitte eine gültige E-Mail-Adresse angeben.", "en": "Please give a valid e-mail address."},
    "invalid_phone": {"de": "Bitte eine gültige Telefonnummer angeben.", "en": "Please give a valid phone number."},
    "invalid_name": {
        "de": "Bitte einen Namen mit 1 bis 100 Zeichen angeben: "
        "Buchstaben, Leerzeichen, Bindestrich, Apostroph, Punkt.",
        "en": "Please give a name of 1 to 100 characters: letters, spaces, hyphen, apostrophe, full stop.",
    },
    "invalid_email_local_part": {
        "de": "Vor dem @ sind nur Zeichen ohne Umlaute und Akzente möglich (z. B. juergen@…).",
        "en": "Only characters without umlauts or accents are possible before the @ (e.g. juergen@…).",
    },
    "unknown_slot": {
        "de": "Diesen Termin gibt es nicht (mehr). Bitte wählen Sie einen anderen.",
        "en": "This appointment does not exist (any more). Please choose another one.",
    },
    "unknown_campaign": MESSAGES["unknown_campaign"],
    "unknown_center": MESSAGES["unknown_center"],
    "center_not_in_campaign": {
        "de": "Dieses Impfzentrum gehört nicht zu dieser Impfaktion.",
        "en": "This centre is not part of this campaign.",
    },
    "verification_not_used": {
        "de": "Für diese Impfaktion ist kein Bestätigungscode nötig.",
        "en": "This campaign needs no confirmation code.",
    },
    "unsupported_language": {"de": "Sprache muss de oder en sein.", "en": "Language must be de or en."},
    "outside_catchment": {
        "de": "Dieses Impfzentrum ist nicht für Ihre Postleitzahl zuständig.",
        "en": "This vaccination centre does not serve your postal code.",
    },
    "slot_exists": {
        "de": "Diesen Termin gibt es schon: eine geplante Freigabe legt nur neue Termine an.",
        "en": "This slot exists already: a scheduled release only creates new slots.",
    },
    "beyond_booking_horizon": {
        "de": "So weit im Voraus kann man für diese Impfaktion noch nicht buchen. "
        "Bitte wählen Sie einen früheren Termin.",
        "en": "This campaign cannot be booked that far ahead yet. Please choose an earlier appointment.",
    },
    "outside_interval_window": {
        "de": "Dieser Termin liegt nicht im Abstand, den der Impfstoff zwischen den Impfungen verlangt.",
        "en": "This slot is outside the interval the vaccine requires between doses.",
    },
    "second_dose_not_missing": {
        "de": "Diese Buchung hat schon einen zweiten Termin oder braucht keinen.",
        "en": "This booking has a second appointment already or needs none.",
    },
    "booking_cancelled": {"de": "Diese Buchung ist storniert.", "en": "This booking is cancelled."},
    # --- centre staff: check-in and no-show (chalicelib/booking/domain.py decide_attendance) ---
    "appointment_not_yet": {
        "de": "Dieser Termin hat noch nicht begonnen (Einchecken ab dem Tag des Termins).",
        "en": "This appointment has not begun yet (check-in from the appointment's day on).",
    },
    "already_attended": {
        "de": "Diese Impfung ist schon als gegeben eingetragen.",
        "en": "This dose is already recorded as given.",
    },
    "first_dose_not_given": {
        "de": "Die erste Impfung ist nicht als gegeben eingetragen.",
        "en": "The first dose is not recorded as given.",
    },
    "no_such_dose": {"de": "Diese Buchung hat keine solche Impfung.", "en": "This booking has no such dose."},
    # --- centre staff: taking a mark back (domain.decide_undo) ---
    "not_today": {
        "de": "Nur ein Eintrag zu einem Termin von heute kann zurückgenommen werden.",
        "en": "Only a mark of today's appointment can be taken back.",
    },
    "second_dose_given": {
        "de": "Die zweite Impfung ist schon eingetragen: die erste bleibt eingecheckt.",
        "en": "The second dose is recorded already: the first stays checked in.",
    },
    "out_of_range": {"de": "Dieser Wert liegt außerhalb des erlaubten Bereichs.", "en": "This value is out of range."},
    "invalid_json": {"de": "Der Inhalt ist kein gültiges JSON.", "en": "The body is not valid JSON."},
    "too_deeply_nested": {"de": "Der Inhalt ist zu tief verschachtelt.", "en": "The body is nested too deeply."},
}


@dataclass(frozen=True)
class FieldProblem:
    field: str
    code: str


@dataclass
class ApiError(Exception):
    status: int
    code: str
    problems: list[FieldProblem] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


def invalid(field_name: str, code: str) -> ApiError:
    return ApiError(400, "invalid_request", [FieldProblem(field_name, code)])


# Exception type → (status, machine code). The only place that decides a domain error's HTTP status.
_STATUS_BY_TYPE: dict[type[Exception], tuple[int, str]] = {
    d.UnknownCenter: (404, "unknown_center"),
    d.UnknownCampaign: (404, "unknown_campaign"),
    d.UnknownRequest: (404, "unknown_request"),
    d.BookingNotFound: (404, "unknown_booking"),
    d.NotEligible: (403, "not_eligible"),
    d.BookingNotActive: (409, "booking_cancelled"),
    d.BookingChanged: (409, "booking_changed"),
    d.AppointmentStarted: (409, "appointment_started"),
    # --- supply changes (ops) ---
    d.UnknownOperation: (404, "unknown_operation"),
    d.OperationConflict: (409, "idempotency_key_reused"),
    d.SecondSlotTaken: (409, "slot_full"),
    # --- waiting room ---
    wr.UnknownEntry: (404, "unknown_entry"),
    wr.AdmissionRequired: (403, "admission_required"),
    wr.RoomNotOpen: (409, "waiting_room_not_open"),
    verification.VerificationRequired: (400, "verification_required"),
    verification.VerificationFailed: (403, "verification_failed"),
    d.IdempotencyKeyReused: (409, "idempotency_key_reused"),
}


def from_exception(error: Exception) -> ApiError | None:
    if isinstance(error, ApiError):
        return error
    if isinstance(error, (d.InvalidInput, wr.InvalidRoom)):
        return invalid(error.field, error.code)
    if isinstance(error, TooManyRequests):
        return ApiError(429, "too_many_requests", headers={"Retry-After": str(error.retry_after_s)})
    if isinstance(error, wr.RoomBusy):
        return ApiError(503, "service_unavailable", headers={"Retry-After": str(error.retry_after_s)})
    for error_type, (status, code) in _STATUS_BY_TYPE.items():
        if isinstance(error, error_type):
            extra = {"reason": error.reason} if isinstance(error, d.NotEligible) else {}
            if isinstance(error, verification.VerificationFailed):  # what to do next: retype, or a new code
                extra = {"reason": error.reason.value}
            return ApiError(status, code, extra=extra)
    return None


def language_of(accept_language: str | None) -> str:
    """'en' if the client prefers English over German, else 'de' (the default of this service)."""
    best, best_q = "de", -1.0
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in ("de", "en") and q > best_q:
            best, best_q = primary, q
    return best


def error_body(error: ApiError, language: str) -> dict:
    body = {"code": error.code, "message": MESSAGES[error.code][language], **error.extra}
    if error.problems:
        body["field"] = error.problems[0].field
        body["details"] = [
            {
                "field": p.field,
                "code": p.code,
                "message": FIELD_MESSAGES.get(p.code, FIELD_MESSAGES["invalid"])[language],
            }
            for p in error.problems
        ]
    return {"error": body}
