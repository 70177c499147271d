"""Training in a background thread, so it survives clicks, reruns and page switches.

The thread never calls Streamlit: it writes progress into a ``TrainingJob``
that the page polls. A server-wide ``TrainingQueue`` lets only a few trainings
run at once; a few more wait and can show their place in the queue, and beyond
them the server is busy. A job whose browser session has had no open tab for a
while stops by itself (``TrainingJob.session_alive``).
"""
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from core import limits
from core.validation import parameter_count

log = logging.getLogger(__name__)


class QueueFull(Exception):
    """The queue already holds as many waiting jobs as it may."""

    def __init__(self, running, waiting):
        super().__init__(f"{running} trainings running and {waiting} waiting")
        self.running, self.waiting = running, waiting


class TrainingQueue:
    """At most ``slots`` jobs run at once, at most ``max_waiting`` others wait in arrival order."""

    def __init__(self, slots, max_waiting=limits.MAX_QUEUED_TRAININGS):
        self.slots = slots
        self.max_waiting = max_waiting
        self._running = set()
        self._waiting = []
        self._condition = threading.Condition()  # its lock is reentrant

    def enter(self, job):
        """Take ``job``'s place in the queue now (nothing else changes); QueueFull when the queue is full.

        Called before anything is started, so a busy server can be reported at once.
        """
        with self._condition:
            if job in self._waiting:
                return
            if len(self._waiting) >= self.max_waiting:
                raise QueueFull(len(self._running), len(self._waiting))
            self._waiting.append(job)

    def acquire(self, job):
        """Block until ``job`` may run (entering the queue if it has not); False if it was cancelled while waiting."""
        with self._condition:
            self.enter(job)
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


SESSION_CHECK_SECONDS = 1.0  # how often a job asks whether its browser session still has an open tab
PACE_REPORTS = 3  # progress reports of an epoch needed before its pace is trusted (the first includes warm-up)


@dataclass
class Snapshot:
    """A consistent copy of a job's state for drawing the page."""

    status: str
    epoch: int
    run_epoch: int
    run_epochs: int
    batch: int
    batches: int
    seconds_per_epoch: float   # mean of this run's last finished epochs (0 before the first)
    history: list
    message: str
    queue_position: int
    recent: tuple = ()          # (seconds into the epoch, batches done) of the epoch's latest progress reports

    def eta_seconds(self):
        """Estimated seconds left in this run, or None while there is no fair measure of the pace.

        The pace comes from this run's finished epochs or, in its first epoch, from the time
        between progress reports: the time before the first report includes warm-up (thread
        tuning, cold caches) and would make the estimate far too long.
        """
        if self.status != "running" or not self.batches:
            return None
        epochs_left = self.run_epochs - max(self.run_epoch, 1) + 1 - self.batch / self.batches
        if self.seconds_per_epoch:
            return epochs_left * self.seconds_per_epoch
        per_batch = self._seconds_per_batch()
        return None if per_batch is None else epochs_left * self.batches * per_batch

    def _seconds_per_batch(self):
        if len(self.recent) < PACE_REPORTS:
            return None
        (first_seconds, first_batch), (last_seconds, last_batch) = self.recent[0], self.recent[-1]
        if last_batch <= first_batch or last_seconds <= first_seconds:
            return None
        return (last_seconds - first_seconds) / (last_batch - first_batch)


