"""BLAS thread choice for training.

On small mini-batches the matrix products are too small to split across
threads: one BLAS thread is as fast and leaves the other cores to other users
of the machine. On large ones, all threads are faster on an idle machine but
can be several times slower when other processes keep the cores busy (a BLAS
thread that loses its core stalls the whole product), so ``ThreadChoice`` times
a few batches with each setting and keeps the faster, again every few hundred
batches.
"""
import contextlib
import functools

SINGLE_THREAD_MAX_BATCH = 32


@functools.lru_cache(maxsize=1)
def _controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def current_threads():
    """The BLAS thread count in force now (1 when no BLAS library is found)."""
    return max([info["num_threads"] for info in _controller().select(user_api="blas").info()] or [1])


def blas_threads_for(batch_size):
    """Context manager limiting BLAS to one thread for mini-batches up to 32 examples."""
    if batch_size > SINGLE_THREAD_MAX_BATCH:
        return contextlib.nullcontext()
    return _controller().limit(limits=1, user_api="blas")


class ThreadChoice:
    """A context for a training run: one BLAS thread for small mini-batches; for larger
    ones, one thread or all those in force, whichever runs batches faster right now.

    In the batch loop, when ``choice.tuning``: ``choice.start()`` before each batch
    and ``choice.record(seconds)`` after it. A trial times ``trial`` batches with each
    setting, alternating, and keeps the faster (by the best time of each). Trials
    are repeated after ``period`` batches, a period that doubles (up to
    ``max_period``) while trials keep confirming the choice; and at once when a
    batch takes over ``slack`` times the other setting's trial time, which is what
    happens to several threads when other processes take the cores.
    """

    def __init__(self, batch_size, trial=2, period=50, max_period=800, slack=1.5):
        threads = current_threads()  # as many as the caller allows
        single = batch_size <= SINGLE_THREAD_MAX_BATCH or threads == 1
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
        self._original = None
        if self.tuning:
            self._begin_trial()

    def __enter__(self):
        self._original = _controller().limit(limits=self.choice, user_api="blas")
        self._current = self.choice
        return self

    def __exit__(self, *exc):
        self._original.restore_original_limits()
        return False

    def _use(self, threads):
        if threads != self._current:
            _controller().limit(limits=threads, user_api="blas")
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
