"""The note on pages that show figures of a network while it trains."""
import streamlit as st


def show_training_notice(data, what):
    """Say that ``what`` (e.g. "These figures") shows the network as it was a moment ago, mid-training."""
    if not data.training:
        return
    snap = data.job.snapshot()
    if snap.status == "queued":
        return
    st.info(f"{what} are for the network as it was during epoch {max(snap.run_epoch, 1)} of {snap.run_epochs} "
            "of the training that is running: they will change as it learns. Open this page again to see "
            "newer ones.", icon=":material/hourglass_top:")
