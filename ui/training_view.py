"""The Build & Train page's training controls, live progress and run comparison."""
import pandas as pd
import streamlit as st

from . import charts, resources
from .session import Run, browser_tab_open, flash
from .sidebar import epochs_text
from .training_job import QueueFull, TrainingJob, failure_to_learn

POLL_SECONDS = 0.5
COMPARE_KEY = "compare_choice"


def buttons(data, settings):
    training = data.training
    if st.button("Train a new network", type="primary", icon=":material/play_arrow:", disabled=training,
                 key="train_button", width="stretch") and not _busy(data):
        _train_new(data, settings)
    if st.button("Continue training", icon=":material/fast_forward:", disabled=training, key="continue_button",
                 width="stretch", help="Train the current network further with the learning settings above") \
            and not _busy(data):
        _continue(data, settings)
    if st.button("Stop", icon=":material/stop:", disabled=not training, key="stop_button", width="stretch",
                 help="Ends training after the current mini-batch, keeping what was learned"):
        data.job.stop()


def _busy(data):
    """One training at a time per session (a second click can arrive before the button is disabled)."""
    if data.training:
        st.warning("This session is already training a network: stop it or wait for it to finish.")
    return data.training


def _train_new(data, settings):
    try:
        settings.check()
        net = settings.build()
    except ValueError as error:
        st.error(f"These settings cannot be trained: {error}")
        return
    number = data.runs_added + 1
    run = Run(f"run {number}", network_text(net), net.history)
    _start(data, net, settings, f"run-{number} (trained in this session)", run)


def _continue(data, settings):
    net = data.net
    try:
        settings.check(net.sizes)
    except ValueError as error:
        st.error(f"These settings cannot be trained: {error}")
        return
    run = data.run_of(net) or Run(f"run {data.runs_added + 1} ({data.model_name.split(' (')[0]} continued)",
                                  network_text(net), net.history, [(1, "earlier training")] if net.history else [])
    _start(data, net, settings, data.model_name, run, before=net.copy())


def network_text(net):
    """'784→512→256→10, relu, softmax + cross-entropy', in the form's words, read from the network itself."""
    hidden = [net.hidden] if len(net.sizes) > 2 else []
    return ", ".join(["→".join(str(size) for size in net.sizes), *hidden,
                      f"{net.output} + {net.cost.replace('_', '-')}"])


def _start(data, net, settings, name, run, before=None):
    train, validation, test = resources.mnist()
    subset = (train.X[:settings.train_size], train.y[:settings.train_size])
    job = TrainingJob(net, subset, validation, test, settings.fit_options(), session_alive=browser_tab_open())
    try:
        job.queue.enter(job)
    except QueueFull as full:
        st.error(f"The server is busy: {full.running} trainings are running and {full.waiting} waiting. "
                 "Try again in a few minutes.", icon=":material/hourglass_top:")
        return
    data.begin_training(job, name, run, settings.learning_summary(), before)
    job.start(before)
    st.rerun()


def live_progress(data):
    job = data.job
    if job is None:
        st.info("Choose settings and press **Train a new network** to watch it learn, epoch by epoch.")
        return

    @st.fragment(run_every=POLL_SECONDS if job.active else None)
    def progress_view():
        snap = job.snapshot()
        _status(job, snap)
        _offer_restore(data)
        if snap.history:
            st.altair_chart(charts.history_chart(snap.history, "accuracy"), key="accuracy_chart")
            st.altair_chart(charts.history_chart(snap.history, "cost"), key="cost_chart")
        elif job.active:
            st.caption("The accuracy and cost charts appear after the first epoch.")
        if not job.active:
            data.rerun_if_job_finished()

    progress_view()


def _offer_restore(data):
    """After a run that failed to learn: a button back to the network from before it."""
    if data.can_restore and st.button("Restore the network from before this run", icon=":material/undo:",
                                      key="restore_button"):
        data.restore_before_run()
        flash("success", "Restored the network from before the run.")
        st.rerun(scope="app")


