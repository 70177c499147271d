"""Per-browser-session state: the current network and what this session has done.

Everything here lives in ``st.session_state``, so two people on one server never
see each other's network, runs or training.
"""
from dataclasses import dataclass, field

import streamlit as st
from streamlit import runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from .drawing import Sketch
from .resources import default_net
from .slow_views import within_budget
from .training_job import failure_to_learn

MAX_RUNS_KEPT = 12


@dataclass(eq=False)
class Run:
    """One network trained in this session, described from what was trained.

    Continued training appends to the same history and adds a learning segment.
    """

    label: str
    network: str                         # the network itself: layers, activations, cost
    history: list                        # the network's own history list
    learning: list = field(default_factory=list)   # (first epoch, learning settings) per training call

    def training_text(self):
        """'epochs 1–3: sgd η 3, …; epochs 4–5: adam η 0.001, …' (calls that finished no epoch left out)."""
        ends = [first for first, _ in self.learning[1:]] + [len(self.history) + 1]
        return "; ".join(f"{_epoch_range(first, min(end, len(self.history) + 1) - 1)}: {settings}"
                         for (first, settings), end in zip(self.learning, ends)
                         if min(end, len(self.history) + 1) > first)


def _epoch_range(first, last):
    return f"epoch {first}" if first == last else f"epochs {first}–{last}"


@dataclass(eq=False)
class Checkpoint:
    """How to undo a run: if it never starts (cancelled in the queue) or fails to learn.

    It holds at most one copy of weights (a continued network as it was before the run),
    and the session keeps one checkpoint, dropped when it cannot be used any more.
    """

    job: object
    net: object                          # the current network before the run
    name: str
    runs: list                           # the runs list before the run
    runs_added: int
    run: Run                             # the run's entry (new, or the continued network's)
    before: object = None                # a continued run: a copy of the network before the run


