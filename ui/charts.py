"""Altair charts of the dashboard, built from plain Python/NumPy data."""
import altair as alt
import numpy as np
import pandas as pd

_SERIES = {"train_accuracy": "training", "validation_accuracy": "validation",
           "train_cost": "training", "validation_cost": "validation"}

# Explicit axis formats: with a single epoch (one point) Vega's automatic ones print "1.000000"
# and "23.740000%". Epochs are whole numbers; percentages get up to two decimals and costs three
# significant digits, trailing zeros trimmed ("~").
EPOCH_AXIS = {"format": "d", "tickMinStep": 1}
PERCENT_FORMAT = ".2~%"
COST_FORMAT = ".3~g"


def history_frame(history):
    """Long-form table (epoch, metric, set, value) of a training history, NaN-free."""
    rows = []
    for entry in history:
        for key, label in _SERIES.items():
            value = entry.get(key)
            if value is not None and np.isfinite(value):
                metric = "accuracy" if key.endswith("accuracy") else "cost"
                rows.append({"epoch": entry["epoch"], "metric": metric, "set": label, "value": value})
    return pd.DataFrame(rows, columns=["epoch", "metric", "set", "value"])


def history_chart(history, metric):
    """``metric`` ("accuracy" or "cost") per epoch, training vs validation."""
    frame = history_frame(history)
    frame = frame[frame.metric == metric]
    axis = alt.Axis(format=PERCENT_FORMAT if metric == "accuracy" else COST_FORMAT)
    return alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("epoch:Q", title="epoch", axis=alt.Axis(**EPOCH_AXIS)),
        y=alt.Y("value:Q", title=metric, axis=axis, scale=alt.Scale(zero=False)),
        color=alt.Color("set:N", title=None, legend=alt.Legend(orient="top"),
                        scale=alt.Scale(domain=["training", "validation"], range=["#d6604d", "#2166ac"])),
        tooltip=["epoch", "set", alt.Tooltip("value:Q", format=".4f")],
    ).properties(title=metric.capitalize(), height=220,
                 # Streamlit's default "fit" squeezes the plot to a few px when there is a title and a
                 # legend; fit only the width, the height is the plot's 220 px plus its frame
                 autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))


def runs_chart(runs):
    """Validation (else training) accuracy of several runs, overlaid."""
    rows = []
    for run in runs:
        for entry in run.history:
            value = entry.get("validation_accuracy")
            if value is None:
                value = entry.get("train_accuracy")
            if value is not None and np.isfinite(value):
                rows.append({"epoch": entry["epoch"], "accuracy": value, "run": run.label,
                             "network": run.network, "training": run.training_text()})
    frame = pd.DataFrame(rows, columns=["epoch", "accuracy", "run", "network", "training"])
    return alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("epoch:Q", axis=alt.Axis(**EPOCH_AXIS)),
        y=alt.Y("accuracy:Q", title="validation accuracy", axis=alt.Axis(format=PERCENT_FORMAT),
                scale=alt.Scale(zero=False)),
        color=alt.Color("run:N", title="run"),
        tooltip=["run", "network", "training", "epoch", alt.Tooltip("accuracy:Q", format=".2%")],
    ).properties(height=300)


# The Draw page redraws this chart on every stroke: a fixed Vega-Lite spec (the data carries
# which bar to highlight) skips Altair's per-call schema validation, about 30 ms a run.
PROBABILITY_SPEC = alt.Chart(pd.DataFrame({"digit": [], "probability": [], "most likely": []})).mark_bar().encode(
    x=alt.X("digit:N", sort=None, axis=alt.Axis(labelAngle=0)),
    y=alt.Y("probability:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
    color=alt.Color("most likely:N", scale=alt.Scale(domain=[True, False], range=["#d6604d", "#4393c3"]),
                    legend=None),
    tooltip=[alt.Tooltip("digit:N"), alt.Tooltip("probability:Q", format=".2%")],
).properties(height=240).to_dict()
for _key in ("data", "datasets"):
    PROBABILITY_SPEC.pop(_key, None)


def probability_chart(probabilities):
    """(data, Vega-Lite spec) of bars of the ten class probabilities, the most likely highlighted."""
    probabilities = np.asarray(probabilities, dtype=float)
    frame = pd.DataFrame({"digit": [str(d) for d in range(len(probabilities))], "probability": probabilities,
                          "most likely": np.arange(len(probabilities)) == int(np.argmax(probabilities))})
    return frame, PROBABILITY_SPEC


def confusion_chart(matrix):
    """Heatmap of counts[true, predicted] with the counts written in the cells."""
    k = matrix.shape[0]
    frame = pd.DataFrame([{"true": str(t), "predicted": str(p), "count": int(matrix[t, p])}
                          for t in range(k) for p in range(k)])
    order = [str(d) for d in range(k)]
    base = alt.Chart(frame).encode(
        x=alt.X("predicted:O", sort=order, title="predicted digit", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("true:O", sort=order, title="true digit"))
    cells = base.mark_rect().encode(
        color=alt.Color("count:Q", scale=alt.Scale(type="symlog", scheme="blues"), legend=None),
        tooltip=["true", "predicted", "count"])
    threshold = float(matrix.max()) / 2
    text = base.mark_text(fontSize=11).encode(
        text="count:Q",
        color=alt.condition(alt.datum.count > threshold, alt.value("white"), alt.value("black")))
    return (cells + text).properties(height=420)


def per_class_chart(accuracies):
    frame = pd.DataFrame({"digit": [str(d) for d in range(len(accuracies))],
                          "accuracy": np.nan_to_num(np.asarray(accuracies, dtype=float))})
    low = max(0.0, float(np.floor((frame.accuracy.min() - 0.01) * 50) / 50))
    base = alt.Chart(frame).encode(
        x=alt.X("digit:N", sort=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("accuracy:Q", scale=alt.Scale(domain=[low, 1.0]), axis=alt.Axis(format="%")),
        tooltip=["digit", alt.Tooltip("accuracy:Q", format=".2%")])
    bars = base.mark_bar(clip=True, color="#4393c3")
    labels = base.mark_text(dy=-6, fontSize=11).encode(text=alt.Text("accuracy:Q", format=".1%"))
    return (bars + labels).properties(height=300)
