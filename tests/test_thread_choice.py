"""How training picks its BLAS threads, with the BLAS library replaced by a recorder: which
trainings may use several threads, how trials time each setting and keep the faster, when they
are repeated, and how overlapping trainings share the one process-wide setting."""
import pytest

from core import blas
from core.blas import MIN_MULTIPLY_ADDS_FOR_THREADS, SharedThreads, ThreadChoice, multiply_adds

BIG = (100, [784, 800, 10])  # 63 million multiply-adds a mini-batch: several threads may pay


class FakeController:
    """Stands in for threadpoolctl's controller: the BLAS setting is ``threads``."""

    def __init__(self, threads):
        self.threads, self.calls, self.restored = threads, [], 0

    def limit(self, limits, user_api):
        assert user_api == "blas"
        self.calls.append(limits)
        original, self.threads = self.threads, limits
        controller = self

        class Original:
            def restore_original_limits(self):
                controller.threads = original
                controller.restored += 1

        return Original()


class Recorder:
    """Stands in for SHARED_THREADS: what each ThreadChoice asked for."""

    def __init__(self):
        self.events = []

    def join(self, user, threads):
        self.events.append(("join", threads))

    def request(self, user, threads):
        self.events.append(("request", threads))

    def leave(self, user):
        self.events.append(("leave",))


@pytest.fixture
def machine(monkeypatch):
    """Four BLAS threads in force, and a recorder for what training asks of the shared setting."""
    recorder = Recorder()
    monkeypatch.setattr(blas, "current_threads", lambda: 4)
    monkeypatch.setattr(blas, "SHARED_THREADS", recorder)
    return recorder


def test_the_threads_in_force_are_those_of_the_blas_library():
    from threadpoolctl import threadpool_info
    counts = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
    assert blas.current_threads() == max(counts or [1])


def test_trials_time_two_batches_each_and_repeat_every_50_to_800_batches(machine):
    """The documented policy: a batch over 1.5 times the other setting's best time starts a trial too."""
    choice = ThreadChoice(*BIG)
    assert (choice.trial, choice.period, choice.max_period, choice.slack) == (2, 50, 800, 1.5)
    assert len(choice._queue) == 4


def test_multiply_adds_of_a_mini_batch_forward_pass():
    assert multiply_adds(10, [784, 30, 10]) == 10 * (784 * 30 + 30 * 10)
    assert multiply_adds(3, [5, 4, 3, 2]) == 3 * (5 * 4 + 4 * 3 + 3 * 2)
    assert multiply_adds(7, [784]) == 0


@pytest.mark.parametrize("batch, sizes, tuning", [
    (10, [784, 30, 10], False),
    (1, [1999, 2000], False),  # 3,998,000 multiply-adds: just under the threshold
    (1, [2000, 2000], True),   # exactly the threshold
    BIG + (True,),
])
def test_only_big_products_try_several_threads(machine, batch, sizes, tuning):
    assert (multiply_adds(batch, sizes) >= MIN_MULTIPLY_ADDS_FOR_THREADS) == tuning
    choice = ThreadChoice(batch, sizes)
    assert choice.tuning == tuning
    assert choice.candidates == ((1, 4) if tuning else (1,))
    assert choice.choice == (4 if tuning else 1)
    assert choice.trials == (1 if tuning else 0)


def test_one_thread_in_force_means_no_tuning(monkeypatch, machine):
    monkeypatch.setattr(blas, "current_threads", lambda: 1)
    choice = ThreadChoice(*BIG)
    assert not choice.tuning and choice.candidates == (1,) and choice.choice == 1


def batch(choice, seconds):
    """One mini-batch as the training loop runs it; ``seconds`` is its time, or a function of the threads."""
    choice.start()
    choice.record(seconds(choice._current) if callable(seconds) else seconds)


def test_a_trial_times_each_setting_in_turn_and_keeps_the_faster(machine):
    choice = ThreadChoice(*BIG, trial=2, period=5, max_period=40)
    with choice:
        assert machine.events == [("join", 4)]
        used = []
        for _ in range(4):  # the trial: 2 batches with each setting, alternating
            choice.start()
            used.append(choice._current)
            choice.record({1: 0.5, 4: 1.0}[choice._current])
        assert used == [4, 1, 4, 1]
        assert choice.choice == 1 and choice._current == 1  # one thread was faster here
        assert choice.period == 5  # the choice changed: the next trial comes after the base period
    assert machine.events == [("join", 4), ("request", 1), ("request", 4), ("request", 1), ("leave",)]


