"""The embedded broker (qrqc_site/broker.py): kombu's SQLAlchemy transport on a SQLite file,
shared by the site, beat and the worker. kombu's filesystem transport, before it, let a reader
see half a message and killed the worker (`JSONDecodeError` after ~18 minutes)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from queue import Empty

import pytest
from django.conf import settings
from kombu import Connection, Exchange, Queue
from sqlalchemy import event

from qrqc_site.broker import Transport, prepare

ROOT = Path(__file__).resolve().parent.parent
OPTIONS = {"polling_interval": 0.5, "busy_timeout": 30}


@pytest.fixture
def broker_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'broker.sqlite3'}"


def connect(url: str, **options) -> Connection:
    return Connection(url, transport=Transport, transport_options={**OPTIONS, **options})


def rows(url: str) -> int:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        return db.execute("SELECT count(*) FROM kombu_message").fetchone()[0]


def test_the_settings_choose_this_transport_when_there_is_no_redis():
    if settings.REDIS_URL:
        assert settings.CELERY_BROKER_URL == settings.REDIS_URL
    else:
        assert settings.CELERY_BROKER_URL == f"sqlite:///{settings.CELERY_BROKER_FILE}"
        assert settings.CELERY_BROKER_TRANSPORT == "qrqc_site.broker:Transport"


def test_the_broker_file_is_in_wal_mode_waits_for_locks_and_takes_a_polling_interval(broker_url):
    with connect(broker_url) as connection:
        channel = connection.default_channel
        assert connection.transport.polling_interval == 0.5  # kombu would hand it to create_engine
        raw = channel.session.connection().connection.dbapi_connection
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert raw.execute("PRAGMA busy_timeout").fetchone() == (30_000,)


def test_a_fetched_message_leaves_the_table(broker_url):
    with connect(broker_url) as connection:
        queue = connection.SimpleQueue("celery")
        for number in range(3):
            queue.put({"n": number})
        assert rows(broker_url) == 3
        got = []
        for _ in range(3):
            message = queue.get(timeout=1)
            got.append(message.payload["n"])
            message.ack()
        assert got == [0, 1, 2]
        assert rows(broker_url) == 0, "kombu keeps every message it delivered: the table grows by each tick"


def test_an_idle_poll_does_not_wait_for_a_publisher_holding_the_write_lock(broker_url):
    with connect(broker_url, busy_timeout=0.2) as connection:
        queue = connection.SimpleQueue("celery")
        other = sqlite3.connect(broker_url.removeprefix("sqlite:///"), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process in the middle of a publish
        try:
            with pytest.raises(Empty):
                queue.get(timeout=0.1)  # no "database is locked": the poll only read
        finally:
            other.execute("ROLLBACK")
            other.close()


def test_two_processes_creating_the_same_queue_at_once_both_get_it(broker_url):
    """The race is made to happen: the other process's row lands between our look-up and our insert."""
    with connect(broker_url) as connection:
        channel = connection.default_channel
        other = sqlite3.connect(broker_url.removeprefix("sqlite:///"), isolation_level=None)

        def other_process_creates_it_first(session, flush_context, instances):
            other.execute("INSERT INTO kombu_queue (name) VALUES ('raced')")

        event.listen(channel.session, "before_flush", other_process_creates_it_first, once=True)
        try:
            queue = channel._get_or_create("raced")
        finally:
            other.close()
        assert queue.name == "raced" and queue.id is not None
        with sqlite3.connect(broker_url.removeprefix("sqlite:///")) as db:
            assert db.execute("SELECT count(*) FROM kombu_queue WHERE name = 'raced'").fetchone() == (1,)


def test_a_consumer_with_its_prefetch_used_up_takes_the_next_message_at_its_ack(broker_url):
    """Not a polling interval later: with kombu's own loop a worker took at most prefetch / polling
    interval tasks a second, and beat's ticks expired in the queue under load. With a polling
    interval of ten minutes, three messages acknowledged 0.2 s after delivery are all taken well
    within a minute only if the ack itself wakes the consumer."""
    queue = Queue("work", Exchange("work"), "work")
    received = []
    with connect(broker_url, polling_interval=600) as connection:
        producer = connection.Producer()
        for number in range(3):
            producer.publish({"n": number}, exchange=queue.exchange, routing_key="work", declare=[queue])

        def on_message(body, message):
            received.append(body["n"])
            threading.Timer(0.2, message.ack).start()  # a task thread acknowledges when it is done

        def consume():
            with connection.Consumer(queue, callbacks=[on_message], prefetch_count=1):
                while len(received) < 3:
                    connection.drain_events(timeout=600)

        consumer = threading.Thread(target=consume, daemon=True)
        consumer.start()
        consumer.join(timeout=60)
        assert received == [0, 1, 2], "the consumer slept a polling interval with its prefetch full"


PRODUCER = """
import sys
from kombu import Connection, Exchange, Queue
from qrqc_site.broker import Transport
url, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
with Connection(url, transport=Transport, transport_options={"busy_timeout": 30}) as connection:
    queue = connection.SimpleQueue("work")
    for number in range(count):
        queue.put({"id": f"{name}-{number}", "padding": "x" * 2000})
print("sent", count)
"""

CONSUMER = """
import sys, time
from queue import Empty
from kombu import Connection, Exchange, Queue
from qrqc_site.broker import Transport
url, total, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
deadline = time.monotonic() + 120
with Connection(url, transport=Transport, transport_options={"busy_timeout": 30, "polling_interval": 0.05}) as connection, open(out, "w") as sink:
    queue = connection.SimpleQueue("work")
    while time.monotonic() < deadline:
        try:
            message = queue.get(timeout=0.5)
        except Empty:
            with open(out + ".total") as done:
                if int(done.read() or 0) >= total:
                    break
            continue
        sink.write(message.payload["id"] + "\\n")
        sink.flush()
        message.ack()
"""


def test_several_publishing_processes_and_two_consumers_deliver_every_message_exactly_once(broker_url, tmp_path):
    producers, each = 4, 100
    with connect(broker_url) as connection:
        prepare(connection, {"work"})
    outs = [tmp_path / f"consumer-{k}.txt" for k in range(2)]
    for out in outs:
        Path(f"{out}.total").write_text("0")

    def spawn(code: str, *args) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-c", code, *map(str, args)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    consumers = [spawn(CONSUMER, broker_url, producers * each, out) for out in outs]
    senders = [spawn(PRODUCER, broker_url, f"p{k}", each) for k in range(producers)]
    try:
        for sender in senders:
            output, _ = sender.communicate(timeout=120)
            assert sender.returncode == 0 and "sent" in output, output
        for out in outs:  # tell the consumers everything was sent: they stop once the queue is empty
            Path(f"{out}.total").write_text(str(producers * each))
        for consumer in consumers:
            output, _ = consumer.communicate(timeout=120)
            assert consumer.returncode == 0, output
    finally:
        for process in senders + consumers:
            if process.poll() is None:
                process.kill()
                process.wait()
    received = Counter(line for out in outs for line in out.read_text().split())
    expected = {f"p{k}-{n}" for k in range(producers) for n in range(each)}
    assert set(received) == expected, f"lost: {sorted(expected - set(received))[:10]}"
    assert max(received.values()) == 1, [key for key, count in received.items() if count > 1][:10]
    assert all(out.read_text() for out in outs), "both consumers took a share"
    assert rows(broker_url) == 0
    print(json.dumps({"messages": len(received), "per consumer": [len(out.read_text().split()) for out in outs]}))
