"""vaxslot's entry points: HTTP routes and queue handlers. Each one only translates; the work is in chalicelib."""

import os
from collections.abc import Mapping

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from chalice import Chalice, CognitoUserPoolAuthorizer, ConvertToMiddleware, CORSConfig, Rate, Response

from chalicelib import bootstrap
from chalicelib.api import commands, errors, schemas, staff, views
from chalicelib.api.http import api_view, chalice_errors_to_contract, json_response, require_group
from chalicelib.api.limits import client_address, client_limit
from chalicelib.booking.domain import Attendance as AttendanceMark
from chalicelib.booking.domain import NoPairAvailable, UnknownRequest
from chalicelib.booking.queues import BookingRequestMessage
from chalicelib.contracts.mail import MailMessage
from chalicelib.observability import count, logger, measure, metrics, tracer
from chalicelib.waitingroom import edge as room_edge
from chalicelib.waitingroom.domain import Lane

app = Chalice(app_name="vaxslot")
app.register_middleware(ConvertToMiddleware(logger.inject_lambda_context))
app.register_middleware(ConvertToMiddleware(metrics.log_metrics))
app.register_middleware(ConvertToMiddleware(tracer.capture_lambda_handler))
app.register_middleware(chalice_errors_to_contract, "http")
app.register_middleware(
    client_limit(bootstrap.abuse_limits, lambda: bootstrap.limit_settings().client_address_hop), "http"
)

# A public API without cookies: any origin may read it (the site may live on its own domain).
CORS = CORSConfig(
    allow_origin="*",
    allow_headers=["Content-Type", "Idempotency-Key", "Accept-Language", "Admission-Token"],
    expose_headers=["Retry-After"],
    max_age=600,
)
route = lambda path, **kw: lambda view: app.route(path, cors=CORS, **kw)(api_view(app)(view))  # noqa: E731
# Staff sign in with the Cognito user pool of infra/aws; groups decide what each may do.
# (dev/prod leave STAFF_USER_POOL_ARN unset: the packaging step points the authorizer at the stack's own pool.)
STAFF = CognitoUserPoolAuthorizer("StaffUserPool", provider_arns=[os.environ.get("STAFF_USER_POOL_ARN", "")])


def _query() -> Mapping[str, str]:
    return app.current_request.query_params or {}


@route("/v1/centers", methods=["GET"])
def list_centers():
    query = schemas.parse(schemas.PostalCodeQuery, _query(), error_code="invalid_postal_code")
    centers = bootstrap.booking_queries().centers(query.postal_code)
    return json_response({"centers": [views.center(c) for c in centers]})


@route("/v1/campaigns", methods=["GET"])
def list_campaigns():
    campaigns = bootstrap.booking_queries().campaigns()
    return json_response({"campaigns": [views.campaign(c, status) for c, status in campaigns]})


@route("/v1/eligibility", methods=["POST"])
def check_eligibility():
    body = schemas.parse_json_body(schemas.EligibilityBody, app.current_request.raw_body)
    result = bootstrap.booking_queries().eligibility(body.birth_date, body.postal_code)
    return json_response(views.eligibility(result))


@route("/v1/centers/{center_id}/availability", methods=["GET"])
def center_availability(center_id):
    query = schemas.parse(schemas.AvailabilityQuery, _query())
    queries, now = bootstrap.booking_queries(), bootstrap.now()
    days = queries.availability(center_id, query.campaign, query.from_, query.days, now)
    page = queries.availability_page(query.campaign, query.from_, query.days, now)
    return json_response(views.availability(center_id, query.campaign, days, now, page))


@route("/v1/verifications", methods=["POST"])
def start_verification():
    """Send a one-time code to the e-mail address, for a campaign that verifies contacts (docs/abuse.md)."""
    request = app.current_request
    body = schemas.parse_json_body(schemas.VerificationBody, request.raw_body)
    address = client_address(request.headers, bootstrap.limit_settings().client_address_hop)
    verification = bootstrap.verification_service().start(body.campaign_id, body.email, body.language, address)
    count("VerificationSent")
    return json_response({"verification_id": verification.id, "expires_at": verification.expires_at.isoformat()}, 201)


