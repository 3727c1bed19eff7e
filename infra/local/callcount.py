"""Count the AWS API calls a process makes, by the role of the thread that made them.

AWS calls are what the local stack (and AWS's bill) pays for, so tests and `make bench` count them per
booking. A botocore `before-call` hook counts API calls (retries are not new calls). It must reach every
client the app builds: boto3's default session (bootstrap's clients, powertools' idempotency store) and
the botocore sessions PynamoDB builds for itself, one per thread. botocore registers the handlers of
`botocore.handlers.BUILTIN_HANDLERS` on every new session, so the hook goes there, plus on boto3's default
session if it already exists; clients copy their session's hooks when built, so install before the app
builds its clients (`LocalStack.start` does).

The role is the thread's name up to its first "-": `api` (the local API's request threads) and `pump`
(the queue pumps) are the app's own work; anything else (a test polling a queue) is `other`.
"""

from __future__ import annotations

import collections
import json
import threading

import boto3
import botocore.handlers

APP_ROLES = ("api", "pump")


class CallCounter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: collections.Counter[tuple[str, str]] = collections.Counter()
        # How many items the app's DynamoDB transactions hold: `make bench` mirrors that size.
        self.transaction_sizes: collections.Counter[int] = collections.Counter()

    def _on_call(self, model, params=None, **_) -> None:
        role = threading.current_thread().name.split("-", 1)[0]
        key = (role if role in APP_ROLES else "other", f"{model.service_model.service_name}.{model.name}")
        with self._lock:
            self._counts[key] += 1
            if model.name == "TransactWriteItems" and key[0] != "other":
                # `params` is the serialised request here: DynamoDB's body is JSON.
                body = json.loads((params or {}).get("body") or "{}")
                self.transaction_sizes[len(body.get("TransactItems", []))] += 1

    def snapshot(self) -> collections.Counter[tuple[str, str]]:
        """(role, "service.Operation") → calls so far; subtract two snapshots for the calls in between."""
        with self._lock:
            return collections.Counter(self._counts)

    @staticmethod
    def app_calls(counts: collections.Counter[tuple[str, str]]) -> int:
        return sum(n for (role, _), n in counts.items() if role in APP_ROLES)

    @staticmethod
    def by_operation(counts: collections.Counter[tuple[str, str]]) -> collections.Counter[str]:
        ops: collections.Counter[str] = collections.Counter()
        for (role, op), n in counts.items():
            if role in APP_ROLES:
                ops[op] += n
        return ops


_installed: CallCounter | None = None
_install_lock = threading.Lock()


def install() -> CallCounter:
    """The process's one counter, hooked into every botocore session built from now on."""
    global _installed
    with _install_lock:
        if _installed is None:
            counter = CallCounter()
            botocore.handlers.BUILTIN_HANDLERS.append(("before-call", counter._on_call))
            if boto3.DEFAULT_SESSION is not None:  # built before the hook: it lacks the built-in one
                boto3.DEFAULT_SESSION.events.register("before-call", counter._on_call)
            _installed = counter
        return _installed
