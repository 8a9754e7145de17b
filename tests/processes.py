"""Helpers for tests that start real processes: a free port, whether a pid still runs, and the
pids the supervisor says it started."""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purpose (its parent, the supervisor, may not have reaped it yet).
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


def started_pids(console: str, name: str) -> list[int]:
    """The pids of program `name` in the supervisor's "<name> started (pid N)" lines, in order."""
    return [int(pid) for pid in re.findall(rf" {re.escape(name)} started \(pid (\d+)\)", console)]
