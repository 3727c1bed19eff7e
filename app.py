"""vaxslot's entry points: HTTP routes and queue handlers. Each one only translates; the work is in chalicelib."""

import os

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from chalice import Chalice, CognitoUserPoolAuthorizer, ConvertToMiddleware, CORSConfig, Rate, Response

from chalicelib import bootstrap
from chalicelib.api import commands, schemas, views
from chalicelib.api.http import api_view, chalice_errors_to_contract, json_response, require_group
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

# A public API without cookies: any origin may read it (the site may live on its own domain).
CORS = CORSConfig(allow_origin="*",
                  allow_headers=["Content-Type", "Idempotency-Key", "Accept-Language", "Admission-Token"],
                  expose_headers=["Retry-After"], max_age=600)
route = lambda path, **kw: lambda view: app.route(path, cors=CORS, **kw)(api_view(app)(view))  # noqa: E731
# Staff sign in with the Cognito user pool of infra/aws; groups decide what each may do.
# (dev/prod leave STAFF_USER_POOL_ARN unset: the packaging step points the authorizer at the stack's own pool.)
STAFF = CognitoUserPoolAuthorizer("StaffUserPool", provider_arns=[os.environ.get("STAFF_USER_POOL_ARN", "")])


def _query() -> dict:
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
    days = bootstrap.booking_queries().availability(center_id, query.campaign, query.from_, query.days)
    return json_response(views.availability(center_id, query.campaign, days, bootstrap.now()))


def _accept_booking_request(channel: str) -> Response:
    request = app.current_request
    body = schemas.parse_json_body(schemas.BookingRequestBody, request.raw_body)
    # Waiting room (§8): while the campaign's room is active, only an admitted visitor may send a request.
    bootstrap.waiting_room_service().check_admission(body.campaign_id, request.headers.get("admission-token"),
                                                     bootstrap.person_key(body.person.to_domain()))
    bootstrap.booking_request_idempotency().register_lambda_context(app.lambda_context)
    request_id = commands.submit_booking_request(bootstrap.submit_booking_request(), body,
                                                 request.headers.get("idempotency-key"))
    count("BookingRequestAccepted", channel=channel)
    return json_response(views.request_accepted(request_id), 202)


@route("/v1/booking-requests", methods=["POST"])
def submit_booking_request():
    return _accept_booking_request("web")


@route("/v1/booking-requests/{request_id}", methods=["GET"])
def booking_request_status(request_id):
    state, booking = bootstrap.booking_queries().request_state(request_id)
    return json_response(views.request_state(state, booking))


@route("/v1/bookings/{code}", methods=["GET"])
def lookup_booking(code):
    query = schemas.parse(schemas.BirthDateQuery, _query())
    return json_response(views.booking(bootstrap.booking_queries().lookup(code, query.birth_date)))


@route("/v1/bookings/{code}/cancel", methods=["POST"])
def cancel_booking(code):
    body = schemas.parse_json_body(schemas.CancelBody, app.current_request.raw_body)
    view = bootstrap.booking_service().cancel(code, body.birth_date)
    count("BookingCancelled")
    return json_response(views.cancelled(view))


@route("/v1/bookings/{code}/calendar.ics", methods=["GET"])
def booking_calendar_file(code):
    query = schemas.parse(schemas.BirthDateQuery, _query())
    view = bootstrap.booking_queries().lookup(code, query.birth_date)
    return Response(body=views.calendar_file(view).decode(), status_code=200, headers={
        "Content-Type": "text/calendar; charset=utf-8",
        "Content-Disposition": 'attachment; filename="impftermine.ics"',
    })


# The same look-up and calendar with the birth date in a POST body: a URL ends up in browser histories, proxy and
# access logs and Referer headers, a body does not. The GET routes above stay for the contract's clients.
@route("/v1/bookings/{code}/lookup", methods=["POST"])
def lookup_booking_by_body(code):
    body = schemas.parse_json_body(schemas.LookupBody, app.current_request.raw_body)
    return json_response(views.booking(bootstrap.booking_queries().lookup(code, body.birth_date)))


@route("/v1/bookings/{code}/calendar.ics", methods=["POST"])
def booking_calendar_file_by_body(code):
    body = schemas.parse_json_body(schemas.LookupBody, app.current_request.raw_body)
    return _calendar_response(bootstrap.booking_queries().lookup(code, body.birth_date))


def _calendar_response(view) -> Response:
    return Response(body=views.calendar_file(view).decode(), status_code=200, headers={
        "Content-Type": "text/calendar; charset=utf-8",
        "Content-Disposition": 'attachment; filename="impftermine.ics"',
        "Cache-Control": "no-store",
    })


# --- staff (hotline agents and ops) --------------------------------------------------------------


@route("/v1/staff/booking-requests", methods=["POST"], authorizer=STAFF)
def hotline_booking_request():
    """A hotline agent books for a caller: same rules and queue, not limited per IP like the public route."""
    require_group(app.current_request, "hotline", "ops")
    return _accept_booking_request("hotline")