def _accept_booking_request(channel: str) -> Response:
    request = app.current_request
    body = schemas.parse_json_body(schemas.BookingRequestBody, request.raw_body)
    if channel == "web":  # a hotline agent has the caller on the phone: no code to read out
        bootstrap.verification_service().require(body.campaign_id, body.person.email, body.verification_proof())
    # Waiting room (§8): while the campaign's room is active, only an admitted visitor may send a request.
    bootstrap.waiting_room_service().check_admission(
        body.campaign_id, request.headers.get("admission-token"), bootstrap.person_key(body.person.to_domain())
    )
    request_id = commands.submit_booking_request(
        bootstrap.booking_service(), body, request.headers.get("idempotency-key")
    )
    count("BookingRequestAccepted", channel=channel)
    return json_response(views.request_accepted(request_id), 202)


@route("/v1/booking-requests", methods=["POST"])
def submit_booking_request():
    return _accept_booking_request("web")


@route("/v1/booking-requests/{request_id}", methods=["GET"])
def booking_request_status(request_id):
    state, booking = bootstrap.booking_queries().request_state(request_id)
    line = bootstrap.queue_positions().line(state)  # a decided request's is empty: no position, no Retry-After
    pace = {"Retry-After": str(line.retry_after_s)} if line.retry_after_s is not None else None
    return json_response(views.request_state(state, booking, line.position), headers=pace)


@route("/v1/bookings/{code}", methods=["GET"])
def lookup_booking(code):
    query = schemas.parse(schemas.BirthDateQuery, _query())
    with bootstrap.abuse_limits().code_attempt(code):
        return json_response(views.booking(bootstrap.booking_queries().lookup(code, query.birth_date, with_hold=True)))


@route("/v1/bookings/{code}/cancel", methods=["POST"])
def cancel_booking(code):
    body = schemas.parse_json_body(schemas.CancelBody, app.current_request.raw_body)
    with bootstrap.abuse_limits().code_attempt(code):
        view = bootstrap.booking_service().cancel(code, body.birth_date)
    count("BookingCancelled")
    return json_response(views.cancelled(view))


@route("/v1/bookings/{code}/calendar.ics", methods=["GET"])
def booking_calendar_file(code):
    query = schemas.parse(schemas.BirthDateQuery, _query())
    with bootstrap.abuse_limits().code_attempt(code):
        view = bootstrap.booking_queries().lookup(code, query.birth_date)
    return Response(
        body=views.calendar_file(view).decode(),
        status_code=200,
        headers={
            "Content-Type": "text/calendar; charset=utf-8",
            "Content-Disposition": 'attachment; filename="impftermine.ics"',
        },
    )


# The same look-up and calendar with the birth date in a POST body: a URL ends up in browser histories, proxy and
# access logs and Referer headers, a body does not. The GET routes above stay for the contract's clients.
@route("/v1/bookings/{code}/lookup", methods=["POST"])
def lookup_booking_by_body(code):
    body = schemas.parse_json_body(schemas.LookupBody, app.current_request.raw_body)
    with bootstrap.abuse_limits().code_attempt(code):
        view = bootstrap.booking_queries().lookup(code, body.birth_date, with_hold=True)
    return json_response(views.booking(view), headers={"Cache-Control": "no-store"})


@route("/v1/bookings/{code}/calendar.ics", methods=["POST"])
def booking_calendar_file_by_body(code):
    body = schemas.parse_json_body(schemas.LookupBody, app.current_request.raw_body)
    with bootstrap.abuse_limits().code_attempt(code):
        view = bootstrap.booking_queries().lookup(code, body.birth_date)
    return _calendar_response(view)


def _calendar_response(view) -> Response:
    return Response(
        body=views.calendar_file(view).decode(),
        status_code=200,
        headers={
            "Content-Type": "text/calendar; charset=utf-8",
            "Content-Disposition": 'attachment; filename="impftermine.ics"',
            "Cache-Control": "no-store",
        },
    )