@dataclass(eq=False)
class TrainingJob:
    """One call of ``net.fit`` in a thread.

    Status: queued, running, completed, stopped, diverged, failed, or cancelled (stopped
    while it waited in the queue: the network was never touched).

    ``session_alive``: a callable telling whether the browser session that started the job
    still has an open tab; once it has had none for ``limits.DISCONNECTED_TRAINING_SECONDS``
    the job stops as if Stop were pressed, and ``abandoned`` is set. None: never abandoned.
    """

    net: object
    train: tuple
    validation: tuple
    test: tuple
    options: dict
    queue: TrainingQueue = SERVER_QUEUE
    session_alive: object = None
    abandoned: bool = False
    status: str = "queued"
    message: str = ""
    stop_requested: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    epochs_before: int = 0               # the network's epochs when the job started
    _progress: object = None
    _recent: deque = field(default_factory=lambda: deque(maxlen=10))
    _published: object = None
    _thread: threading.Thread = None

    def start(self, before=None):
        """Start training in a thread; ``before``: a copy of the network as it is now, if the caller has one.

        QueueFull (nothing started) when the job had not entered the queue and it is full.
        """
        self.queue.enter(self)
        self.epochs_before = len(self.net.history)
        self._published = before if before is not None else self.net.copy()
        self._thread = threading.Thread(target=self._run, name="training", daemon=True)
        self._thread.start()
        if self.session_alive is not None:
            threading.Thread(target=self._watch_session, name="training-watch", daemon=True).start()
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

    def _watch_session(self):
        """Stop the job once its session has had no open tab for the grace period (a page switch or a
        short network blip is not leaving: the tab comes back within it)."""
        last_seen = time.monotonic()
        while self.active and not self.stop_requested.is_set():
            if self.session_alive():
                last_seen = time.monotonic()
            elif time.monotonic() - last_seen >= limits.DISCONNECTED_TRAINING_SECONDS:
                log.info("stopping a training: its browser session has had no open tab for %s s",
                         limits.DISCONNECTED_TRAINING_SECONDS)
                self._set(abandoned=True)
                self.stop()
                return
            self.stop_requested.wait(SESSION_CHECK_SECONDS)

    def _run(self):
        if not self.queue.acquire(self):
            self._finish("cancelled", "training was cancelled before it started")
            return
        try:
            self._set(status="running")
            result = self.net.fit(self.train, validation=self.validation, callback=self._on_progress,
                                  should_stop=self.stop_requested.is_set, **self.options)
            self.net.test_accuracy = self.net.evaluate(*self.test)["accuracy"]
            self._finish(result.status, result.message)
        except ValueError as error:  # settings the checks refuse: their message is written for the user
            self._finish("failed", f"training failed: {error}")
        except Exception:  # anything else may carry server details: logged here, not shown
            log.exception("training failed")
            self._finish("failed", "training failed because of an error on the server (its log has the "
                                   "details); the network keeps what it had learned")
        finally:
            self.queue.release(self)

    def _on_progress(self, progress):
        # between two mini-batches: a state the network really had (kept only if it is usable)
        published = self.net.copy() if self.net.parameters_finite() else None
        with self._lock:
            self._progress = progress
            if progress.epoch_done:
                self._recent.clear()
            else:
                self._recent.append((progress.seconds, progress.batch))
            if published is not None:
                self._published = published

    def published_net(self):
        """A consistent copy of the network as of the latest progress report (for readers while it trains);
        the network itself once the job has ended (nothing changes it any more)."""
        with self._lock:
            return self._published if self._published is not None else self.net

    def _set(self, **values):
        with self._lock:
            for key, value in values.items():
                setattr(self, key, value)

    def _finish(self, status, message):
        self._set(status=status, message=message, _published=None)  # the copy is not needed any more

    def snapshot(self):
        with self._lock:
            p = self._progress
            history = list(self.net.history)
            status, message = self.status, self.message
            recent = tuple(self._recent)
        timed = [entry["seconds"] for entry in history[self.epochs_before:][-3:]]
        per_epoch = sum(timed) / len(timed) if timed else 0.0
        position = self.queue.position(self) if status == "queued" else 0
        if p is None:
            return Snapshot(status, len(history), 0, self.options.get("epochs", 1), 0, 0, per_epoch,
                            history, message, position)
        return Snapshot(status, p.epoch, p.run_epoch, p.run_epochs, p.batch, p.batches, per_epoch,
                        history, message, position, recent)


def check_run_budget(sizes, examples, epochs):
    """ValueError, naming the setting to lower, when a run is more work than ``limits.MAX_RUN_WORK``.

    A run's work is epochs x training examples x parameters: about the multiply-adds it takes.
    """
    per_epoch = examples * parameter_count(sizes)
    if epochs * per_epoch <= limits.MAX_RUN_WORK:
        return
    most_epochs = limits.MAX_RUN_WORK // per_epoch
    lower = (f"lower the epochs to {most_epochs:,} or fewer, or use fewer training examples or a smaller network"
             if most_epochs else "use fewer training examples or a smaller network")
    raise ValueError(f"{epochs:,} epochs of {examples:,} training examples on a network of "
                     f"{parameter_count(sizes):,} parameters is more work than one run may do on this server: "
                     f"{lower}")


def wait_for(job, timeout=60.0):
    """Block until the job has finished (for scripts and tests)."""
    deadline = time.monotonic() + timeout
    while job.active and time.monotonic() < deadline:
        job.join(0.05)
    return job.status


# ----- did the run learn? -----------------------------------------------------------------------

CHANCE_MARGIN = 0.03   # a test accuracy at most 3 points above 1 / classes is what guessing scores
FLAT_COST = 1e-3       # a training cost that changed by less than 0.1% over a run's epochs did not move
HIGH_LEARNING_RATE = {"sgd": 10.0, "momentum": 1.0, "adam": 0.01}
USUAL_LEARNING_RATE = {"sgd": "0.1 to 3", "momentum": "0.01 to 0.3", "adam": "0.0001 to 0.003"}


def failure_to_learn(job):
    """Why a completed job's network did not learn, in plain English; None when it learned.

    Two signs: the test accuracy is about what guessing scores, or the training cost
    stayed flat over the run's epochs (at least two).
    """
    if job.status != "completed":
        return None
    symptom = _accuracy_at_chance(job.net) or _flat_cost(job.net.history[job.epochs_before:])
    if symptom is None:
        return None
    return f"This run failed to learn: {symptom}. {_likely_cause(job.options)}"


def _accuracy_at_chance(net):
    chance = 1 / net.sizes[-1]
    if net.test_accuracy is None or net.test_accuracy > chance + CHANCE_MARGIN:
        return None
    return (f"its test accuracy, {100 * net.test_accuracy:.2f}%, is what guessing scores "
            f"({100 * chance:.0f}%)")


def _flat_cost(run_history):
    costs = [entry["train_cost"] for entry in run_history]
    if len(costs) < 2 or abs(costs[-1] - costs[0]) > FLAT_COST * abs(costs[0]):
        return None
    return f"its training cost did not move over its {len(costs)} epochs (it stayed at {costs[-1]:.4g})"


def _likely_cause(options):
    optimizer, eta = options.get("optimizer", "sgd"), options.get("eta", 0.0)
    if eta > HIGH_LEARNING_RATE.get(optimizer, float("inf")):
        return (f"The learning rate η {eta:g} is most likely too high for {optimizer} "
                f"(usual values: {USUAL_LEARNING_RATE[optimizer]}). Try a smaller one.")
    return ("Its neurons may have saturated or stopped responding: try another learning rate, "
            "initialisation or activation.")
