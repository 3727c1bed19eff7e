"""The locust users of a rush and the driver that releases them on a launch-day arrival curve.

Importing this module imports locust, which monkey-patches the process for gevent: only the rush's own
process (`python -m infra.rush`) imports it; the stack under test runs in a process of its own.
"""

from __future__ import annotations

import itertools
import math
import random
import string
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime

import gevent
from locust import HttpUser, User, constant, task
from locust.env import Environment
from locust.exception import StopUser

from infra.local.seed import CENTERS
from infra.rush import pace
from infra.rush.report import BOT, CITIZEN, EXPECTED_REFUSALS, HOTLINE, Accepted, Call, EntryObs

GIVEN_NAMES = ("Erna", "Heinz", "Gerda", "Walter", "Ilse", "Günter", "Ursula", "Karl", "Hildegard", "Helmut")
DECIDED = {"booked", "rejected"}
RETRIES_AFTER_429 = 6  # 429s or 503s a page rides out on one call before it gives up
BOOK_ATTEMPTS = 3  # 409 request_in_progress answers a booking request rides out


@dataclass
class RushConfig:
    campaign_id: str
    room_active: bool
    started_at: float
    opens_at: float
    ends_at: float
    hotline_token: str
    bot_clients: tuple[str, ...]
    bot_entries: int = 3  # entries a bot opens at once, each for another invented person
    bot_poll_s: float = 1.0  # bots ignore Retry-After and poll at this pace
    seed: int = 0
    mail_address: str = "{local}@example.org"  # a deployed stack really sends: SES's simulator (infra/loadtest)


@dataclass
class _Entry:
    kind: str
    lane: str
    sent_at: float
    received_at: float
    admitted_at: float | None = None
    seen_admitted_at: float | None = None


@dataclass
class Recorder:
    """Everything the load generator saw, for the report and the plots (gevent: one thread, no locks)."""

    calls: list[Call] = field(default_factory=list)
    in_flight: int = 0
    samples: list[str] = field(default_factory=list)  # the first unexpected answers, for the report
    accepted: list[Accepted] = field(default_factory=list)
    entries: dict[str, _Entry] = field(default_factory=dict)
    identities: dict[str, set[str]] = field(default_factory=lambda: {CITIZEN: set(), HOTLINE: set(), BOT: set()})

    def on_request(
        self,
        request_type,
        name,
        response_time,
        response_length,
        response=None,
        context=None,
        exception=None,
        start_time=None,
        **_,
    ):
        status = getattr(response, "status_code", 0) or 0
        code = ""
        if status >= 400:
            try:
                code = response.json()["error"]["code"]
            except (ValueError, KeyError, TypeError):
                code = "?"
        kind = (context or {}).get("kind", "?")
        unexpected = status == 0 or (status >= 400 and (status, code) not in EXPECTED_REFUSALS.get(kind, set()))
        if unexpected and len(self.samples) < 10:
            text = getattr(response, "text", "") or repr(exception)  # error bodies carry no personal data
            self.samples.append(f"{kind} {name} {status} after {response_time or 0:.0f} ms: {text[:160]}")
        self.calls.append(Call(start_time or time.time(), name, kind, status, code, response_time or 0.0))

    def entry_obs(self) -> list[EntryObs]:
        return [
            EntryObs(i, e.kind, e.lane, e.sent_at, e.received_at, e.admitted_at, e.seen_admitted_at)
            for i, e in self.entries.items()
        ]


_serial = itertools.count()


def _letters(n: int) -> str:
    out = ""
    while True:
        n, r = divmod(n, 26)
        out = string.ascii_lowercase[r] + out
        if n == 0:
            return out


def new_identity(kind: str, rng: random.Random, mail_address: str = "{local}@example.org") -> dict:
    """An invented, eligible person (born 1925–1940) living in a centre's catchment. Letters-only names."""
    n = next(_serial)
    center = rng.choice(CENTERS)
    family = {CITIZEN: "Buerger", HOTLINE: "Anrufer", BOT: "Skript"}[kind] + _letters(n)
    return {
        "given_name": rng.choice(GIVEN_NAMES),
        "family_name": family.capitalize(),
        "birth_date": f"{rng.randint(1925, 1940)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "postal_code": rng.choice(sorted(center.postal_codes)),
        "email": mail_address.format(local=f"{kind}-{n}-{uuid.uuid4().hex[:6]}"),
        "_center": center.id,
    }