def _rebook(code: str, channel: str, actor=None) -> Response:
    request = app.current_request
    body = schemas.parse_json_body(schemas.RebookBody, request.raw_body)
    try:
        # Limited per code like look-up and cancel (§5); a refused rebook gives its attempt back.
        with bootstrap.abuse_limits().code_attempt(code):
            view = bootstrap.booking_service().rebook(code, body.birth_date, body.slot_id, body.flexible, actor)
    except NoPairAvailable as refused:
        count("BookingRebookRefused", channel=channel)
        language = errors.language_of(request.headers.get("accept-language"))
        return json_response(views.rebook_refused(refused, language), 409)
    count("BookingRebooked", channel=channel)
    return json_response(views.rebooked(view), headers={"Cache-Control": "no-store"})


@route("/v1/bookings/{code}/rebook", methods=["POST"])
def rebook_booking(code):
    return _rebook(code, "web")


@route("/v1/staff/bookings/{code}/rebook", methods=["POST"], authorizer=STAFF)
def hotline_rebook(code):
    """A hotline agent (or ops, or an admin) rebooks for a caller who gives code and birth date: the same swap; it
    also accepts or swaps the pair held for a booking a centre-day cancel cancelled (the staff look-up shows it)."""
    actor = staff.staff_actor(app.current_request, "hotline", "ops", "admin")
    return _rebook(code, "hotline", actor)  # audited in the swap's own transaction


# --- staff (hotline agents and ops) --------------------------------------------------------------


@route("/v1/staff/booking-requests", methods=["POST"], authorizer=STAFF)
def hotline_booking_request():
    """An agent books for a caller (e-mail optional): same rules and queue; agent and channel recorded, audited."""
    request = app.current_request
    actor = staff.staff_actor(request, "hotline", "ops", "admin")
    body = schemas.parse_json_body(staff.HotlineBookingRequestBody, request.raw_body)
    person = body.person.to_domain()
    bootstrap.waiting_room_service().check_admission(
        body.campaign_id, request.headers.get("admission-token"), bootstrap.person_key(person)
    )
    request_id = staff.submit_for_caller(
        bootstrap.booking_service(), bootstrap.staff_service(), body, request.headers.get("idempotency-key"), actor
    )
    count("BookingRequestAccepted", channel="hotline")
    return json_response(views.request_accepted(request_id), 202)


@route("/v1/staff/campaigns/{campaign_id}", methods=["PUT"], authorizer=STAFF)
def put_campaign(campaign_id):
    actor = staff.staff_actor(app.current_request, "ops")
    body = schemas.parse_json_body(schemas.CampaignBody, app.current_request.raw_body)
    before = bootstrap.staff_service().campaign_or_none(schemas.parse_identifier(campaign_id))
    campaign = bootstrap.operations_service().put_campaign(body.to_domain(schemas.parse_identifier(campaign_id)))
    bootstrap.staff_service().campaign_put(actor, before, campaign)
    return json_response(views.campaign(campaign))


@route("/v1/staff/campaigns/{campaign_id}/contingents", methods=["POST"], authorizer=STAFF)
def release_contingent(campaign_id):
    request = app.current_request
    actor = staff.staff_actor(request, "ops")
    body = schemas.parse_json_body(schemas.ContingentBody, request.raw_body)
    key = schemas.require_header(request.headers, "Idempotency-Key")
    # chalice's LambdaContext carries what powertools reads; mypy sees two unrelated classes.
    bootstrap.contingent_idempotency().register_lambda_context(app.lambda_context)  # type: ignore[arg-type]
    slots = commands.release_contingent(bootstrap.release_contingent_once(), campaign_id, body, key)
    bootstrap.staff_service().contingent_released(
        actor, campaign_id, body.center_id, slots, added_capacity=sum(s.capacity for s in body.slots)
    )
    count("ContingentReleased")
    return json_response(views.released_contingent(campaign_id, body.center_id, slots), 201)


# --- hotline look-up and cancel, the audit (issue #13; docs/hotline.md) ----------------------------
# Agents find and cancel for callers; admins read who did what. Ops are not given the audit: it is the
# review of their own actions (cohorts, contingents, waiting room).
AGENT_ROLES = ("hotline", "admin")


