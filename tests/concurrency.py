"""Running work in several threads at the same instant, for the PostgreSQL race tests."""

import threading

from django.db import connection


def run_together(count: int, work) -> list:
    """Start `count` threads that call `work()` at the same moment; return their results.
    A failure in any thread fails the test."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list = []

    def runner(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work()
        except Exception as exc:  # surfaced below: a thread's failure must fail the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert not any(thread.is_alive() for thread in threads)
    return results