def _status(job, snap):
    if snap.status == "queued":
        st.info(f"Waiting for a free training slot: you are number {snap.queue_position} in the queue. "
                "(This server trains a few networks at a time.)", icon=":material/schedule:")
    elif snap.status == "running":
        done = (snap.run_epoch - 1 + (snap.batch / snap.batches if snap.batches else 0)) / max(snap.run_epochs, 1)
        left = snap.eta_seconds()
        timing = f" · {snap.seconds_per_epoch:.1f} s per epoch" if snap.seconds_per_epoch else ""
        timing += f" · about {left:.0f} s left" if left is not None else ""
        st.progress(min(max(done, 0.0), 1.0),
                    text=f"Epoch {max(snap.run_epoch, 1)} of {snap.run_epochs} · batch {snap.batch} of "
                         f"{snap.batches}{timing}")
    elif snap.status == "completed":
        _completed(job, snap)
    elif snap.status == "stopped":
        st.info(_stopped_text(len(snap.history), job.abandoned), icon=":material/stop_circle:")
    elif snap.status == "cancelled":
        st.info("Cancelled before it started: the network and the runs are as they were.",
                icon=":material/cancel:")
    else:  # diverged or failed
        st.error(snap.message, icon=":material/error:")


def _stopped_text(epochs, abandoned):
    stopped = (f"Stopped during epoch {epochs + 1}: the server ended the training because no browser tab "
               "had this page open." if abandoned else f"Stopped: you pressed Stop during epoch {epochs + 1}.")
    if not epochs:
        return f"{stopped} No epoch had finished; the network keeps what it learned so far."
    return f"{stopped} The network keeps the {epochs_text(epochs)} it finished."


def _completed(job, snap):
    failure = failure_to_learn(job)
    if failure:
        st.error(failure, icon=":material/error:")
    else:
        st.success(f"Finished: {epochs_text(len(snap.history))} trained, test accuracy "
                   f"{100 * job.net.test_accuracy:.2f}%.", icon=":material/check_circle:")


def compare_runs(data):
    runs = [run for run in data.runs if run.history]
    if not runs:
        return
    st.subheader("Compare runs")
    chosen = _runs_to_overlay(data, [run.label for run in runs])
    picked = [run for run in runs if run.label in chosen]
    if picked:
        st.altair_chart(charts.runs_chart(picked), key="runs_chart")
    st.dataframe(pd.DataFrame([{
        "run": run.label, "network": run.network, "training": run.training_text(), "epochs": len(run.history),
        "validation accuracy": _last(run.history, "validation_accuracy"),
    } for run in runs]), hide_index=True, column_config={
        "network": st.column_config.TextColumn(width=290),
        "training": st.column_config.TextColumn(width="large", help="Learning settings, epoch by epoch"),
        "validation accuracy": st.column_config.NumberColumn(format="percent")})


def _runs_to_overlay(data, labels):
    """The runs picked for the chart: all but those the user removed, so a new run is added.

    The choice lives in ``data.hidden_runs`` and the widget's value is set from it before the
    widget is drawn (never through ``default=``, which the browser ignores once the widget
    exists): the chips shown are always the lines plotted.
    """
    data.hidden_runs &= set(labels)
    chosen = [label for label in labels if label not in data.hidden_runs]
    shown = st.session_state.get(COMPARE_KEY)
    if shown is None or set(shown) != set(chosen):
        st.session_state[COMPARE_KEY] = chosen
    return st.multiselect("Runs to overlay", labels, key=COMPARE_KEY, on_change=_remember_removed,
                          args=(data, labels))


def _remember_removed(data, labels):
    data.hidden_runs = set(labels) - set(st.session_state[COMPARE_KEY])


def _last(history, key):
    values = [entry[key] for entry in history if entry.get(key) is not None]
    return values[-1] if values else None