@route("/v1/staff/bookings/{code}", methods=["GET"], authorizer=STAFF)
def staff_lookup_booking(code):
    staff.staff_actor(app.current_request, *AGENT_ROLES)
    query = schemas.parse(schemas.BirthDateQuery, _query())
    service = bootstrap.staff_service()
    view = service.lookup(code, query.birth_date)
    return json_response(staff.staff_booking_with_mail(view, service.mails(view)))


@route("/v1/staff/bookings", methods=["GET"], authorizer=STAFF)
def staff_find_bookings():
    staff.staff_actor(app.current_request, *AGENT_ROLES)
    query = staff.parse_caller_query(_query())
    service = bootstrap.staff_service()
    found = service.find(query.given_name, query.family_name, query.birth_date, query.postal_code)
    return json_response({"bookings": [staff.staff_booking_with_mail(v, service.mails(v)) for v in found]})


@route("/v1/staff/bookings/{code}/cancel", methods=["POST"], authorizer=STAFF)
def staff_cancel_booking(code):
    actor = staff.staff_actor(app.current_request, *AGENT_ROLES)
    service = bootstrap.staff_service()
    view = service.cancel(actor, code)
    count("BookingCancelled", channel="hotline")
    return json_response(staff.staff_booking_with_mail(view, service.mails(view)))


@route("/v1/staff/bookings/{code}/contact", methods=["PUT"], authorizer=STAFF)
def staff_change_contact(code):
    """An agent corrects a caller's e-mail address and phone; a new address gets the confirmation again, once."""
    actor = staff.staff_actor(app.current_request, *AGENT_ROLES)
    body = schemas.parse_json_body(staff.ContactBody, app.current_request.raw_body)
    service = bootstrap.staff_service()
    view = service.change_contact(actor, code, body.birth_date, body.email, body.phone)
    count("BookingContactChanged", channel="hotline")
    return json_response(staff.staff_booking_with_mail(view, service.mails(view)))


@route("/v1/staff/audit", methods=["GET"], authorizer=STAFF)
def staff_audit():
    staff.staff_actor(app.current_request, "admin")
    query = schemas.parse(staff.AuditQuery, _query())
    page = bootstrap.staff_service().audit(
        query.from_, query.to, query.actor, query.limit, staff.decode_cursor(query.cursor)
    )
    return json_response(staff.audit_page(page))


# --- centre staff: day list, check-in, no-show (issue #13; docs/operations.md "Centre staff") ---------
# Group `center_staff:<center_id>` for the centre in the path, or `admin`.


@route("/v1/staff/centers/{center_id}/days/{day}", methods=["GET"], authorizer=STAFF)
def centre_day_list(center_id, day):
    staff.centre_actor(app.current_request, center_id)
    path = staff.parse_day_path(center_id, day)
    lines = bootstrap.attendance_service().day_list(path.center_id, path.day)
    return json_response(staff.day_list(path.center_id, path.day, lines), headers={"Cache-Control": "no-store"})


def _mark_attendance(center_id: str, code: str, mark: AttendanceMark) -> Response:
    actor = staff.centre_actor(app.current_request, center_id)
    body = schemas.parse_json_body(staff.MarkBody, app.current_request.raw_body)
    line = bootstrap.attendance_service().mark(
        actor, schemas.parse_identifier(center_id, "center_id"), code, body.dose, mark
    )
    count("AttendanceMarked", mark=mark.value)
    return json_response(staff.day_line(line), headers={"Cache-Control": "no-store"})


@route("/v1/staff/centers/{center_id}/bookings/{code}/check-in", methods=["POST"], authorizer=STAFF)
def check_in(center_id, code):
    """The dose was given. Marking it again answers the same and changes nothing."""
    return _mark_attendance(center_id, code, AttendanceMark.ATTENDED)


@route("/v1/staff/centers/{center_id}/bookings/{code}/no-show", methods=["POST"], authorizer=STAFF)
def no_show(center_id, code):
    """The person did not come (after the appointment began). Marking it again changes nothing."""
    return _mark_attendance(center_id, code, AttendanceMark.NO_SHOW)