def test_trials_that_confirm_the_choice_come_less_and_less_often(machine):
    choice = ThreadChoice(*BIG, trial=1, period=5, max_period=40)
    time_of = {1: 1.0, 4: 0.5}  # several threads faster: the first choice holds
    periods, batches = [], 0
    with choice:
        while choice.trials < 6 and batches < 1000:
            batch(choice, lambda threads: time_of[threads])
            batches += 1
            if not choice._in_trial and choice._since == 0:
                periods.append(choice.period)
    assert choice.choice == 4
    assert periods == [10, 20, 40, 40, 40]  # doubled each time, up to max_period
    # five trials of 2 batches, each followed by its period of batches, the last of which starts trial 6
    assert batches == 2 * 5 + (10 + 20 + 40 + 40 + 40)


def test_a_batch_much_slower_than_the_other_setting_starts_a_trial_at_once(machine):
    choice = ThreadChoice(*BIG, trial=1, period=50, slack=1.5)
    with choice:
        for _ in range(2):
            batch(choice, lambda threads: {1: 2.0, 4: 0.5}[threads])
        assert choice.choice == 4 and choice.trials == 1
        batch(choice, 2.9)  # much slower than before, but not over 1.5 x one thread's 2.0 s
        batch(choice, 3.0)  # exactly 1.5 x: still not over
        assert choice.trials == 1 and not choice._in_trial
        batch(choice, 3.1)  # other processes took the cores: time again
        assert choice.trials == 2 and choice._in_trial
        for _ in range(2):
            batch(choice, lambda threads: {1: 1.0, 4: 2.0}[threads])
        assert choice.choice == 1 and choice.period == 50


def test_a_tuning_training_alone_runs_on_what_each_batch_asked_for(monkeypatch, controller):
    """Through the real shared setting: during the trial each batch gets its setting, then the choice."""
    fake = controller
    monkeypatch.setattr(blas, "SHARED_THREADS", SharedThreads())
    seen = []
    with ThreadChoice(*BIG, trial=1) as choice:
        for _ in range(2):
            choice.start()
            seen.append(fake.threads)
            choice.record({1: 1.0, 4: 0.5}[fake.threads])
        assert choice.choice == 4 and fake.threads == 4
    assert seen == [4, 1]
    assert fake.threads == 4 and fake.restored == 1


def test_no_blas_library_found_means_one_thread(monkeypatch):
    class NoLibraries:
        def select(self, user_api):
            assert user_api == "blas"
            return self

        def info(self):
            return []

    monkeypatch.setattr(blas, "_controller", lambda: NoLibraries())
    assert blas.current_threads() == 1


def test_untuned_training_asks_once_and_leaves(machine):
    choice = ThreadChoice(10, [784, 30, 10])
    with choice:
        choice.start()  # nothing to time: no change asked
    assert machine.events == [("join", 1), ("leave",)]


# ----- the process-wide setting ---------------------------------------------------------------------------------


@pytest.fixture
def controller(monkeypatch):
    fake = FakeController(threads=4)
    monkeypatch.setattr(blas, "_controller", lambda: fake)
    monkeypatch.setattr(blas, "current_threads", lambda: fake.threads)
    return fake


def test_one_training_alone_gets_what_it_asks_for_and_the_setting_comes_back(controller):
    shared, user = SharedThreads(), object()
    shared.join(user, 2)
    assert controller.threads == 2 and controller.calls == [4, 2]  # the setting noted, then changed
    shared.request(user, 2)
    assert controller.calls == [4, 2]  # unchanged: the library is not touched again
    shared.request(user, 3)
    assert controller.threads == 3
    shared.leave(user)
    assert controller.threads == 4 and controller.restored == 1


def test_overlapping_trainings_run_on_one_thread_each_until_one_is_left(controller):
    shared, a, b = SharedThreads(), object(), object()
    shared.join(a, 4)
    shared.join(b, 4)
    assert controller.threads == 1
    shared.request(a, 2)
    assert controller.threads == 1
    shared.leave(a)
    assert controller.threads == 4  # b alone again: its own request holds
    assert controller.restored == 0
    shared.leave(b)
    assert controller.threads == 4 and controller.restored == 1
    shared.join(a, 2)  # a later training notes the setting afresh
    assert controller.threads == 2
    shared.leave(a)
    assert controller.threads == 4 and controller.restored == 2


def test_leaving_twice_or_without_joining_changes_nothing(controller):
    shared, user = SharedThreads(), object()
    shared.leave(user)
    assert controller.calls == [] and controller.restored == 0
    shared.join(user, 2)
    shared.leave(user)
    shared.leave(user)
    assert controller.restored == 1 and controller.threads == 4
