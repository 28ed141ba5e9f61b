"""A writer thread per lane: collect a batch, commit it, then acknowledge it to the broker.

The events lane writes whatever is queued at once (no waiting: an alarm is committed as
soon as the previous small transaction ends). The telemetry lane waits up to the batch
window to fill a COPY. While the database is away nothing is acknowledged; the broker stops
sending at the lane's Receive Maximum, and the same batch is retried until it commits.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence

from core.errors import DatabaseUnavailable, DecodeError
from ingest import metrics
from ingest.decode import Decode, DecodedBatch
from ingest.received import Received
from ingest.store import Store, WriteResult

log = logging.getLogger(__name__)
# Longest wait between two tries of a batch while the database is down. A try against a
# stopped server costs one refused connection; a longer wait is how late an alarm held in
# this batch is stored once the database is back (docs/reliability.md).
RETRY_MAX_S = 1.0

# Takes the (packet id, connection generation) pairs of a committed batch.
Acknowledge = Callable[[list[tuple[int, int]]], None]


def commit(store: Store, decode: Decode, batch: Sequence[Received]) -> WriteResult:
    """Decode ``batch`` and write it in one transaction: the unit a writer retries and acks."""
    with store.transaction() as conn:
        return store.write(conn, decode(conn, batch))


def park(store: Store, item: Received, error: DecodeError) -> WriteResult:
    """Keep ``item`` as a dead letter only, undecoded (the store rejected what it decoded to)."""
    with store.transaction() as conn:
        return store.write(conn, DecodedBatch(dead_letters=(item.dead_letter(error),)))


class LaneWriter(threading.Thread):
    """Drains one lane's queue into the store."""

    def __init__(
        self,
        *,
        lane: str,
        store: Store,
        decode: Decode,
        acknowledge: Acknowledge,
        batch_max: int,
        window_s: float,
        idle_s: float = 0.005,
        wait_for_batch: bool,
        on_written: Callable[[WriteResult], None] | None = None,
    ) -> None:
        super().__init__(name=f"writer-{lane}", daemon=True)
        self.lane = lane
        self._store = store
        self._decode = decode
        self._ack = acknowledge
        self._batch_max = batch_max
        self._window_s = window_s
        self._idle_s = idle_s
        self._wait_for_batch = wait_for_batch
        self._on_written = on_written
        self._queue: queue.SimpleQueue[Received] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self.healthy = threading.Event()

    def submit(self, item: Received) -> None:
        """Called from the MQTT loop thread for every received message."""
        self._queue.put(item)

    def stop(self) -> None:
        """Ask the thread to flush what it holds and end."""
        self._stopping.set()

    def run(self) -> None:
        while True:
            batch = self._collect()
            if batch:
                self._write_until_committed(batch)
            elif self._stopping.is_set():
                break
        self._store.close()

    def _collect(self) -> list[Received]:
        try:
            first = self._queue.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        deadline = first.received_mono + self._window_s
        while len(batch) < self._batch_max:
            try:
                batch.append(self._queue.get_nowait())
                continue
            except queue.Empty:
                pass
            remaining = deadline - time.monotonic()
            if not self._wait_for_batch or remaining <= 0 or self._stopping.is_set():
                break
            # Stop filling when the stream pauses: a broker that caps unacknowledged messages
            # in flight (Mosquitto's max_inflight_messages) sends nothing more until we ack.
            try:
                batch.append(self._queue.get(timeout=min(remaining, self._idle_s)))
            except queue.Empty:
                break
        return batch

    def _write_until_committed(self, batch: list[Received]) -> None:
        delay = 0.2
        while True:
            metrics.QUEUE_DEPTH.labels(self.lane).set(self._queue.qsize() + len(batch))
            metrics.LAG.labels(self.lane).set(time.monotonic() - batch[0].received_mono)
            try:
                result = commit(self._store, self._decode, batch)
                break
            except DatabaseUnavailable as exc:
                self.healthy.clear()
                metrics.DB_ERRORS.labels(self.lane).inc()
                log.warning(
                    "lane %s: database unavailable (%s); holding %d messages, retrying in %.1fs",
                    self.lane,
                    exc,
                    len(batch),
                    delay,
                )
            except Exception:
                # Not the connection: something in the batch. Isolate it so one poisoned
                # message never stalls another household's alarm.
                metrics.DB_ERRORS.labels(self.lane).inc()
                log.exception("lane %s: batch of %d failed; isolating", self.lane, len(batch))
                self._store.close()
                if self._write_one_by_one(batch):
                    return
            time.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)
        self._committed(batch, result)

    def _write_one_by_one(self, batch: list[Received]) -> bool:
        """Write each message alone; park those that still fail. False if the DB is away."""
        try:
            for item in batch:
                try:
                    result = commit(self._store, self._decode, [item])
                except DatabaseUnavailable:
                    raise
                except Exception as exc:
                    self._store.close()
                    log.exception("lane %s: parking a message the store rejects", self.lane)
                    error = DecodeError("store_error", f"could not be stored: {exc!r}"[:500])
                    result = park(self._store, item, error)
                self._committed([item], result)
        except DatabaseUnavailable:
            return False
        except Exception:
            log.exception("lane %s: even parking failed; retrying the batch", self.lane)
            self._store.close()
            return False
        return True

    def _committed(self, batch: list[Received], result: WriteResult) -> None:
        self.healthy.set()
        self._ack([(item.mid, item.generation) for item in batch if item.qos])
        now = time.monotonic()
        metrics.BATCH_SIZE.labels(self.lane).observe(len(batch))
        metrics.COMMIT_LATENCY.labels(self.lane).observe(now - batch[0].received_mono)
        metrics.STORED.labels("reading").inc(result.readings)
        metrics.STORED.labels("event").inc(result.events)
        metrics.DUPLICATES.labels(self.lane).inc(result.duplicates)
        for letter in result.dead_letters:
            metrics.DEAD_LETTERS.labels(letter.reason_code).inc()
            _log_dead_letter(letter.reason_code, letter.topic, letter.device_id, letter.payload)
        if self._on_written is not None:
            self._on_written(result)


_last_logged: dict[str, float] = {}


def _log_dead_letter(code: str, topic: str | None, device_id: str | None, payload: bytes) -> None:
    # At most one line per reason per second: a flood of garbage must not flood the logs.
    now = time.monotonic()
    if now - _last_logged.get(code, 0.0) < 1.0:
        return
    _last_logged[code] = now
    log.warning(
        "dead letter (%s) topic=%s device=%s payload=%r",
        code,
        (topic or "")[:120],
        device_id,
        payload[:120],
    )