@route("/v1/staff/centers/{center_id}/bookings/{code}/undo-mark", methods=["POST"], authorizer=STAFF)
def undo_mark(center_id, code):
    """Takes back the check-in or no-show of today's appointment (a wrong row clicked): expected again."""
    actor = staff.centre_actor(app.current_request, center_id)
    body = schemas.parse_json_body(staff.MarkBody, app.current_request.raw_body)
    line = bootstrap.attendance_service().undo(actor, schemas.parse_identifier(center_id, "center_id"), code, body.dose)
    count("AttendanceMarkTakenBack")
    return json_response(staff.day_line(line), headers={"Cache-Control": "no-store"})


# --- supply changes and reports (ops; docs/operations.md "Supply changes") ---------------------------


@route("/v1/staff/campaigns/{campaign_id}/capacity-cuts", methods=["POST"], authorizer=STAFF)
def cut_capacity(campaign_id):
    """Setting a capacity is the same however often it is sent: no Idempotency-Key needed."""
    actor = staff.staff_actor(app.current_request, "ops")
    body = schemas.parse_json_body(schemas.CapacityCutBody, app.current_request.raw_body)
    changes = bootstrap.operations_service().reduce_capacity(
        schemas.parse_identifier(campaign_id), body.center_id, body.capacity, actor, body.slot_id, body.day
    )
    count("CapacityCut")
    return json_response(views.capacity_cut(campaign_id, body.center_id, changes))


@route("/v1/staff/campaigns/{campaign_id}/centre-day-operations", methods=["POST"], authorizer=STAFF)
def centre_day_operation(campaign_id):
    """Cancel a centre's days in bounded batches: 202 until done; the same request (same key) goes on with it."""
    request = app.current_request
    actor = staff.staff_actor(request, "ops")
    body = schemas.parse_json_body(schemas.CentreDayBody, request.raw_body)
    query = schemas.parse(schemas.OperationQuery, _query())
    key = schemas.require_header(request.headers, "Idempotency-Key")
    operation = commands.centre_day_operation(schemas.parse_identifier(campaign_id), body, key, actor.user)
    progress = bootstrap.operations_service().cancel_centre_days(operation, query.batch, actor)
    count("CentreDayOperationRun")
    return json_response(views.centre_day_operation(progress), 200 if progress.done else 202)


@route("/v1/staff/operations/{operation_id}", methods=["GET"], authorizer=STAFF)
def operation_progress(operation_id):
    require_group(app.current_request, "ops", "admin")
    progress = bootstrap.operations_service().operation(schemas.operation_id(operation_id))
    return json_response(views.centre_day_operation(progress))


@route("/v1/staff/operations/{operation_id}/letters", methods=["GET"], authorizer=STAFF)
def operation_letters(operation_id):
    """The notices of a centre-day operation for people without e-mail, to post or read out (docs/hotline.md);
    audited (which bookings' addresses were read) before the answer leaves."""
    actor = staff.staff_actor(app.current_request, *AGENT_ROLES)
    query = schemas.parse(staff.LettersQuery, _query())
    page = bootstrap.operations_service().letters(
        schemas.operation_id(operation_id), staff.decode_scan_cursor(query.cursor), query.limit, query.only_open
    )
    bootstrap.staff_service().letters_listed(actor, page.operation.operation_id, [x.booking.code for x in page.letters])
    count("OperationLettersListed")
    return json_response(staff.letters_page(page), headers={"Cache-Control": "no-store"})


@route("/v1/staff/operations/{operation_id}/letters/{code}/mark", methods=["PUT"], authorizer=STAFF)
def mark_operation_letter(operation_id, code):
    """Mark a letter as sent or its caller as reached (docs/operations.md); the first mark stands, so a repeat
    answers the mark stored before with `changed` false and writes nothing."""
    actor = staff.staff_actor(app.current_request, *AGENT_ROLES)
    body = schemas.parse_json_body(staff.LetterMarkBody, app.current_request.raw_body)
    mark, changed = bootstrap.operations_service().mark_letter(
        actor, schemas.operation_id(operation_id), schemas.booking_code(code), body.mark
    )
    if changed:
        count("OperationLetterMarked", mark=mark.kind.value)
    return json_response({"code": mark.code, "mark": staff.letter_mark(mark), "changed": changed})


