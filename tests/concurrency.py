"""Running work in several threads at the same instant, for the race tests."""

import threading
from collections.abc import Callable, Sequence

from django.db import connection


def run_each_together(works: Sequence[Callable]) -> list:
    """Start a thread per work, all calling it at the same moment; return their results in
    order. A failure in any thread fails the test."""
    barrier = threading.Barrier(len(works))
    results: list = [None] * len(works)
    errors: list = []

    def runner(index: int) -> None:
        try:
            barrier.wait()
            results[index] = works[index]()
        except Exception as exc:  # surfaced below: a thread's failure must fail the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(index,)) for index in range(len(works))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert not any(thread.is_alive() for thread in threads)
    return results


def run_together(count: int, work: Callable) -> list:
    """`work()` in `count` threads at the same moment; their results."""
    return run_each_together([work] * count)