def _retry_after(response) -> float | None:
    """Retry-After in seconds (the API sends whole seconds); None if absent or unreadable."""
    try:
        return float(response.headers["Retry-After"])
    except (KeyError, ValueError, TypeError, AttributeError):
        return None


def _epoch(iso: str | None) -> float | None:
    return datetime.fromisoformat(iso).timestamp() if iso else None


class _RushUser(HttpUser):
    abstract = True
    kind = "?"
    wait_time = constant(0)

    def on_start(self) -> None:
        self.cfg: RushConfig = self.environment.rush_config
        self.rec: Recorder = self.environment.rush_recorder
        self.rng = random.Random(self.cfg.seed * 1_000_003 + next(_serial))
        self.headers: dict[str, str] = {}
        self.entered_retry_after: float | None = None  # of the last entering answer

    def context(self) -> dict:
        return {"kind": self.kind}

    # --- steps ---------------------------------------------------------------------------------------

    def _call(self, method: str, path: str, name: str, **kwargs):
        # No new call after the end: calls under way finish, so that every 202 sent is seen by the report.
        if self._time_left() <= 0:
            raise StopUser()
        headers = {**self.headers, **kwargs.pop("headers", {})}
        for _ in range(RETRIES_AFTER_429):
            self.rec.in_flight += 1
            try:
                r = self.client.request(method, path, name=name, headers=headers, timeout=60, **kwargs)
            finally:
                self.rec.in_flight -= 1
            # "Later, please" (429, or 503 with Retry-After): the site waits as told and asks again.
            if r.status_code not in (429, 503) or self._time_left() <= 0:
                return r
            self.sleep((_retry_after(r) or 1.0) * self.rng.uniform(1.0, 1.3))
        return r

    def _time_left(self) -> float:
        return self.cfg.ends_at - time.time()

    def sleep(self, seconds: float) -> None:
        """Wait as told, but not past the end of the run: whatever comes after it is never done."""
        gevent.sleep(pace.bounded(seconds, self._time_left()))

    def browse(self, person: dict) -> list[dict]:
        """Centres, eligibility and the bookable pairs at the person's centre; [] if nothing is offered."""
        self._call("GET", f"/v1/centers?postal_code={person['postal_code']}", "centers")
        self._call(
            "POST",
            "/v1/eligibility",
            "eligibility",
            json={"birth_date": person["birth_date"], "postal_code": person["postal_code"]},
        )
        return self.availability(person["_center"])

    def availability(self, center_id: str) -> list[dict]:
        r = self._call(
            "GET", f"/v1/centers/{center_id}/availability?campaign={self.cfg.campaign_id}&days=7", "availability"
        )
        if r.status_code != 200:
            return []
        return [s for day in r.json()["days"] for s in day["slots"]]

    def enter(self, path: str, lane: str) -> str | None:
        sent = time.time()
        r = self._call("POST", path, "room enter", json={})
        if r.status_code != 201:
            return None
        body = r.json()
        received = time.time()
        admitted = _epoch(body.get("admitted_at"))
        self.rec.entries[body["entry_id"]] = _Entry(
            self.kind, lane, sent, received, admitted, received if admitted else None
        )
        self.entered_retry_after = _retry_after(r)
        return body["entry_id"]

    def poll_entry(self, entry_id: str) -> tuple[dict | None, float | None]:
        """The entry's state (None if the answer was not a 200) and the answer's Retry-After (None if absent)."""
        r = self._call("GET", f"/v1/waiting-room/entries/{entry_id}", "room poll")
        retry = _retry_after(r)
        if r.status_code != 200:
            return None, retry
        body = r.json()
        if body["status"] == "admitted":
            seen = self.rec.entries[entry_id]
            seen.admitted_at = _epoch(body.get("admitted_at"))
            seen.seen_admitted_at = seen.seen_admitted_at or time.time()
        return body, retry

    def wait_admitted(self, entry_id: str) -> str | None:
        """Poll as the site's room page does (pace.room_poll_delay: Retry-After followed as given, never sooner;
        backoff on trouble), until the end of the run. The admission token, or None if the run ended first."""
        # The entering answer's Retry-After paces the first poll, as on the site.
        delay = pace.room_poll_delay(pace.ROOM_FIRST_DELAY_S, True, self.entered_retry_after)
        self.sleep(delay)
        while self._time_left() > 0:
            body, retry = self.poll_entry(entry_id)
            if body and body["status"] == "admitted":
                return body["admission_token"]
            delay = pace.room_poll_delay(delay, body is not None, retry)
            self.sleep(delay)
        return None

    def submit(self, path: str, person: dict, slot_id: str, token: str | None) -> str | None:
        """Send a booking request, riding out 429s by Retry-After; its request id, or None if refused."""
        body = {
            "campaign_id": self.cfg.campaign_id,
            "center_id": person["_center"],
            "slot_id": slot_id,
            "language": "de",
            "person": {k: v for k, v in person.items() if not k.startswith("_")},
        }
        headers = {"Idempotency-Key": uuid.uuid4().hex} | ({"Admission-Token": token} if token else {})
        self.rec.identities[self.kind].add(f"{person['given_name']}|{person['family_name']}|{person['birth_date']}")
        for _ in range(BOOK_ATTEMPTS):
            sent = time.time()
            r = self._call("POST", path, "booking request", json=body, headers=headers)
            if r.status_code == 202:
                request_id = r.json()["request_id"]
                self.rec.accepted.append(Accepted(request_id, self.kind, person["email"], sent))
                return request_id
            # 409 request_in_progress: this very key is being handled; the same again, later.
            if not (r.status_code == 409 and "request_in_progress" in r.text) or self._time_left() <= 0:
                return None
            self.sleep(_retry_after(r) or 1.0)
        return None

    def wait_decided(self, request_id: str) -> dict | None:
        """Poll as the site's request page does (pace.request_poll_delay), until decided or the end of the run."""
        delay = pace.REQUEST_FIRST_DELAY_S
        first = time.time() + delay
        self.sleep(delay)
        while self._time_left() > 0:
            r = self._call("GET", f"/v1/booking-requests/{request_id}", "request poll")
            if r.status_code == 200 and r.json()["status"] in DECIDED:
                return r.json()
            delay = pace.request_poll_delay(delay, time.time() - first, r.status_code == 200, _retry_after(r))
            self.sleep(delay)
        return None

    def pick(self, slots: list[dict]) -> dict | None:
        # Everyone wants the earliest appointments: most pick among the first few, which makes them scarce.
        return self.rng.choice(slots[:8]) if slots else None

    def idle(self) -> None:
        """Done: stay as an idle user so that the driver's count of arrivals stays the count of people."""
        while True:
            gevent.sleep(60)


