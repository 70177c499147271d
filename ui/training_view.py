"""The Build & Train page's training controls, live progress and run comparison."""
import pandas as pd
import streamlit as st

from . import charts, resources
from .session import Run
from .sidebar import epochs_text
from .training_job import TrainingJob

POLL_SECONDS = 0.5


def buttons(data, settings):
    training = data.training
    if st.button("Train a new network", type="primary", icon=":material/play_arrow:", disabled=training,
                 key="train_button", width="stretch") and not _busy(data):
        try:
            settings.check()
            net = settings.build()
        except ValueError as error:
            st.error(f"These settings cannot be trained: {error}")
        else:
            number = data.runs_added + 1
            data.add_run(Run(f"run {number}", settings.summary(), net.history))
            data.use_network(net, f"run-{number} (trained in this session)")
            _start(data, net, settings)
            st.rerun()
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


def _continue(data, settings):
    try:
        settings.check()
    except ValueError as error:
        st.error(f"These settings cannot be trained: {error}")
        return
    if not any(run.history is data.net.history for run in data.runs):
        label = f"run {data.runs_added + 1} ({data.model_name.split(' (')[0]} continued)"
        data.add_run(Run(label, settings.summary(), data.net.history))
    _start(data, data.net, settings)
    st.rerun()


def _start(data, net, settings):
    train, validation, test = resources.mnist()
    subset = (train.X[:settings.train_size], train.y[:settings.train_size])
    data.job = TrainingJob(net, subset, validation, test, settings.fit_options()).start()


def live_progress(data):
    job = data.job
    if job is None:
        st.info("Choose settings and press **Train a new network** to watch it learn, epoch by epoch.")
        return

    @st.fragment(run_every=POLL_SECONDS if job.active else None)
    def progress_view():
        snap = job.snapshot()
        _status(job, snap)
        if snap.history:
            st.altair_chart(charts.history_chart(snap.history, "accuracy"), key="accuracy_chart")
            st.altair_chart(charts.history_chart(snap.history, "cost"), key="cost_chart")
        else:
            st.caption("The accuracy and cost charts appear after the first epoch.")
        if not job.active:
            data.rerun_if_job_finished()

    progress_view()


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
        st.success(f"Finished: {epochs_text(len(snap.history))} trained, test accuracy "
                   f"{100 * job.net.test_accuracy:.2f}%.", icon=":material/check_circle:")
    elif snap.status == "stopped":
        st.info(f"Stopped: {snap.message}. The network keeps the {epochs_text(len(snap.history))} it finished.",
                icon=":material/stop_circle:")
    elif snap.status == "diverged":
        st.error(snap.message, icon=":material/error:")
    else:
        st.error(snap.message, icon=":material/error:")


def compare_runs(data):
    runs = [run for run in data.runs if run.history]
    if not runs:
        return
    st.subheader("Compare runs")
    labels = [run.label for run in runs]
    if st.session_state.get("compare_labels") != labels:  # a new run: overlay the latest runs again
        st.session_state.pop("compare_choice", None)
        st.session_state["compare_labels"] = labels
    chosen = st.multiselect("Runs to overlay", labels, default=labels[-4:], key="compare_choice")
    picked = [run for run in runs if run.label in chosen]
    if picked:
        st.altair_chart(charts.runs_chart(picked), key="runs_chart")
    st.dataframe(pd.DataFrame([{
        "run": run.label, "settings": run.settings, "epochs": len(run.history),
        "validation accuracy": _last(run.history, "validation_accuracy"),
    } for run in runs]), hide_index=True, column_config={
        "validation accuracy": st.column_config.NumberColumn(format="percent")})


def _last(history, key):
    values = [entry[key] for entry in history if entry.get(key) is not None]
    return values[-1] if values else None
