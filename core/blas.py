"""BLAS thread choice for training.

When a mini-batch's matrix products are small (under about 4 million
multiply-adds: [784, 30, 10] up to mini-batch ~150, [784, 100, 10] up to ~50),
more BLAS threads gain nothing, so training uses one and leaves the other cores
to other users of the machine. For larger products all threads are faster on an
idle machine ([784, 800, 10]: 35-40% at mini-batches 10 to 100 on 2 cores) but
can be several times slower when other processes keep the cores busy (a BLAS
thread that loses its core stalls the whole product), so ``ThreadChoice`` times
a few batches with each setting and keeps the faster, checking again as it goes.

The thread count is one setting for the whole process, shared by every training
running in it (a hosted app runs several at once). ``SHARED_THREADS`` owns it: the
first training to start notes the setting in force, one training alone gets the
count it asks for, overlapping trainings run on one thread each (they already
share the cores), and the noted setting comes back when the last one ends, in
whatever order they end.
"""
import functools
import threading

MIN_MULTIPLY_ADDS_FOR_THREADS = 4_000_000  # per mini-batch, forward pass


def multiply_adds(batch_size, sizes):
    """Multiply-adds of one mini-batch's forward matrix products."""
    return batch_size * sum(n_in * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))


@functools.lru_cache(maxsize=1)
def _controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def current_threads():
    """The BLAS thread count in force now (1 when no BLAS library is found)."""
    return max([info["num_threads"] for info in _controller().select(user_api="blas").info()] or [1])


class SharedThreads:
    """The process-wide BLAS thread count, shared by the trainings running at the same time."""

    def __init__(self):
        self._lock = threading.Lock()
        self._requests = {}        # user -> the thread count it asks for
        self._original = None      # threadpoolctl's record of the setting before the first user

    def join(self, user, threads):
        with self._lock:
            if not self._requests:
                self._original = _controller().limit(limits=current_threads(), user_api="blas")
            self._requests[user] = threads
            self._apply()

    def request(self, user, threads):
        with self._lock:
            if self._requests.get(user) != threads:
                self._requests[user] = threads
                self._apply()

    def leave(self, user):
        with self._lock:
            self._requests.pop(user, None)
            if self._requests:
                self._apply()
            elif self._original is not None:
                self._original.restore_original_limits()
                self._original = None

    def _apply(self):
        threads = next(iter(self._requests.values())) if len(self._requests) == 1 else 1
        _controller().limit(limits=threads, user_api="blas")


SHARED_THREADS = SharedThreads()


class ThreadChoice:
    """A context for a training run: one BLAS thread for small products (see the module
    docstring); for larger ones, one thread or all those in force, whichever runs
    batches faster right now.

    In the batch loop, when ``choice.tuning``: ``choice.start()`` before each batch
    and ``choice.record(seconds)`` after it. A trial times ``trial`` batches with each
    setting, alternating, and keeps the faster (by the best time of each). Trials
    are repeated after ``period`` batches, a period that doubles (up to
    ``max_period``) while trials keep confirming the choice; and at once when a
    batch takes over ``slack`` times the other setting's trial time, which is what
    happens to several threads when other processes take the cores.
    """

    def __init__(self, batch_size, sizes, trial=2, period=50, max_period=800, slack=1.5):
        threads = current_threads()  # as many as the caller allows
        single = multiply_adds(batch_size, sizes) < MIN_MULTIPLY_ADDS_FOR_THREADS or threads == 1
        self.candidates = (1,) if single else (1, threads)
        self.tuning = len(self.candidates) > 1
        self.trial, self.base_period, self.max_period, self.slack = trial, period, max_period, slack
        self.period = period
        self.choice = self.candidates[-1]
        self.trials = 0  # trials run, for reports
        self._queue = []  # settings still to time in the current trial
        self._in_trial = False
        self._times = {c: float("inf") for c in self.candidates}
        self._since = 0  # batches since the last trial
        self._current = None
        if self.tuning:
            self._begin_trial()

    def __enter__(self):
        SHARED_THREADS.join(self, self.choice)
        self._current = self.choice
        return self

    def __exit__(self, *exc):
        SHARED_THREADS.leave(self)
        return False

    def _use(self, threads):
        if threads != self._current:
            SHARED_THREADS.request(self, threads)
            self._current = threads

    def _begin_trial(self):
        self._queue = list(self.candidates) * self.trial
        self._times = {c: float("inf") for c in self.candidates}
        self._in_trial = True
        self.trials += 1

    def start(self):
        """Set the BLAS threads for the next batch."""
        if self._queue:
            self._use(self._queue.pop())

    def record(self, seconds):
        """The time the batch just started took."""
        current = self._current
        if self._in_trial:
            self._times[current] = min(self._times[current], seconds)
            if self._queue:
                return
            self._in_trial = False
            best = min(self.candidates, key=self._times.__getitem__)
            self.period = min(2 * self.period, self.max_period) if best == self.choice else self.base_period
            self.choice, self._since = best, 0
            self._use(best)
            return
        self._since += 1
        other = min(t for c, t in self._times.items() if c != current)
        if self._since >= self.period or seconds > self.slack * other:
            self._begin_trial()
