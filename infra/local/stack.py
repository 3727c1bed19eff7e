"""The whole system on loopback: patched moto server, tables and queues, demo data, API, queue pumps, site.

`make run` and the end-to-end and browser tests start the same stack:

    with LocalStack() as stack:      # port 0 = any free loopback port
        stack.api_url, stack.site_url, stack.aws_url
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import date
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from chalice import Chalice
from chalice.config import Config
from chalice.local import ChaliceRequestHandler, ForbiddenError, LocalDevServer, ThreadedHTTPServer

from chalicelib.booking.ports import Catalog
from infra.local import callcount
from infra.local.aws import LOCAL_CREDENTIALS, REGION, client, create_resources, sent_mail
from infra.local.pump import QueuePump
from infra.local.seed import seed_demo

ROOT = Path(__file__).resolve().parents[2]
SITE_DIR = ROOT / "site"
STAGE = "local"
HOTLINE = "0800 116 117 02"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_until_up(url: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come up within {timeout_s:.0f} s") from None
            time.sleep(0.1)


class _PerThreadRequestChalice(Chalice):
    """The Chalice app with `current_request` and `lambda_context` kept per thread.

    Chalice keeps the request being handled on the app object: right in Lambda (one request per process
    at a time), a race on a threaded local server, where one request's view could read another's body.
    """

    _per_thread = threading.local()

    current_request = property(
        lambda self: getattr(self._per_thread, "current_request", None),
        lambda self, value: setattr(self._per_thread, "current_request", value),
    )
    lambda_context = property(
        lambda self: getattr(self._per_thread, "lambda_context", None),
        lambda self, value: setattr(self._per_thread, "lambda_context", value),
    )


class _GatewayServer(ThreadedHTTPServer):
    """chalice local's threaded server, made to take a launch-day burst.

    `HTTPServer` listens with a backlog of 5: a burst of connections beyond it is dropped or reset. Here
    the kernel queues up to `request_queue_size` connections, each gets a thread, and at most
    `max_in_flight` requests run the app at once, as a Lambda concurrency limit would; a request that
    waits longer than `admission_wait_s` for its turn gets 429 with Retry-After, as API Gateway's
    throttling answers, instead of a reset connection.
    """

    request_queue_size = 1024
    block_on_close = False  # stopping must not wait for browsers' idle keep-alive connections

    def __init__(self, address, handler, max_in_flight: int, admission_wait_s: float):
        super().__init__(address, handler)
        self.admission = threading.BoundedSemaphore(max_in_flight)
        self.admission_wait_s = admission_wait_s

    def process_request(self, request, client_address) -> None:
        # Named "api-…" so that infra/local/callcount.py counts the AWS calls made here as the API's.
        threading.Thread(
            target=self.process_request_thread, args=(request, client_address), name="api-request", daemon=True
        ).start()


class _GatewayRequestHandler(ChaliceRequestHandler):
    """chalice local as API Gateway is configured in infra/aws: unknown routes, unreadable staff tokens and
    unsupported methods answer the contract's JSON errors (404 unknown_route, 401 unauthorized, 405
    method_not_allowed), and an overloaded server answers 429 with Retry-After."""

    # An idle keep-alive connection holds a thread; close it after a while as API Gateway does.
    timeout = 30

    def _send_contract_error(self, status: int, code: str, headers: dict | None = None) -> None:
        from chalicelib.api.errors import ApiError, error_body, language_of

        body = error_body(ApiError(status, code), language_of(self.headers.get("accept-language")))
        self._send_http_response(
            status,
            {"Content-Type": "application/json; charset=utf-8", "Access-Control-Allow-Origin": "*", **(headers or {})},
            json.dumps(body).encode(),
        )

    def _generic_handle(self) -> None:
        if not self.server.admission.acquire(timeout=self.server.admission_wait_s):
            # The body is left unread, so the connection cannot carry another request: close it.
            self._send_contract_error(429, "too_many_requests", {"Retry-After": "1", "Connection": "close"})
            return
        try:
            super()._generic_handle()
        except (IndexError, ValueError, UnicodeDecodeError):
            # chalice's local Cognito stand-in cannot parse a malformed token; API Gateway answers 401.
            self._send_contract_error(401, "unauthorized")
        finally:
            self.server.admission.release()

    # The base class binds its methods to _generic_handle by name; bind them to the override above.
    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        if code == HTTPStatus.NOT_IMPLEMENTED and self.command:
            # http.server's answer to a method it has no do_* for (TRACE, CONNECT, made-up ones) is an
            # HTML 501; API Gateway answers such methods with a 4xx, and the contract's errors are JSON.
            self._send_contract_error(405, "method_not_allowed", {"Allow": ", ".join(_METHODS), "Connection": "close"})
            return
        super().send_error(code, message, explain)

    def _send_error_response(self, error) -> None:
        if isinstance(error, ForbiddenError) and b"Missing Authentication Token" in (error.body or b""):
            self._send_contract_error(404, "unknown_route")
            return
        super()._send_error_response(error)

    def log_message(self, format, *args) -> None:  # request lines would log booking codes in paths
        pass


_METHODS = ("GET", "PUT", "POST", "HEAD", "DELETE", "PATCH", "OPTIONS")


class _SiteHandler(SimpleHTTPRequestHandler):
    config_js = b""

    def do_GET(self) -> None:  # http.server's naming
        if self.path.split("?")[0] == "/config.js":
            self.send_response(200)
            self.send_header("Content-Type", "text/javascript; charset=utf-8")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(self.config_js)))
            self.end_headers()
            self.wfile.write(self.config_js)
            return
        super().do_GET()

    def log_message(self, format, *args) -> None:
        pass


class LocalStack:
    def __init__(
        self,
        host: str = "127.0.0.1",
        aws_port: int = 0,
        api_port: int = 0,
        site_port: int = 0,
        seed: bool = True,
        slot_capacity: int = 6,
        booking_workers: int = 4,
        mail_workers: int = 1,
        max_in_flight: int = 16,
        admission_wait_s: float = 15.0,
        quiet: bool = True,
    ):
        self.host = host
        self.aws_port = aws_port or free_port(host)
        self.api_port = api_port or free_port(host)
        self.site_port = site_port or free_port(host)
        self.aws_url = f"http://{host}:{self.aws_port}"
        self.api_url = f"http://{host}:{self.api_port}"
        self.site_url = f"http://{host}:{self.site_port}"
        self._seed = seed
        self._slot_capacity = slot_capacity
        self._booking_workers = booking_workers
        self._mail_workers = mail_workers
        self.max_in_flight = max_in_flight
        self.admission_wait_s = admission_wait_s
        self._quiet = quiet
        self._moto: subprocess.Popen | None = None
        self._servers: list = []
        self.pumps: dict[str, QueuePump] = {}
        self.pump_errors: list[BaseException] = []
        self.queue_urls: dict[str, str] = {}
        self._watch_sqs: Any = None  # from start() on
        self.aws_args: tuple[str, ...] = ()  # more arguments of infra.local.moto_server (profile_p1 sets them)
        self.app_module: Any = None  # the imported app module, from start() on
        self.catalog: Catalog | None = None
        self.calls: callcount.CallCounter | None = None

    # --- lifecycle --------------------------------------------------------------------------------

    def __enter__(self) -> LocalStack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        self.calls = callcount.install()  # before any client is built, so that every one is counted
        self._start_aws()
        self.configure_environment()
        self.queue_urls = create_resources(self.aws_url, STAGE, os.environ["MAIL_SENDER"])
        # One client for watching queue depths: building a boto3 client costs ~10 ms of CPU, and
        # wait_for_idle_queues polls three queues five times a second while `make bench` measures.
        self._watch_sqs = client("sqs", self.aws_url)
        from chalicelib import bootstrap

        bootstrap.reset()
        self.catalog = bootstrap.catalog()
        if self._seed:
            seed_demo(self.catalog, date.today(), self._slot_capacity)
        self.app_module = importlib.import_module("app")
        self._warm_up_clients()
        self._start_api()
        self._warm_up_routes()
        self._start_pumps()
        self._start_site()
        if self._seed:
            # [waiting room] rush-demo, only with VAXSLOT_DEMO_RUSH_OPENS_IN_S (infra/local/seed_rush.py); last, so
            # that the room opens that many seconds after the URLs are printed
            from infra.local.seed_rush import seed_rush_from_env

            self.rush_room = seed_rush_from_env(self.catalog, date.today(), self._slot_capacity)

    def stop(self) -> None:
        for pump in self.pumps.values():
            pump.signal_stop()  # all at once; long polls in flight end when the local AWS goes
        for pump in self.pumps.values():
            pump.stop()  # waits only for batches being handled
        for server in self._servers:
            server.shutdown()
            server.server_close()
        if self._moto is not None:
            self._moto.terminate()
            try:
                self._moto.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._moto.kill()
            self._moto = None

    # --- parts ------------------------------------------------------------------------------------

    def _start_aws(self) -> None:
        output = subprocess.DEVNULL if self._quiet else None
        self._moto = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "infra.local.moto_server",
                "--host",
                self.host,
                "--port",
                str(self.aws_port),
                *self.aws_args,
            ],
            cwd=ROOT,
            stdout=output,
            stderr=output,
        )
        wait_until_up(f"{self.aws_url}/moto-api/")

    def configure_environment(self) -> None:
        """The environment a Lambda of the local stage would get, pointed at the local AWS."""
        config = json.loads((ROOT / ".chalice" / "config.json").read_text())
        os.environ.update(config["stages"][STAGE]["environment_variables"])
        os.environ.update(LOCAL_CREDENTIALS)
        os.environ.update(
            {
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
                "AWS_ENDPOINT_URL": self.aws_url,
                "SITE_URL": self.site_url,
                # Metrics go to CloudWatch through the logs on AWS; locally they would only be noise.
                "POWERTOOLS_METRICS_DISABLED": "true",
            }
        )

    def _chalice_config(self) -> Config:
        config = json.loads((ROOT / ".chalice" / "config.json").read_text())
        return Config.create(
            chalice_stage=STAGE, app_name=config["app_name"], config_from_disk=config, chalice_app=self.app_module.app
        )

    def _start_api(self) -> None:
        self.app_module.app.__class__ = _PerThreadRequestChalice
        server = LocalDevServer(
            self.app_module.app,
            self._chalice_config(),
            self.host,
            self.api_port,
            handler_cls=_GatewayRequestHandler,
            server_cls=functools.partial(
                _GatewayServer, max_in_flight=self.max_in_flight, admission_wait_s=self.admission_wait_s
            ),
        )
        threading.Thread(target=server.server.serve_forever, name="api-server", daemon=True).start()
        self._servers.append(server.server)

    def _warm_up_clients(self) -> None:
        """Build the app's AWS clients once, before concurrent callers each build their own.

        bootstrap's factories are `functools.cache`d, and PynamoDB builds one client per model (and per
        connection) with a botocore session for the first thread that asks (~110 ms CPU each): a burst
        of first callers would each pay that.
        """
        from pynamodb.models import Model

        from chalicelib import bootstrap
        from chalicelib.settings import get_settings

        for factory in (
            bootstrap.booking_service,
            bootstrap.mail_service,
            bootstrap.operations_service,
            bootstrap.reconciliation,
            bootstrap.release_contingent_once,
        ):
            factory()
        table = get_settings().table_name
        models, seen = list(Model.__subclasses__()), set()
        while models:
            model = models.pop()
            if model in seen:
                continue
            seen.add(model)
            models += model.__subclasses__()
            if getattr(model.Meta, "table_name", None) == table and getattr(model.Meta, "host", None):
                model.describe_table()
        # The connection bookings' transactions use (bootstrap's own factory; chalicelib offers no public one).
        bootstrap._connection().describe_table(table)

    def _warm_up_routes(self) -> None:
        """One call of every read route, so that the first real requests do not pay for first use."""
        for method, path, body in (
            ("GET", "/v1/centers?postal_code=44141", None),
            ("GET", "/v1/campaigns", None),
            ("POST", "/v1/eligibility", {"birth_date": "1940-05-01", "postal_code": "44141"}),
            ("GET", "/v1/centers/dortmund/availability?campaign=80plus-comirnaty&days=1", None),
            ("GET", "/v1/booking-requests/warm-up", None),
            ("GET", "/v1/bookings/AAAA-AAAA-AA?birth_date=1940-05-01", None),
        ):
            data = json.dumps(body).encode() if body is not None else None
            request = urllib.request.Request(
                self.api_url + path, data=data, method=method, headers={"Content-Type": "application/json"}
            )
            # 404s (no demo data, unknown request) warm up just as well
            with contextlib.suppress(urllib.error.HTTPError):
                urllib.request.urlopen(request, timeout=30).close()

    def _start_pumps(self) -> None:
        """One pump for every SQS-triggered function of the app, as Lambda's event source mappings would."""
        sqs = client("sqs", self.aws_url)
        timeout = json.loads((ROOT / ".chalice" / "config.json").read_text()).get("lambda_timeout", 10)
        for source in self.app_module.app.event_sources:
            if not hasattr(source, "queue"):
                continue
            handler = getattr(self.app_module, source.handler_string.split(".")[-1])
            url = sqs.get_queue_url(QueueName=source.queue)["QueueUrl"]
            pump = QueuePump(
                sqs,
                url,
                handler,
                source.name,
                batch_size=source.batch_size,
                timeout_s=timeout,
                on_error=self.pump_errors.append,
            )
            # One mail pump: a repeated cancel publishes the same mail twice, and two pumps handling both at
            # once leave one "in progress" in powertools' idempotency, retried only after the visibility timeout.
            booking = source.queue == os.environ["BOOKING_QUEUE_NAME"]
            concurrency = self._booking_workers if booking else self._mail_workers
            self.pumps[source.name] = pump.start(concurrency)

    def _start_site(self) -> None:
        _SiteHandler.config_js = (
            "window.VAXSLOT_CONFIG = " + json.dumps({"apiBaseUrl": self.api_url, "hotline": HOTLINE}) + ";\n"
        ).encode()
        self._serve_site(SITE_DIR, self.site_port)

    def _serve_site(self, directory: Path, port: int) -> None:
        handler = functools.partial(_SiteHandler, directory=str(directory))
        server = ThreadingHTTPServer((self.host, port), handler)
        threading.Thread(target=server.serve_forever, name=f"site:{port}", daemon=True).start()
        self._servers.append(server)

    def serve_site(self, directory: Path) -> str:
        """Serve another copy of the site (the bundled one, infra/site_bundle.py) on a free port, with the same
        /config.js as site/; returns its URL. The API allows any origin, so it works against this stack's API."""
        port = free_port(self.host)
        self._serve_site(directory, port)
        return f"http://{self.host}:{port}"

    # --- helpers for tests and `make run` ---------------------------------------------------------

    def sent_mail(self) -> list[dict]:
        """Mail that moto's SES accepted, newest last."""
        return sent_mail(self.aws_url)

    def queue_depth(self, queue_name: str) -> int:
        attrs = self._watch_sqs.get_queue_attributes(
            QueueUrl=self.queue_urls[queue_name],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])

    def wait_for_idle_queues(self, timeout_s: float = 60.0) -> None:
        """Until every work queue is empty (what was sent has been handled)."""
        from infra.resources import QUEUES

        deadline = time.monotonic() + timeout_s
        while depths := {q.name(STAGE): n for q in QUEUES if (n := self.queue_depth(q.name(STAGE)))}:
            if time.monotonic() > deadline:
                raise TimeoutError(f"queues did not drain: {depths}; pump errors: {self.pump_errors[-3:]!r}")
            time.sleep(0.2)
