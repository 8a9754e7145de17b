import logging
import os

from celery import Celery
from celery.worker.consumer import Consumer
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qrqc_site.settings")

app = Celery("qrqc_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger(__name__)


def send_now(task, *args, **options) -> bool:
    """Enqueue `task` right away or give up within a second: a shift leader's submit must not
    hang while Redis is down (apply_async(retry=False) still waited ~6 s for kombu's
    reconnects). False, with a warning logged, when the broker could not be reached."""
    try:
        with task.app.pool.acquire(block=True, timeout=1) as connection:
            connection.ensure_connection(max_retries=0)
            task.apply_async(args, retry=False, connection=connection, **options)
    except Exception:
        logger.warning("could not enqueue %s", task.name, exc_info=True)
        return False
    return True


class PromptConsumer(Consumer):
    """The worker tries a lost broker again every second, for ever. Celery's own back-off (2, 4,
    ... 30 s, then it gives up after 100 tries) left escalation stalled up to 30 s after Redis came
    back (tests/escalation/test_reliability.py)."""

    def ensure_connected(self, conn):
        ensure = conn.ensure_connection

        def every_second(errback=None, max_retries=None, **options):
            return ensure(errback, None, interval_start=1, interval_step=0, interval_max=1, **options)

        conn.ensure_connection = every_second
        return super().ensure_connected(conn)


@app.on_after_configure.connect
def reconnect_promptly(sender, **kwargs):
    sender.conf.worker_consumer = "qrqc_site.celery:PromptConsumer"


def prepare_embedded_broker() -> None:
    """Before `make run` starts its processes: the embedded broker's file, tables and queues (a
    no-op on Redis)."""
    from qrqc_site import broker  # SQLAlchemy's weight only for `make run`: a site or worker on Redis never loads it

    with app.connection_for_write() as connection:
        if isinstance(connection.transport, broker.Transport):
            broker.prepare(connection, {app.conf.task_default_queue, settings.QRQC_QCHART_QUEUE})
