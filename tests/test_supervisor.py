"""The supervisor of `make run` and `make production` (qrqc_site/supervisor.py): a program that
dies is logged and restarted with a back-off; a stop signal stops every program, none is left."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qrqc_site.supervisor import Backoff, describe_exit
from tests.processes import alive, started_pids

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("previous", "ran_for", "expected"),
    [
        (0, 0.5, 1),  # the first failure
        (1, 0.5, 2),  # failing again quickly
        (5, 59.9, 6),
        (5, 60.0, 1),  # ran a minute: not a crash loop any more
        (0, 3600, 1),
    ],
)
def test_quick_failures_in_a_row_are_counted_and_a_steady_run_starts_the_count_again(previous, ran_for, expected):
    assert Backoff(steady=60).failures_in_a_row(previous, ran_for) == expected


@pytest.mark.parametrize(
    ("failures", "delay"), [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (6, 32.0), (7, 60.0), (50, 60.0)]
)
def test_the_restart_delay_doubles_with_each_quick_failure_up_to_a_ceiling(failures, delay):
    assert Backoff(first=1, ceiling=60).delay(failures) == delay


@pytest.mark.parametrize(
    ("returncode", "text"),
    [(0, "exited with code 0"), (3, "exited with code 3"), (-9, "killed by SIGKILL"), (-15, "killed by SIGTERM")],
)
def test_an_exit_is_described_by_its_code_or_signal(returncode, text):
    assert describe_exit(returncode) == text


# --- a real supervisor over real processes ----------------------------------------------------

CRASHER = "import sys; print('crashing now', flush=True); sys.exit(3)"
SLEEPER = "import time; print('up', flush=True); time.sleep(600)"
STUBBORN = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(600)"
)
SLOW_TO_STOP = (
    "import signal, sys, time\n"
    "def finish(*args):\n"
    "    time.sleep(1.5)\n"
    "    sys.exit(0)\n"
    "signal.signal(signal.SIGTERM, finish)\n"
    "print('up', flush=True)\n"
    "time.sleep(600)\n"
)
PID_FILE = (
    "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); print('up', flush=True); time.sleep(600)"
)


class Supervised:
    """`Supervisor(programs).run()` in a subprocess of its own (it owns its signals), its console in a file."""

    def __init__(self, tmp_path: Path, programs: list[dict], *, grace: float = 5, backoff: dict | None = None):
        self.console = tmp_path / "console.out"
        code = (
            "import json, sys\n"
            "from pathlib import Path\n"
            "from qrqc_site.supervisor import Backoff, Program, Supervisor\n"
            "spec = json.loads(sys.argv[1])\n"
            "programs = [Program(p['name'], p['argv'], Path(p['log']) if p.get('log') else None) for p in spec['programs']]\n"
            "sys.exit(Supervisor(programs, backoff=Backoff(**spec['backoff']), grace=spec['grace']).run())\n"
        )
        spec = {"programs": programs, "grace": grace, "backoff": backoff or {}}
        with self.console.open("w") as sink:
            self.popen = subprocess.Popen(
                [sys.executable, "-c", code, json.dumps(spec)],
                cwd=ROOT,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def text(self) -> str:
        return self.console.read_text()

    def wait_for(self, predicate, what: str, seconds: float = 30):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if predicate(self.text()):
                return
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}:\n{self.text()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        self.popen.send_signal(sig)
        return self.popen.wait(timeout=timeout)

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()


def said(name: str, text: str) -> str:
    """A line of the console: the program's name, padded to the width of "supervisor", then its text."""
    return f"{name:<10} | {text}"


def python(code: str, *args: str) -> list[str]:
    return [sys.executable, "-c", code, *args]


def test_a_program_that_keeps_crashing_is_restarted_ever_later_and_each_exit_is_logged(tmp_path):
    supervised = Supervised(
        tmp_path,
        [{"name": "crasher", "argv": python(CRASHER)}, {"name": "sleeper", "argv": python(SLEEPER)}],
        backoff={"first": 0.2, "ceiling": 0.8},
    )
    try:
        supervised.wait_for(lambda text: "restart 5 in" in text, "five restarts")
        assert supervised.stop() == 0
    finally:
        supervised.kill()
    console = supervised.text()
    exits = [line for line in console.splitlines() if "crasher (pid" in line and "exited with code 3" in line]
    assert [line.split("; ")[1] for line in exits[:5]] == [
        "restart 1 in 0.2 s",
        "restart 2 in 0.4 s",
        "restart 3 in 0.8 s",
        "restart 4 in 0.8 s",
        "restart 5 in 0.8 s",
    ]
    assert said("crasher", "crashing now") in console  # its output, under its name
    assert len(started_pids(console, "sleeper")) == 1, "a crash of one program leaves the others alone"