@route("/v1/staff/operations/{operation_id}/letters/{code}/mark", methods=["DELETE"], authorizer=STAFF)
def unmark_operation_letter(operation_id, code):
    """Take a letter's mark back (a wrong line, a letter that came back): open again, audited; a letter without a
    mark is answered as it is (`changed` false, nothing written)."""
    actor = staff.staff_actor(app.current_request, *AGENT_ROLES)
    booking_code, removed = bootstrap.operations_service().unmark_letter(
        actor, schemas.operation_id(operation_id), schemas.booking_code(code)
    )
    if removed is not None:
        count("OperationLetterUnmarked", mark=removed.kind.value)
    body = {"code": booking_code, "mark": None, "changed": removed is not None, "removed": staff.letter_mark(removed)}
    return json_response(body)


@route("/v1/staff/bookings/{code}/second-dose", methods=["POST"], authorizer=STAFF)
def add_second_dose(code):
    """The 2021 repair: a first dose without its second gets one (one transaction; inside the interval window).
    One mail tells the person. Repeated with the same slot it answers the same and changes nothing (the mail is not
    sent twice); with another slot, 400 second_dose_not_missing."""
    actor = staff.staff_actor(app.current_request, "ops")
    body = schemas.parse_json_body(schemas.SecondDoseBody, app.current_request.raw_body)
    booking = bootstrap.operations_service().add_second_dose(code, body.slot_id, actor)
    count("SecondDoseAdded")
    return json_response(views.second_dose(booking))


@route("/v1/staff/reports/daily", methods=["GET"], authorizer=STAFF)
def daily_report():
    request = app.current_request
    require_group(request, "ops", "admin")
    query = schemas.parse(schemas.ReportQuery, _query())
    rows = bootstrap.operations_service().daily_report(query.campaign, query.from_, query.to)
    wants_csv = query.format == "csv" or (query.format is None and "text/csv" in (request.headers.get("accept") or ""))
    if wants_csv:
        return Response(
            body=views.daily_report_csv(rows),
            status_code=200,
            headers={
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": f'attachment; filename="report-{query.campaign}.csv"',
            },
        )
    return json_response(views.daily_report(rows))


# --- queue workers --------------------------------------------------------------------------------


def process_booking_record(record: SQSRecord) -> None:
    message = BookingRequestMessage.model_validate_json(record.body)
    state = bootstrap.booking_service().process(message.to_domain())
    logger.info(
        "booking request decided",
        extra={
            "request_id": message.request_id,
            "status": state.status.value,
            "reason": state.reason.value if state.reason else None,
        },
    )
    count(f"BookingRequest{state.status.value.capitalize()}")


def reject_dead_booking_record(record: SQSRecord) -> None:
    message = BookingRequestMessage.model_validate_json(record.body)
    try:
        state = bootstrap.booking_service().give_up(message.to_domain())
    except UnknownRequest:  # never stored: nobody waits for it, so there is nothing to decide
        logger.warning("dead letter of an unknown request dropped", extra={"request_id": message.request_id})
        return
    logger.warning(
        "booking request not processed", extra={"request_id": message.request_id, "status": state.status.value}
    )
    count("BookingRequestNotProcessed")


def send_mail_record(record: SQSRecord) -> None:
    message = MailMessage.model_validate_json(record.body)
    try:
        claim = bootstrap.mail_service().send(message)
    except Exception:
        # Wait longer before each new try (30 s doubling to 15 min): an SES outage of hours loses nothing.
        bootstrap.mail_retry().later(
            record.event_source_arn, record.receipt_handle, int(record.attributes.approximate_receive_count)
        )
        raise
    count(claim.metric, kind=message.kind.value)


def _batch(event, record_handler):
    # A processor per invocation: it holds the batch's outcomes, and the local pumps call handlers in parallel.
    return process_partial_response(
        event=event.to_dict(),
        record_handler=record_handler,
        processor=BatchProcessor(EventType.SQS),
        context=event.context,
    )


# Queue and topic names come from the stage's environment (.chalice/config.json, from infra/resources.py).
@app.on_sqs_message(queue=os.environ["BOOKING_QUEUE_NAME"], batch_size=10)
def booking_worker(event):
    return _batch(event, process_booking_record)


