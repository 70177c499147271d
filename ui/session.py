"""Per-browser-session state: the current network and what this session has done.

Everything here lives in ``st.session_state``, so two people on one server never
see each other's network, runs or training.
"""
from dataclasses import dataclass, field

import streamlit as st

from .drawing import Sketch
from .resources import default_net

MAX_RUNS_KEPT = 12


@dataclass
class Run:
    """One network trained in this session (continued runs append to the same history)."""

    label: str
    settings: str
    history: list


@dataclass
class SessionData:
    net: object
    model_name: str                      # what the sidebar calls the current network
    job: object = None                   # the latest TrainingJob, if any
    finished_job_shown: object = None    # the finished job the whole app has rerun for
    runs: list = field(default_factory=list)
    runs_added: int = 0                  # all runs ever added (numbers new runs; ``runs`` keeps the last few)
    sketch: Sketch = field(default_factory=Sketch)   # the Draw page's drawing
    notice: tuple = None                 # (kind, text) to show once after a rerun
    _memo: dict = field(default_factory=dict)

    def use_network(self, net, name):
        """Make ``net`` the current network (the training job, if any, keeps running on its own)."""
        self.net, self.model_name = net, name

    def remember(self, what, compute):
        """``compute()`` once per state of the current network (for slow views such as Imagine).

        The state is the network object, its epoch count and the latest training job (a
        run stopped mid-epoch changes the weights but not the epoch count); nothing is
        kept while it trains.
        """
        if self.training:
            return compute()
        net, epochs, job, value = self._memo.get(what, (None, None, None, None))
        if net is not self.net or epochs != len(self.net.history) or job is not self.job:
            value = compute()
            self._memo[what] = (self.net, len(self.net.history), self.job, value)
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
        """Called on every full run: a finished job is then visible everywhere on the page."""
        if self.job is not None and not self.job.active:
            self.finished_job_shown = self.job

    def rerun_if_job_finished(self):
        """From a polling fragment: rerun the whole app once when the job ends (sidebar, buttons)."""
        if self.job is not None and not self.job.active and self.finished_job_shown is not self.job:
            st.rerun(scope="app")


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