class Citizen(_RushUser):
    kind = CITIZEN

    def on_start(self) -> None:
        super().on_start()
        n = next(_serial)  # one address per citizen (CGNAT space), as API Gateway would pass it
        self.headers = {"X-Forwarded-For": f"100.{64 + n // 65536 % 64}.{n // 256 % 256}.{n % 256}"}

    @task
    def book_once(self) -> None:
        person = new_identity(CITIZEN, self.rng, self.cfg.mail_address)
        slot = self.pick(self.browse(person))
        token = None
        if slot is not None and self.cfg.room_active:
            entry_id = self.enter(f"/v1/campaigns/{self.cfg.campaign_id}/waiting-room/entries", "web")
            token = self.wait_admitted(entry_id) if entry_id else None
            if token is None:
                slot = None
        if slot is not None:
            request_id = self.submit("/v1/booking-requests", person, slot["slot_id"], token)
            state = self.wait_decided(request_id) if request_id else None
            # Taken while queued: try once more with the first alternative offered, as the site lets one.
            if state and state["status"] == "rejected" and state.get("alternatives"):
                again = self.submit("/v1/booking-requests", person, state["alternatives"][0]["slot_id"], token)
                if again:
                    self.wait_decided(again)
        self.idle()


class HotlineAgent(_RushUser):
    """An agent books caller after caller: the hotline lane of the same room, then the staff route."""

    kind = HOTLINE
    fixed_count = 0  # set by the driver

    def on_start(self) -> None:
        super().on_start()
        self.headers = {"Authorization": self.cfg.hotline_token}

    @task
    def next_caller(self) -> None:
        person = new_identity(HOTLINE, self.rng, self.cfg.mail_address)
        slot = self.pick(self.availability(person["_center"]))
        token = None
        if slot is not None and self.cfg.room_active:
            entry_id = self.enter(f"/v1/staff/campaigns/{self.cfg.campaign_id}/waiting-room/entries", "hotline")
            token = self.wait_admitted(entry_id) if entry_id else None
            slot = slot if token else None
        if slot is not None:
            request_id = self.submit("/v1/staff/booking-requests", person, slot["slot_id"], token)
            if request_id:
                self.wait_decided(request_id)
        gevent.sleep(self.rng.uniform(1, 3))  # the next caller's details


