"""A small process supervisor: the site, the Celery worker and beat of `manage.py serve`.

A program that exits is logged (which, its exit code or signal, how long it ran, the restart
count) on the console and in its log file, and started again after a back-off that doubles while
it keeps failing quickly, so a crash loop does not spin. SIGINT, SIGTERM or SIGHUP stop every
program: SIGTERM to each, SIGKILL to whatever is left after a grace period (at once on a second
Ctrl-C). Each program runs in a session of its own, so a Ctrl-C reaches the supervisor alone and
the programs stop in order, never restarted by a supervisor that saw them die first; on Linux each
also gets SIGTERM if the supervisor itself is killed, so none is left behind.

No library fitted: honcho does not restart, supervisord and circus are daemons with their own
configuration and control sockets. One thread, woken by signals (a self-pipe) and by the
programs' output.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# A stop signal this long after the first kills at once (a second Ctrl-C). Sooner, it is the same
# stop arriving twice: `make` passes its SIGTERM on to us, and we may also get the group's.
FORCE_AFTER = 1.0
MAX_LINE = 64 * 1024  # bytes of an unfinished line held back before they are shown anyway


@dataclass(frozen=True)
class Program:
    name: str
    argv: Sequence[str]
    log: Path | None = None  # None: its output goes to the console, each line prefixed by its name


@dataclass(frozen=True)
class Backoff:
    """Seconds to wait before a restart: `first`, doubled for each quick failure in a row, at most
    `ceiling`. A run of at least `steady` seconds was not a crash loop: the count starts again."""

    first: float = 1.0
    ceiling: float = 60.0
    steady: float = 60.0

    def failures_in_a_row(self, previous: int, ran_for: float) -> int:
        return 1 if ran_for >= self.steady else previous + 1

    def delay(self, failures: int) -> float:
        return min(self.ceiling, self.first * 2 ** max(0, failures - 1))


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with code {returncode}"


def seconds(value: float) -> str:
    return f"{value:.0f} s" if value >= 10 else f"{value:.1f} s"


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGTERM when the supervisor dies, however it dies."""
    if _prctl is not None:
        _prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


@dataclass
class Child:
    program: Program
    popen: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0
    failures: int = 0
    restart_at: float | None = None
    pending: bytes = b""  # the start of a line not yet ended

    @property
    def running(self) -> bool:
        return self.popen is not None