def test_a_stop_signal_stops_every_program_and_none_is_restarted(tmp_path):
    supervised = Supervised(
        tmp_path,
        [
            {"name": "one", "argv": python(SLEEPER)},
            {"name": "two", "argv": python(SLEEPER), "log": str(tmp_path / "two.log")},
        ],
    )
    try:
        supervised.wait_for(lambda text: said("one", "up") in text and " two started" in text, "both programs")
        supervised.wait_for(lambda text: "up" in (tmp_path / "two.log").read_text(), "two's log")
        pids = started_pids(supervised.text(), "one") + started_pids(supervised.text(), "two")
        assert supervised.stop(signal.SIGINT) == 0  # Ctrl-C
    finally:
        supervised.kill()
    console = supervised.text()
    assert "stopping one, two" in console
    assert "one (pid" in console and "stopped: killed by SIGTERM" in console
    assert "restart" not in console
    assert not any(alive(pid) for pid in pids)
    log = (tmp_path / "two.log").read_text()
    assert "supervisor: two started" in log and "supervisor: two (pid" in log and "stopped" in log


def test_a_program_that_ignores_sigterm_is_killed_after_the_grace_period(tmp_path):
    supervised = Supervised(tmp_path, [{"name": "stubborn", "argv": python(STUBBORN)}], grace=1)
    try:
        supervised.wait_for(lambda text: said("stubborn", "up") in text, "the program")
        [pid] = started_pids(supervised.text(), "stubborn")
        assert supervised.stop() == 0
    finally:
        supervised.kill()
    console = supervised.text()
    assert "stubborn did not stop: SIGKILL" in console
    assert "stubborn (pid" in console and "stopped: killed by SIGKILL" in console
    assert not alive(pid)


def test_the_same_stop_arriving_twice_at_once_still_lets_the_programs_finish(tmp_path):
    """`make` passes its SIGTERM on to its child, which also gets the process group's."""
    supervised = Supervised(tmp_path, [{"name": "slow", "argv": python(SLOW_TO_STOP)}], grace=10)
    try:
        supervised.wait_for(lambda text: said("slow", "up") in text, "the program")
        supervised.popen.send_signal(signal.SIGTERM)
        assert supervised.stop() == 0
    finally:
        supervised.kill()
    console = supervised.text()
    assert "slow (pid" in console and "stopped: exited with code 0" in console
    assert "did not stop" not in console


def test_a_second_ctrl_c_kills_at_once(tmp_path):
    supervised = Supervised(tmp_path, [{"name": "stubborn", "argv": python(STUBBORN)}], grace=300)
    try:
        supervised.wait_for(lambda text: said("stubborn", "up") in text, "the program")
        supervised.popen.send_signal(signal.SIGINT)
        supervised.wait_for(lambda text: "stopping stubborn" in text, "the stop")
        time.sleep(1.2)  # a person pressing Ctrl-C again
        assert supervised.stop(signal.SIGINT, timeout=30) == 0
    finally:
        supervised.kill()
    assert "stubborn did not stop: SIGKILL" in supervised.text()


def test_a_killed_program_is_restarted_and_the_kill_is_written_into_its_log(tmp_path):
    pid_file, log = tmp_path / "pid", tmp_path / "killed.log"
    supervised = Supervised(tmp_path, [{"name": "victim", "argv": python(PID_FILE, str(pid_file)), "log": str(log)}])
    try:
        supervised.wait_for(lambda text: pid_file.exists() and pid_file.read_text(), "the program's pid")
        first = int(pid_file.read_text())
        os.kill(first, signal.SIGKILL)
        supervised.wait_for(lambda text: len(started_pids(text, "victim")) == 2, "the restart")
        assert supervised.stop() == 0
    finally:
        supervised.kill()
    lines = [line for line in log.read_text().splitlines() if "supervisor:" in line]
    assert f"victim (pid {first}) killed by SIGKILL after" in lines[1]
    assert lines[1].endswith("restart 1 in 1.0 s")
    assert "victim started" in lines[2]


def test_no_program_outlives_a_supervisor_that_was_killed(tmp_path):
    pid_file = tmp_path / "pid"
    supervised = Supervised(tmp_path, [{"name": "orphan", "argv": python(PID_FILE, str(pid_file))}])
    try:
        supervised.wait_for(lambda text: pid_file.exists() and pid_file.read_text(), "the program's pid")
        pid = int(pid_file.read_text())
        supervised.kill()  # SIGKILL: no chance to stop anything itself
        deadline = time.monotonic() + 10
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive(pid), "the program outlived its supervisor"
    finally:
        supervised.kill()
        if pid_file.exists() and alive(int(pid_file.read_text())):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
