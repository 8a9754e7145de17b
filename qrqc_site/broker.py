"""The embedded Celery broker: kombu's SQLAlchemy transport on a SQLite file of its own, made safe
for the several processes of `make run` (the site, beat and the worker all publish; the worker
also consumes).

kombu's filesystem transport, the previous embedded broker, killed the worker after ~18 minutes
with `JSONDecodeError` (its reader does not take the writer's lock and read a half-written
message). A SQLite transaction cannot be read half-written. What kombu's SQLAlchemy transport
leaves to us, and this module adds:

- every connection waits for a lock (`timeout`, SQLite's busy timeout) instead of failing at once
  with "database is locked", and the file is in WAL mode, so readers never block the writer;
- a fetched message is deleted in the transaction that takes it, where kombu only marks it
  invisible and keeps it for ever (the table then grows by every tick of beat, two rows every
  2 s, and each poll reads past all of them);
- an idle poll only reads: the write lock is taken when there is a message to take;
- two processes creating the same queue at once both get it (kombu's loser stopped on a
  unique-name error);
- `polling_interval` can be set (kombu hands every transport option to `create_engine`,
  which refuses it), and a worker whose prefetch is used up takes its next message at its next ack,
  not a polling interval later.

Delivery is at most once if the worker is killed: like every virtual kombu transport, a message
fetched but not yet acknowledged lives in the worker's memory (it is put back on a clean shutdown,
not after SIGKILL). Every task we enqueue can afford that: the sweep and the dispatch are
level-triggered (the next tick, 2 s later, does what a lost one would have done), and a Q chart
that was not drawn ahead is drawn when someone reads it.
"""

from __future__ import annotations

import sqlite3
import threading
from json import loads
from queue import Empty
from time import monotonic

from kombu.transport import sqlalchemy as kombu_sqlalchemy
from kombu.utils.encoding import bytes_to_str
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import IntegrityError

# Transport options that are kombu's or ours, taken out before the rest goes to create_engine().
OWN_OPTIONS = (
    "queue_tablename",
    "message_tablename",
    "callback",
    "errback",
    "max_retries",
    "interval_start",
    "interval_step",
    "interval_max",
    "retry_errors",
    "polling_interval",
    "busy_timeout",
)
DEFAULT_BUSY_TIMEOUT = 30.0  # seconds a writer waits for another's lock before giving up


def _tune_sqlite(dbapi_connection: sqlite3.Connection, connection_record) -> None:
    """WAL: a reader (an idle poll, a queue size) never blocks a writer nor waits for one.
    synchronous=NORMAL is safe in WAL (a power cut may lose the last messages, never corrupts)."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


class Channel(kombu_sqlalchemy.Channel):
    def _engine_from_config(self):
        conninfo = self.connection.client
        options = {key: value for key, value in conninfo.transport_options.items() if key not in OWN_OPTIONS}
        busy_timeout = float(conninfo.transport_options.get("busy_timeout", DEFAULT_BUSY_TIMEOUT))
        url = conninfo.hostname
        if url.startswith("sqlite"):
            options.setdefault("connect_args", {}).setdefault("timeout", busy_timeout)
        engine = create_engine(url, **options)
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _tune_sqlite)
        return engine

    def basic_ack(self, delivery_tag, multiple=False):
        super().basic_ack(delivery_tag, multiple=multiple)
        self._slot_freed()

    def basic_reject(self, delivery_tag, requeue=False):
        super().basic_reject(delivery_tag, requeue=requeue)
        self._slot_freed()

    def _slot_freed(self) -> None:
        transport = self.connection  # None once the channel is closed (a late ack at shutdown)
        if transport is not None:
            transport.acked.set()

    def _get_or_create(self, queue):
        """kombu's own loses the race when two processes create a queue at once (the loser's
        unique-name error escapes and stops a worker); here the loser takes the winner's row."""
        queues = self.queue_cls
        found = self.session.query(queues).filter(queues.name == queue).first()
        if found is not None:
            return found
        self.session.add(queues(queue))
        try:
            self.session.commit()
        except IntegrityError:
            self.session.rollback()
        return self.session.query(queues).filter(queues.name == queue).one()

    def _has_message(self, queue_id: int) -> bool:
        """A read without a lock: most polls find the queue empty and must not queue up behind,
        or hold up, the publishers."""
        messages = self.message_cls
        found = (
            self.session.query(messages.id)
            .filter(messages.queue_id == queue_id)
            .filter(messages.visible != False)  # noqa: E712 (SQL, not Python)
            .limit(1)
            .first()
        )
        return found is not None

    def _get(self, queue):
        queue_id = self._get_or_create(queue).id
        if not self._has_message(queue_id):
            raise Empty()
        session = self.session
        if session.bind.dialect.name == "sqlite":
            # Take the write lock first: two consumers can then never fetch the same row.
            session.execute(text("BEGIN IMMEDIATE TRANSACTION"))
        try:
            messages = self.message_cls
            message = (
                session.query(messages)
                .with_for_update()
                .filter(messages.queue_id == queue_id)
                .filter(messages.visible != False)  # noqa: E712
                .order_by(messages.sent_at, messages.id)
                .limit(1)
                .first()
            )
            if message is None:
                raise Empty()
            payload = bytes_to_str(message.payload)
            session.delete(message)
            return loads(payload)
        finally:
            # If this commit fails the message stays in the table and is fetched again later.
            session.commit()


class Transport(kombu_sqlalchemy.Transport):
    Channel = Channel

    def __init__(self, client, **kwargs):
        super().__init__(client, **kwargs)
        self.acked = threading.Event()  # set by each ack: a worker with its prefetch used up may take more

    def drain_events(self, connection, timeout=None):
        """Deliver one message. kombu sleeps `polling_interval` whenever it took none, also when
        messages wait but every prefetch slot is taken by a task still running; a worker then took
        at most prefetch / polling_interval tasks a second (8 with 4 threads and 0.5 s), and under
        load beat's ticks waited in the queue until they expired. Here the wait ends at the next
        ack as well."""
        started = monotonic()
        while True:
            try:
                self.cycle.get(self._deliver, timeout=timeout)
                return
            except Empty:
                waited = monotonic() - started
                if timeout is not None and waited >= timeout:
                    raise TimeoutError() from None
                pause = self.polling_interval if timeout is None else min(self.polling_interval, timeout - waited)
                self.acked.wait(pause)
                self.acked.clear()


def prepare(connection, queues: set[str]) -> None:
    """Create the broker's file (in WAL mode), its tables and queues before several processes open
    it at once: kombu creates the tables on first use, and two processes doing that together race."""
    channel = connection.default_channel
    for queue in sorted(queues):
        channel._new_queue(queue)