@route("/v1/staff/campaigns/{campaign_id}", methods=["PUT"], authorizer=STAFF)
def put_campaign(campaign_id):
    require_group(app.current_request, "ops")
    body = schemas.parse_json_body(schemas.CampaignBody, app.current_request.raw_body)
    campaign = bootstrap.operations_service().put_campaign(body.to_domain(schemas.parse_identifier(campaign_id)))
    return json_response(views.campaign(campaign))


@route("/v1/staff/campaigns/{campaign_id}/contingents", methods=["POST"], authorizer=STAFF)
def release_contingent(campaign_id):
    request = app.current_request
    require_group(request, "ops")
    body = schemas.parse_json_body(schemas.ContingentBody, request.raw_body)
    key = schemas.require_header(request.headers, "Idempotency-Key")
    bootstrap.contingent_idempotency().register_lambda_context(app.lambda_context)
    slots = commands.release_contingent(bootstrap.release_contingent_once(), campaign_id, body, key)
    count("ContingentReleased")
    return json_response(views.released_contingent(campaign_id, body.center_id, slots), 201)


# --- queue workers --------------------------------------------------------------------------------

def process_booking_record(record: SQSRecord) -> None:
    message = BookingRequestMessage.model_validate_json(record.body)
    state = bootstrap.booking_service().process(message.to_domain())
    logger.info("booking request decided", extra={"request_id": message.request_id, "status": state.status.value,
                                                   "reason": state.reason.value if state.reason else None})
    count(f"BookingRequest{state.status.value.capitalize()}")


def send_mail_record(record: SQSRecord) -> None:
    message = MailMessage.model_validate_json(record.body)
    sent = bootstrap.send_mail_once()(message)
    count("MailSent" if sent else "MailSuppressed", kind=message.kind.value)


# Queue and topic names come from the stage's environment (.chalice/config.json, from infra/resources.py).
# A processor per invocation: it holds the batch's outcomes, and the local pumps call handlers in parallel.
@app.on_sqs_message(queue=os.environ["BOOKING_QUEUE_NAME"], batch_size=10)
def booking_worker(event):
    return process_partial_response(event=event.to_dict(), record_handler=process_booking_record,
                                    processor=BatchProcessor(EventType.SQS), context=event.context)


@app.on_sqs_message(queue=os.environ["NOTIFY_QUEUE_NAME"], batch_size=10)
def mail_worker(event):
    # Without the context a crashed send would hold its idempotency record "in progress" for 30 days.
    bootstrap.mail_idempotency().register_lambda_context(event.context)
    return process_partial_response(event=event.to_dict(), record_handler=send_mail_record,
                                    processor=BatchProcessor(EventType.SQS), context=event.context)


@app.on_sns_message(topic=os.environ["MAIL_EVENTS_TOPIC_NAME"])
def mail_events(event):
    """SES bounces and complaints: suppress the addresses, so that no mail goes there again."""
    suppressed = bootstrap.mail_service().record_feedback(event.message)
    logger.info("mail feedback recorded", extra={"suppressed": suppressed})


@app.schedule(Rate(1, unit=Rate.HOURS))
def reconcile(event):
    """Slot counters against the bookings holding them; the two metrics carry the alarms of infra/aws."""
    report = bootstrap.reconciliation().run()
    measure("ReconciliationDrift", report.drift)
    measure("SecondDoseShortfall", report.second_dose_shortfall)
    logger.info("reconciled", extra={"slots": report.slots_checked, "bookings": report.bookings_checked,
                                     "drift": report.drift, "drifting_slots": report.drifting_slots[:50],
                                     "second_dose_shortfall": report.second_dose_shortfall})


# --- waiting room (contract §8) -------------------------------------------------------------------
# The room's settings may be cached by a CDN for a few seconds; an entry carries its admission token, so never.
_ROOM_CACHE = {"Cache-Control": "public, max-age=5"}
_ENTRY_CACHE = {"Cache-Control": "no-store"}


def _entry_response(view, status: int = 200) -> Response:
    return json_response(room_edge.entry(view), status,
                         {**_ENTRY_CACHE, "Retry-After": str(room_edge.retry_after_s(view))})


@route("/v1/campaigns/{campaign_id}/waiting-room", methods=["GET"])
def waiting_room(campaign_id):
    settings = bootstrap.waiting_room_service().room(campaign_id)
    return json_response(room_edge.room(campaign_id, settings), headers=_ROOM_CACHE)


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
    require_group(app.current_request, "ops")
    body = schemas.parse_json_body(room_edge.RoomBody, app.current_request.raw_body)
    campaign_id = schemas.parse_identifier(campaign_id)
    settings = bootstrap.waiting_room_service().put_room(body.to_domain(campaign_id))
    return json_response(room_edge.room(campaign_id, settings))


@route("/v1/staff/campaigns/{campaign_id}/waiting-room/entries", methods=["POST"], authorizer=STAFF)
def hotline_enter_waiting_room(campaign_id):
    """A hotline agent queues a caller in the hotline lane: same room and rules, the lane's reserved share."""
    require_group(app.current_request, "hotline", "ops")
    view = bootstrap.waiting_room_service().enter(campaign_id, Lane.HOTLINE)
    count("WaitingRoomEntered", channel="hotline")
    return _entry_response(view, 201)