@app.on_sqs_message(queue=os.environ["BOOKING_DLQ_NAME"], batch_size=10)
def booking_dead_letters(event):
    """Requests the worker failed maxReceiveCount times: rejected as not_processed, so none waits for ever."""
    return _batch(event, reject_dead_booking_record)


@app.on_sqs_message(queue=os.environ["NOTIFY_QUEUE_NAME"], batch_size=10)
def mail_worker(event):
    return _batch(event, send_mail_record)


@app.on_sns_message(topic=os.environ["MAIL_EVENTS_TOPIC_NAME"])
def mail_events(event):
    """SES bounces and complaints: suppress the addresses, so that no mail goes there again."""
    suppressed = bootstrap.mail_service().record_feedback(event.message)
    logger.info("mail feedback recorded", extra={"suppressed": suppressed})


@app.schedule(Rate(1, unit=Rate.HOURS))
def reconcile(event):
    """Slot counters against the bookings holding them; the two metrics carry the alarms of infra/aws."""
    bootstrap.operations_service().release_lapsed_holds()  # held pairs nobody confirmed give their seats back first
    report = bootstrap.reconciliation().run()
    measure("ReconciliationDrift", report.drift)
    measure("SecondDoseShortfall", report.second_dose_shortfall)
    logger.info(
        "reconciled",
        extra={
            "slots": report.slots_checked,
            "bookings": report.bookings_checked,
            "drift": report.drift,
            "drifting_slots": report.drifting_slots[:50],
            "second_dose_shortfall": report.second_dose_shortfall,
        },
    )


# --- waiting room (contract §8) -------------------------------------------------------------------
# The room's settings are a snapshot (chalicelib/api/http.py SNAPSHOT_ROUTES: cacheable for the freshness bound);
# an entry carries its admission token, so never.
_ENTRY_CACHE = {"Cache-Control": "no-store"}


def _entry_response(view, status: int = 200) -> Response:
    return json_response(
        room_edge.entry(view), status, {**_ENTRY_CACHE, "Retry-After": str(room_edge.retry_after_s(view))}
    )


@route("/v1/campaigns/{campaign_id}/waiting-room", methods=["GET"])
def waiting_room(campaign_id):
    settings = bootstrap.waiting_room_service().room(campaign_id)
    return json_response(room_edge.room(campaign_id, settings))


@route("/v1/campaigns/{campaign_id}/waiting-room/entries", methods=["POST"])
def enter_waiting_room(campaign_id):
    view = bootstrap.waiting_room_service().enter(campaign_id)
    count("WaitingRoomEntered", channel="web")
    return _entry_response(view, 201)


@route("/v1/waiting-room/entries/{entry_id}", methods=["GET"])
def waiting_room_entry(entry_id):
    return _entry_response(bootstrap.waiting_room_service().entry(entry_id))


@route("/v1/staff/campaigns/{campaign_id}/waiting-room", methods=["PUT"], authorizer=STAFF)
def put_waiting_room(campaign_id):
    actor = staff.staff_actor(app.current_request, "ops")
    body = schemas.parse_json_body(room_edge.RoomBody, app.current_request.raw_body)
    campaign_id = schemas.parse_identifier(campaign_id)
    before = room_edge.room(campaign_id, bootstrap.waiting_room_service().room(campaign_id))
    settings = bootstrap.waiting_room_service().put_room(body.to_domain(campaign_id))
    after = room_edge.room(campaign_id, settings)
    bootstrap.staff_service().waiting_room_put(actor, campaign_id, before, after)
    return json_response(after)


@route("/v1/staff/campaigns/{campaign_id}/waiting-room/entries", methods=["POST"], authorizer=STAFF)
def hotline_enter_waiting_room(campaign_id):
    """A hotline agent queues a caller in the hotline lane: same room and rules, the lane's reserved share."""
    require_group(app.current_request, "hotline", "ops")
    view = bootstrap.waiting_room_service().enter(campaign_id, Lane.HOTLINE)
    count("WaitingRoomEntered", channel="hotline")
    return _entry_response(view, 201)
