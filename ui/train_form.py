"""The Build & Train page's settings form, kept in widget state so it survives page switches."""
from dataclasses import asdict

import streamlit as st

from core import limits
from core.activations import HIDDEN
from core.optimizers import OPTIMIZERS, SCHEDULES
from core.validation import INITS, parameter_count

from .train_settings import OUTPUT_COSTS, PRESETS, TrainSettings

_PREFIX = "cfg_"
TRAIN_SIZES = [500, 1_000, 2_000, 5_000, 10_000, 20_000, 30_000, 50_000]


def _apply(settings):
    for name, value in asdict(settings).items():
        if name == "hidden_sizes":
            st.session_state[_PREFIX + "layers"] = len(value)
            for i, size in enumerate(value):
                st.session_state[f"{_PREFIX}size_{i}"] = size
        else:
            st.session_state[_PREFIX + name] = value


def _apply_preset():
    _apply(PRESETS[st.session_state["preset"]])


_SAVED = "train_form_saved"  # a plain copy of the settings: not a widget key, so Streamlit never drops it


def keep_settings():
    """Streamlit forgets the values of widgets a run does not draw (another page is shown);
    writing them back on every run keeps the user's Build & Train settings."""
    # A page switch while a polling fragment (live training) runs drops the widget keys before
    # the next run can write them back: restore them from the plain copy.
    for key, value in st.session_state.get(_SAVED, {}).items():
        if key not in st.session_state:
            st.session_state[key] = value
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(_PREFIX)]:
        st.session_state[key] = st.session_state[key]


def settings_form():
    """Draw the form and return the TrainSettings it holds."""
    if _PREFIX + "eta" not in st.session_state:
        _apply(next(iter(PRESETS.values())))

    st.selectbox("Start from a preset", list(PRESETS), key="preset", on_change=_apply_preset, index=None,
                 placeholder="Original, or a modern network that reaches ~98% quickly")
    st.markdown("**Layers**")
    layers = st.number_input("Hidden layers", 0, limits.MAX_HIDDEN_LAYERS, key=_PREFIX + "layers",
                             help="Add or remove hidden layers between the 784 inputs and the 10 outputs")
    sizes = []
    if layers:
        columns = st.columns(min(layers, 4))
        for i in range(layers):
            key = f"{_PREFIX}size_{i}"
            st.session_state.setdefault(key, 30)
            sizes.append(columns[i % 4].number_input(f"Layer {i + 1} neurons", 1, limits.MAX_LAYER_SIZE, key=key))
    st.markdown("**Neurons and cost**")
    a, b, c = st.columns(3)
    hidden = a.selectbox("Hidden activation", list(HIDDEN), key=_PREFIX + "hidden")
    output_cost = b.selectbox("Output and cost", list(OUTPUT_COSTS), key=_PREFIX + "output_cost")
    init = c.selectbox("Initialisation", INITS, key=_PREFIX + "init",
                       help="normal: N(0, 1) as in the original; scaled: N(0, 1/n_in) as in Nielsen's chapter 3; "
                       "xavier and he: scaled by layer size, zero biases")
    st.markdown("**Learning**")
    a, b, c = st.columns(3)
    optimizer = a.selectbox("Optimiser", OPTIMIZERS, key=_PREFIX + "optimizer")
    eta = b.number_input("Learning rate η", min_value=0.0, max_value=1000.0, format="%g", step=0.0005,
                         key=_PREFIX + "eta", help="Try 3.0 for sigmoid + SGD, 0.001 for Adam")
    schedule = c.selectbox("Learning-rate schedule", SCHEDULES, key=_PREFIX + "schedule")
    a, b, c = st.columns(3)
    train_size = a.select_slider("Training examples", TRAIN_SIZES, key=_PREFIX + "train_size",
                                 help="A subset trains faster for quick experiments")
    batch_size = b.number_input("Mini-batch size", 1, 1024, key=_PREFIX + "batch_size")
    epochs = c.number_input("Epochs", 1, limits.MAX_EPOCHS, key=_PREFIX + "epochs")
    a, b, c = st.columns(3)
    weight_decay = a.number_input("L2 weight decay λ", 0.0, 100.0, format="%g", step=0.5,
                                  key=_PREFIX + "weight_decay", help="Scaled by the training-set size, as in Nielsen's book")
    seed = b.number_input("Seed", 0, 2**31 - 1, key=_PREFIX + "seed")
    augment = c.checkbox("Augment data", key=_PREFIX + "augment",
                         help="Random shifts, tilts, slants and stroke thickness: makes the network much better at digits people draw")
    st.session_state[_SAVED] = {k: st.session_state[k] for k in st.session_state
                                if isinstance(k, str) and k.startswith(_PREFIX)}
    return TrainSettings(hidden_sizes=[int(s) for s in sizes], hidden=hidden, output_cost=output_cost, init=init,
                         optimizer=optimizer, eta=float(eta), batch_size=int(batch_size), epochs=int(epochs),
                         weight_decay=float(weight_decay), schedule=schedule, augment=augment,
                         train_size=int(train_size), seed=int(seed))


def architecture_diagram(settings):
    """Graphviz DOT of the layers, left to right, with the parameters between them; and their total."""
    sizes = settings.sizes
    output = OUTPUT_COSTS[settings.output_cost][0]
    labels = [f"input\\n{sizes[0]}"] + [f"{settings.hidden}\\n{s}" for s in sizes[1:-1]] + [f"{output}\\n{sizes[-1]}"]
    lines = ["digraph { rankdir=LR; node [shape=box, style=rounded];"]
    lines += [f'  l{i} [label="{label}"];' for i, label in enumerate(labels)]
    lines += [f'  l{i} -> l{i + 1} [label="{sizes[i] * sizes[i + 1] + sizes[i + 1]:,}"];' for i in range(len(sizes) - 1)]
    lines.append("}")
    return "\n".join(lines), parameter_count(sizes)