class Bot(_RushUser):
    """Many invented people from few addresses: hammers the booking route, opens several entries at once,
    polls them as fast as it likes, and tries to book a second invented person with each admission."""

    kind = BOT

    def on_start(self) -> None:
        super().on_start()
        self.headers = {"X-Forwarded-For": self.rng.choice(self.cfg.bot_clients)}

    @task
    def drain(self) -> None:
        slots = self.availability(self.rng.choice(CENTERS).id)
        if not slots:
            gevent.sleep(1)
            return
        person = new_identity(BOT, self.rng, self.cfg.mail_address)
        picked = self.pick(slots)
        assert picked is not None  # slots is not empty
        self.submit("/v1/booking-requests", person, picked["slot_id"], None)  # without admission
        if not self.cfg.room_active:
            return
        pending = [
            e
            for e in (
                self.enter(f"/v1/campaigns/{self.cfg.campaign_id}/waiting-room/entries", "web")
                for _ in range(self.cfg.bot_entries)
            )
            if e
        ]
        while pending and self._time_left() > 0:
            gevent.sleep(self.cfg.bot_poll_s)
            for entry_id in list(pending):
                body, _ = self.poll_entry(entry_id)
                if not body or body["status"] != "admitted":
                    continue
                pending.remove(entry_id)
                token = body["admission_token"]
                for _ in range(2):  # the second person on the same admission must be refused
                    person = new_identity(BOT, self.rng, self.cfg.mail_address)
                    slot = self.pick(self.availability(person["_center"]))
                    if slot:
                        self.submit("/v1/booking-requests", person, slot["slot_id"], token)


def arrival_times(n: int, opens_in: float, spike_s: float, pre_share: float) -> list[float]:
    """Seconds after the start at which each of n people arrives: a rising ramp before opening (density
    growing linearly towards it) and a spike right at opening (density falling linearly over spike_s)."""
    pre = round(n * pre_share) if opens_in > 0 else 0
    times = [opens_in * math.sqrt((i + 0.5) / pre) for i in range(pre)]
    post = n - pre
    times += [opens_in + spike_s * (1 - math.sqrt(1 - (i + 0.5) / post)) for i in range(post)]
    return sorted(times)


def run(
    api_url: str,
    cfg: RushConfig,
    users: int,
    agents: int,
    bots_share: float,
    spike_s: float,
    pre_share: float,
    finish_s: float = 60.0,
) -> Recorder:
    """Release `users` citizens and bots (and `agents` hotline agents at the start) on the arrival curve
    until cfg.ends_at; then let calls under way finish (up to finish_s) and stop. Returns what was seen."""
    recorder = Recorder()
    bots = round(users * bots_share)
    Citizen.weight, Bot.weight = max(users - bots, 0), bots
    HotlineAgent.fixed_count = agents
    classes: list[type[User]] = [
        c for c, on in ((Citizen, users - bots > 0), (Bot, bots > 0), (HotlineAgent, agents > 0)) if on
    ]
    env = Environment(user_classes=classes, host=api_url)
    # The users read the run's settings from their environment; locust's Environment declares no such fields.
    env.rush_config, env.rush_recorder = cfg, recorder  # type: ignore[attr-defined]
    env.events.request.add_listener(recorder.on_request)
    runner = env.create_local_runner()
    schedule = arrival_times(users, cfg.opens_at - cfg.started_at, spike_s, pre_share)
    target = 0
    try:
        while time.time() < cfg.ends_at:
            due = agents + sum(1 for t in schedule if cfg.started_at + t <= time.time())
            if due > target:
                # Spawned within this tick (locust spawns at a rate, not at once).
                runner.start(due, spawn_rate=max(1, 5 * (due - target)))
                target = due
            gevent.sleep(0.2)
        deadline = time.time() + finish_s
        while recorder.in_flight and time.time() < deadline:
            gevent.sleep(0.2)
    finally:
        runner.quit()
    return recorder