class Supervisor:
    def __init__(
        self,
        programs: Sequence[Program],
        *,
        console: TextIO | None = None,
        backoff: Backoff | None = None,
        grace: float = 20.0,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ):
        self.children = [Child(program) for program in programs]
        self.console = console or sys.stdout
        self.backoff = backoff or Backoff()
        self.grace = grace
        self.env = env
        self.cwd = cwd
        self.stop_requested_at: float | None = None
        self.forced = False
        self.selector = selectors.DefaultSelector()
        self.width = max(len(child.program.name) for child in self.children)
        self.width = max(self.width, len("supervisor"))

    # --- output --------------------------------------------------------------------------------

    def say(self, text: str, child: Child | None = None) -> None:
        """One line of the supervisor's on the console and, about a program, in its log file."""
        stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
        self._print("supervisor", f"{stamp} {text}")
        if child is not None and child.program.log is not None:
            with child.program.log.open("a", encoding="utf-8") as log:
                log.write(f"[{stamp}] supervisor: {text}\n")

    def _print(self, name: str, line: str) -> None:
        self.console.write(f"{name:<{self.width}} | {line}\n")
        self.console.flush()

    def _relay(self, child: Child, data: bytes) -> None:
        lines = (child.pending + data).split(b"\n")
        child.pending = lines.pop()
        if len(child.pending) > MAX_LINE:  # never hold back output for ever
            lines.append(child.pending)
            child.pending = b""
        for line in lines:
            self._print(child.program.name, line.decode(errors="replace").rstrip("\r"))

    # --- one program ---------------------------------------------------------------------------

    def start(self, child: Child) -> None:
        program = child.program
        child.restart_at = None
        log_file: BinaryIO | None = None
        if program.log is not None:
            program.log.parent.mkdir(parents=True, exist_ok=True)
            log_file = program.log.open("ab")
        try:
            child.popen = subprocess.Popen(
                program.argv,
                stdin=subprocess.DEVNULL,
                stdout=log_file or subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        except OSError as exc:
            delay = self._schedule_restart(child, ran_for=0.0)
            self.say(f"{program.name} could not start: {exc}; restart {child.restarts} in {seconds(delay)}", child)
            return
        finally:
            if log_file is not None:
                log_file.close()  # the program writes to its own copy
        child.started_at = time.monotonic()
        if child.popen.stdout is not None:
            os.set_blocking(child.popen.stdout.fileno(), False)
            self.selector.register(child.popen.stdout, selectors.EVENT_READ, child)
        self.say(f"{program.name} started (pid {child.popen.pid})", child)

    def _read(self, child: Child) -> bool:
        """Relay what the program wrote; False at the end of its output."""
        assert child.popen is not None and child.popen.stdout is not None
        try:
            data = os.read(child.popen.stdout.fileno(), 65536)
        except BlockingIOError:
            return True
        if data:
            self._relay(child, data)
            return True
        return False

    def _reap(self, child: Child) -> int:
        """After the program exited: the rest of its output, its exit code."""
        popen = child.popen
        assert popen is not None
        if popen.stdout is not None:
            while self._read(child):
                pass
            if child.pending:
                self._relay(child, b"\n")
            if popen.stdout in self.selector.get_map():
                self.selector.unregister(popen.stdout)
            popen.stdout.close()
        child.popen = None
        return popen.returncode

    def _schedule_restart(self, child: Child, ran_for: float) -> float:
        child.failures = self.backoff.failures_in_a_row(child.failures, ran_for)
        child.restarts += 1
        delay = self.backoff.delay(child.failures)
        child.restart_at = time.monotonic() + delay
        return delay

    def _exited(self, child: Child) -> None:
        assert child.popen is not None
        pid = child.popen.pid
        ran_for = time.monotonic() - child.started_at
        code = self._reap(child)
        delay = self._schedule_restart(child, ran_for)
        self.say(
            f"{child.program.name} (pid {pid}) {describe_exit(code)} after {seconds(ran_for)}; "
            f"restart {child.restarts} in {seconds(delay)}",
            child,
        )

    # --- the loop ------------------------------------------------------------------------------

    def _on_signal(self, signum, frame) -> None:
        if signum not in STOP_SIGNALS:
            return
        now = time.monotonic()
        if self.stop_requested_at is None:
            self.stop_requested_at = now
        elif now - self.stop_requested_at >= FORCE_AFTER:
            self.forced = True

    def run(self) -> int:
        wake_read, wake_write = os.pipe()
        os.set_blocking(wake_read, False)
        os.set_blocking(wake_write, False)
        previous_wakeup = signal.set_wakeup_fd(wake_write)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (*STOP_SIGNALS, signal.SIGCHLD)}
        self.selector.register(wake_read, selectors.EVENT_READ, None)
        try:
            for child in self.children:
                self.start(child)
            while self.stop_requested_at is None:
                self._wait(wake_read, self._timeout())
                for child in self.children:
                    if child.running and child.popen.poll() is not None:
                        self._exited(child)
                    elif not child.running and child.restart_at is not None and time.monotonic() >= child.restart_at:
                        self.start(child)
            self._stop_all(wake_read)
        finally:
            self.selector.unregister(wake_read)
            signal.set_wakeup_fd(previous_wakeup)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            os.close(wake_read)
            os.close(wake_write)
        return 0

    def _timeout(self) -> float:
        due = [child.restart_at for child in self.children if child.restart_at is not None]
        return max(0.0, min(due) - time.monotonic()) if due else 5.0

    def _wait(self, wake_read: int, timeout: float) -> None:
        for key, _ in self.selector.select(timeout):
            if key.data is None:
                try:
                    os.read(wake_read, 512)
                except BlockingIOError:
                    pass
            elif not self._read(key.data):
                self.selector.unregister(key.fileobj)  # output closed; the exit is seen by poll()

    def _stop_all(self, wake_read: int) -> None:
        running = [child for child in self.children if child.running]
        self.say("stopping " + ", ".join(child.program.name for child in running))
        for child in running:
            self._signal(child, signal.SIGTERM)
        deadline = time.monotonic() + self.grace
        killed = False
        while any(child.running for child in running):
            if not killed and (self.forced or time.monotonic() >= deadline):
                for child in running:
                    if child.running:
                        self.say(f"{child.program.name} did not stop: SIGKILL", child)
                        self._signal(child, signal.SIGKILL)
                killed = True
            self._wait(wake_read, 0.2)
            for child in running:
                if child.running and child.popen.poll() is not None:
                    pid = child.popen.pid
                    code = self._reap(child)
                    self.say(f"{child.program.name} (pid {pid}) stopped: {describe_exit(code)}", child)

    @staticmethod
    def _signal(child: Child, sig: int) -> None:
        """To the program's whole process group (gunicorn's workers, say), which it leads."""
        try:
            os.killpg(child.popen.pid, sig)
        except ProcessLookupError:
            pass