@dataclass
class SessionData:
    net: object
    model_name: str                      # what the sidebar calls the current network
    job: object = None                   # the latest TrainingJob, if any
    finished_job_shown: object = None    # the finished job the whole app has rerun for
    runs: list = field(default_factory=list)
    runs_added: int = 0                  # all runs ever added (numbers new runs; ``runs`` keeps the last few)
    hidden_runs: set = field(default_factory=set)   # runs the user took off the comparison chart
    checkpoint: Checkpoint = None        # to undo the latest run (see Checkpoint)
    sketch: Sketch = field(default_factory=Sketch)   # the Draw page's drawing
    notice: tuple = None                 # (kind, text) to show once after a rerun
    _memo: dict = field(default_factory=dict)

    def use_network(self, net, name):
        """Make ``net`` the current network (the training job, if any, keeps running on its own)."""
        if self.checkpoint is not None and net is not self.checkpoint.job.net:
            self.checkpoint = None  # another network: the latest run cannot be undone any more
        self.net, self.model_name = net, name

    def begin_training(self, job, name, run, learning, before=None):
        """Make ``job`` (not started yet) the session's training, its network current as ``name``.

        ``run`` is the runs-list entry it trains into (added if new), ``learning`` its settings;
        ``before``: for a continued network, a copy of it as it is now.
        """
        self.checkpoint = Checkpoint(job, self.net, self.model_name, list(self.runs), self.runs_added, run, before)
        if run not in self.runs:
            self.add_run(run)
        run.learning.append((len(job.net.history) + 1, learning))
        self.use_network(job.net, name)
        self.job = job

    def run_of(self, net):
        """The runs-list entry of ``net``, or None."""
        return next((run for run in self.runs if run.history is net.history), None)

    @property
    def can_restore(self):
        """True when the latest run failed to learn and the network from before it can come back."""
        return (self.checkpoint is not None and self.checkpoint.job is self.job and self.job is not None
                and not self.job.active and self.net is self.job.net)

    def restore_before_run(self):
        """Go back to the network (weights, history, name) from before the latest run."""
        checkpoint, self.checkpoint = self.checkpoint, None
        if checkpoint.before is None:
            self.use_network(checkpoint.net, checkpoint.name)
        else:
            _put_back(checkpoint.job.net, checkpoint.before)
            checkpoint.run.learning.pop()
            self.use_network(checkpoint.job.net, checkpoint.name)
        self.job = None
        self._memo.clear()

    def remember(self, what, compute):
        """``compute()`` once per state of the current network (for slow views such as Imagine),
        within the server's budget for them (``ui.slow_views``).

        The state is the network object, its epoch count, the latest training job and whether
        it runs (a run stopped mid-epoch changes the weights but not the epoch count). While the
        network trains, that is at most once per epoch: reruns in between (a filter
        changed, another page and back) show the last result.
        """
        net, epochs, job, training, value = self._memo.get(what, (None,) * 5)
        if net is not self.net or epochs != len(self.net.history) or job is not self.job or training != self.training:
            value = within_budget(compute)
            self._memo[what] = (self.net, len(self.net.history), self.job, self.training, value)
        return value

    def add_run(self, run):
        self.runs.append(run)
        self.runs_added += 1
        del self.runs[:-MAX_RUNS_KEPT]

    @property
    def reading_net(self):
        """The network to read from: while it trains, the copy its trainer last published.

        The trainer updates the weights in place; reading them meanwhile could mix two states.
        """
        if self.training and self.job.net is self.net:
            return self.job.published_net()
        return self.net

    @property
    def training(self):
        return self.job is not None and self.job.active

    def mark_finished_job_shown(self):
        """Called on every full run: a finished job is then visible everywhere on the page.

        The first time, the job is also settled: a run that never started is undone, and the
        checkpoint is kept only if the run failed to learn (it can then be restored).
        """
        job = self.job
        if job is None or job.active or self.finished_job_shown is job:
            return
        self.finished_job_shown = job
        checkpoint, self.checkpoint = self.checkpoint, None
        if checkpoint is None or checkpoint.job is not job:
            return
        if job.status == "cancelled":
            self._undo_start(checkpoint)
        elif failure_to_learn(job):
            self.checkpoint = checkpoint

    def _undo_start(self, checkpoint):
        """A run cancelled in the queue: the network, its name and the runs as they were."""
        checkpoint.run.learning.pop()
        self.runs, self.runs_added = checkpoint.runs, checkpoint.runs_added
        self.use_network(checkpoint.net, checkpoint.name)

    def rerun_if_job_finished(self):
        """From a polling fragment: rerun the whole app once when the job ends (sidebar, buttons)."""
        if self.job is not None and not self.job.active and self.finished_job_shown is not self.job:
            st.rerun(scope="app")


def _put_back(net, before):
    """Give ``net`` back the weights, history and test accuracy of its earlier copy ``before``."""
    net.set_parameters((before.weights, before.biases))
    del net.history[len(before.history):]
    net.test_accuracy, net.rng = before.test_accuracy, before.rng


def session():
    """This browser session's data, created with the default model on first use."""
    if "app" not in st.session_state:
        net, name, problem = default_net()
        st.session_state["app"] = SessionData(net=net, model_name=name,
                                              notice=("warning", problem) if problem else None)
    return st.session_state["app"]


def flash(kind, text):
    """Show a message on the next run of the page (survives st.rerun)."""
    session().notice = (kind, text)


def show_flash():
    data = session()
    if data.notice:
        kind, text = data.notice
        getattr(st, kind)(text)
        data.notice = None


def browser_tab_open():
    """A callable, safe in any thread, telling whether this browser session still has an open tab
    (a connected websocket). Call it in the script thread. Where there is no Streamlit server
    (AppTest, scripts), the answer is always yes."""
    context = get_script_run_ctx()
    if context is None:
        return lambda: True
    session_id = context.session_id

    def is_open():
        return not runtime.exists() or bool(runtime.get_instance().is_active_session(session_id))

    return is_open
