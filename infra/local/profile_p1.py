"""Where P1's time goes: `python -m infra.local.profile_p1` runs bench's booking path under a sampling profiler.

py-spy is not installed here, and cProfile sees one thread only; this samples every thread of the process
(`sys._current_frames`) every few milliseconds and reports, per role (api, pump, client), the functions on
the stack most often (inclusive) and at the top (self), plus the CPU seconds of this process and of the
moto server over the run. Sampling costs some CPU itself (GIL): read the shares, not absolute times.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import logging
import os
import sys
import threading
import time
from types import FrameType

import requests

from infra.bench import BareBooking, bare_sequence, booking_path, cpu_s, progress
from infra.local.run import quiet_expected_warnings
from infra.local.stack import ROOT, LocalStack


class Sampler:
    def __init__(self, interval_s: float):
        self._interval_s = interval_s
        self._stop = threading.Event()
        self.samples: collections.Counter[str] = collections.Counter()
        self.inclusive: collections.Counter[tuple[str, str]] = collections.Counter()
        self.leaf: collections.Counter[tuple[str, str]] = collections.Counter()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)

    @staticmethod
    def _where(frame) -> str:
        path = frame.f_code.co_filename
        for marker in ("site-packages/", str(ROOT) + "/", "/lib/python3"):
            if marker in path:
                path = path.split(marker, 1)[1]
                break
        return f"{path}:{frame.f_code.co_name}"

    def _run(self) -> None:
        me = threading.get_ident()
        names = {}
        while not self._stop.wait(self._interval_s):
            names.update({t.ident: t.name for t in threading.enumerate()})
            for ident, top in sys._current_frames().items():
                if ident == me:
                    continue
                role = names.get(ident, "?").split("-", 1)[0]
                leaf = self._where(top)
                if leaf.endswith((":wait", ":select", ":poll", ":accept", ":_recv_into", ":readinto", ":recv_into")):
                    continue  # blocked, not working: count CPU, not waiting
                self.samples[role] += 1
                self.leaf[(role, leaf)] += 1
                seen = set()
                frame: FrameType | None = top
                while frame is not None:
                    where = self._where(frame)
                    if where not in seen:
                        seen.add(where)
                        self.inclusive[(role, where)] += 1
                    frame = frame.f_back

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_) -> None:
        self._stop.set()
        self._thread.join()

    def report(self, top: int) -> str:
        lines = []
        for role, n in self.samples.most_common():
            lines.append(f"\n## {role}: {n} busy samples")
            for title, counts in (("inclusive", self.inclusive), ("self", self.leaf)):
                lines.append(f"{title}:")
                ranked = [(where, c) for (r, where), c in counts.most_common() if r == role][:top]
                lines += [f"  {100 * c / n:5.1f}%  {where}" for where, c in ranked]
        return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bookings", type=int, default=160)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--interval-ms", type=float, default=5)
    args = parser.parse_args()
    quiet_expected_warnings()
    stack = LocalStack()
    stack.aws_args = ("--cpu-by-operation",)
    with stack, contextlib.redirect_stdout(io.StringIO()):
        logging.getLogger("vaxslot").setLevel(logging.WARNING)
        progress("warming up ...")
        booking_path(stack, 20, args.threads)
        assert stack._moto is not None  # started by LocalStack.start()
        moto_pid = stack._moto.pid
        cpu_before = (cpu_s(os.getpid()), cpu_s(moto_pid))
        requests.delete(f"{stack.aws_url}/vaxslot/cpu", timeout=30)
        progress(f"profiling {args.bookings} bookings from {args.threads} clients ...")
        started = time.perf_counter()
        with Sampler(args.interval_ms / 1000) as sampler:
            result = booking_path(stack, args.bookings, args.threads)
        seconds = time.perf_counter() - started
        by_operation = requests.get(f"{stack.aws_url}/vaxslot/cpu", timeout=30).json()
        progress(f"the same for {args.bookings} bare call sequences ...")
        assert stack.calls is not None  # set by LocalStack.start()
        bare = BareBooking(stack.aws_url, max(stack.calls.transaction_sizes), os.environ["MAIL_SENDER"])
        bare_sequence(bare, 16, args.threads)
        requests.delete(f"{stack.aws_url}/vaxslot/cpu", timeout=30)
        bare_sequence(bare, args.bookings, args.threads)
        bare_by_operation = requests.get(f"{stack.aws_url}/vaxslot/cpu", timeout=30).json()
        app_cpu, moto_cpu = (cpu_s(os.getpid()) - cpu_before[0], cpu_s(moto_pid) - cpu_before[1])
    print(
        f"# P1 profile: {result['decided_rps']:.1f} decided/s, {result['calls_per_booking']:.1f} calls per booking, "
        f"{seconds:.1f} s wall\n"
        f"CPU over the run: app process (API, pumps, clients) {app_cpu:.1f} s "
        f"({1000 * app_cpu / args.bookings:.0f} ms per booking), moto {moto_cpu:.1f} s "
        f"({1000 * moto_cpu / args.bookings:.0f} ms per booking); load average {os.getloadavg()}"
    )
    for title, measured in (("bookings end to end", by_operation), ("bare call sequences", bare_by_operation)):
        print(f"\n## the local AWS, {title}: CPU per operation (request threads only)")
        print("| operation | calls per booking | CPU per call | CPU per booking |\n|---|---|---|---|")
        for operation, (calls, spent) in sorted(measured.items(), key=lambda kv: -kv[1][1]):
            print(
                f"| {operation} | {calls / args.bookings:.2f} | {1000 * spent / calls:.1f} ms "
                f"| {1000 * spent / args.bookings:.1f} ms |"
            )
        total = sum(spent for _, spent in measured.values())
        print(f"| all requests | | | {1000 * total / args.bookings:.1f} ms |")
    print(sampler.report(args.top))


if __name__ == "__main__":
    main()
