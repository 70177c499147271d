"""Training in a background thread, so it survives clicks, reruns and page switches.

The thread never calls Streamlit: it writes progress into a ``TrainingJob``
that the page polls. A server-wide ``TrainingQueue`` lets only a few trainings
run at once; the rest wait and can show their place in the queue.
"""
import threading
import time
from dataclasses import dataclass, field

from core import limits


class TrainingQueue:
    """At most ``slots`` jobs run at once, the others wait in arrival order."""

    def __init__(self, slots):
        self.slots = slots
        self._running = set()
        self._waiting = []
        self._condition = threading.Condition()

    def acquire(self, job):
        """Block until ``job`` may run; return False if it was cancelled while waiting."""
        with self._condition:
            self._waiting.append(job)
            while not (job.stop_requested.is_set() or
                       (len(self._running) < self.slots and self._waiting[0] is job)):
                self._condition.wait(timeout=0.5)
            self._waiting.remove(job)
            self._condition.notify_all()
            if job.stop_requested.is_set():
                return False
            self._running.add(job)
            return True

    def release(self, job):
        with self._condition:
            self._running.discard(job)
            self._condition.notify_all()

    def position(self, job):
        """1-based place among the waiting jobs, or 0 when not waiting."""
        with self._condition:
            return self._waiting.index(job) + 1 if job in self._waiting else 0

    @property
    def running(self):
        with self._condition:
            return len(self._running)


SERVER_QUEUE = TrainingQueue(limits.MAX_CONCURRENT_TRAININGS)


@dataclass
class Snapshot:
    """A consistent copy of a job's state for drawing the page."""

    status: str
    epoch: int
    run_epoch: int
    run_epochs: int
    batch: int
    batches: int
    seconds_in_epoch: float
    seconds_per_epoch: float
    history: list
    message: str
    queue_position: int

    def eta_seconds(self):
        """Estimated seconds left in this run, from the recent epochs' times."""
        if self.status != "running" or not self.batches:
            return None
        per_epoch = self.seconds_per_epoch
        if not per_epoch and self.batch:
            per_epoch = self.seconds_in_epoch * self.batches / self.batch
        if not per_epoch:
            return None
        return (self.run_epochs - self.run_epoch + 1 - self.batch / self.batches) * per_epoch


@dataclass(eq=False)
class TrainingJob:
    """One call of ``net.fit`` in a thread. Status: queued, running, completed, stopped, diverged, failed."""

    net: object
    train: tuple
    validation: tuple
    test: tuple
    options: dict
    queue: TrainingQueue = SERVER_QUEUE
    status: str = "queued"
    message: str = ""
    stop_requested: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _progress: object = None
    _published: object = None
    _thread: threading.Thread = None

    def start(self):
        self._published = self.net.copy()
        self._thread = threading.Thread(target=self._run, name="training", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Ask training to end after the current batch (or leave the queue)."""
        self.stop_requested.set()

    @property
    def active(self):
        return self.status in ("queued", "running")

    def join(self, timeout=None):
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self):
        if not self.queue.acquire(self):
            self._finish("stopped", "training was cancelled before it started")
            return
        try:
            self._set(status="running")
            result = self.net.fit(self.train, validation=self.validation, callback=self._on_progress,
                                  should_stop=self.stop_requested.is_set, **self.options)
            self.net.test_accuracy = self.net.evaluate(*self.test)["accuracy"]
            self._finish(result.status, result.message)
        except Exception as error:  # shown to the user; the network keeps its last state
            self._finish("failed", f"training failed: {error}")
        finally:
            self.queue.release(self)

    def _on_progress(self, progress):
        # between two mini-batches: a state the network really had (kept only if it is usable)
        published = self.net.copy() if self.net.parameters_finite() else None
        with self._lock:
            self._progress = progress
            if published is not None:
                self._published = published

    def published_net(self):
        """A consistent copy of the network as of the latest progress report (for readers while it trains)."""
        with self._lock:
            return self._published

    def _set(self, **values):
        with self._lock:
            for key, value in values.items():
                setattr(self, key, value)

    def _finish(self, status, message):
        self._set(status=status, message=message)

    def snapshot(self):
        with self._lock:
            p = self._progress
            history = list(self.net.history)
            status, message = self.status, self.message
        timed = [entry["seconds"] for entry in history[-3:]]
        per_epoch = sum(timed) / len(timed) if timed else 0.0
        position = self.queue.position(self) if status == "queued" else 0
        if p is None:
            return Snapshot(status, len(history), 0, self.options.get("epochs", 1), 0, 0, 0.0, per_epoch,
                            history, message, position)
        return Snapshot(status, p.epoch, p.run_epoch, p.run_epochs, p.batch, p.batches,
                        0.0 if p.epoch_done else p.seconds, per_epoch, history, message, position)


def wait_for(job, timeout=60.0):
    """Block until the job has finished (for scripts and tests)."""
    deadline = time.monotonic() + timeout
    while job.active and time.monotonic() < deadline:
        job.join(0.05)
    return job.status
