"""The Build & Train page's settings form, kept in widget state so it survives page switches."""
from dataclasses import asdict

import streamlit as st

from core import limits
from core.activations import HIDDEN
from core.optimizers import OPTIMIZERS, SCHEDULES
from core.validation import INITS, parameter_count

from .train_settings import OUTPUT_COSTS, PRESETS, TrainSettings

_PREFIX = "cfg_"
_WIDE_FIELD = 220  # px: "softmax + cross-entropy" in full
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


def _field_row():
    """A row of form fields that wraps onto the next line where the page is too narrow for them
    (columns would squeeze each field until its value is cut off)."""
    return st.container(horizontal=True, gap="small")


def settings_form():
    """Draw the form and return the TrainSettings it holds."""
    if _PREFIX + "eta" not in st.session_state:
        _apply(next(iter(PRESETS.values())))

    st.selectbox("Start from a preset", list(PRESETS), key="preset", on_change=_apply_preset, index=None,
                 placeholder="Original or Modern",
                 help="Original: the 784-30-10 sigmoid network with quadratic cost and η 3 that started it all. "
                 "Modern: ReLU layers, softmax and cross-entropy, Adam with a cosine schedule: about 98% in a "
                 "few epochs.")
    st.markdown("**Layers**")
    layers = st.number_input("Hidden layers", 0, limits.MAX_HIDDEN_LAYERS, key=_PREFIX + "layers",
                             help="Add or remove hidden layers between the 784 inputs and the 10 outputs")
    sizes = []
    with _field_row():
        for i in range(layers):
            key = f"{_PREFIX}size_{i}"
            st.session_state.setdefault(key, 30)
            sizes.append(st.number_input(f"Layer {i + 1} neurons", 1, limits.MAX_LAYER_SIZE, key=key))
    st.markdown("**Neurons and cost**")
    with _field_row():
        hidden = st.selectbox("Hidden activation", list(HIDDEN), key=_PREFIX + "hidden")
        output_cost = st.selectbox("Output and cost", list(OUTPUT_COSTS), key=_PREFIX + "output_cost",
                                   width=_WIDE_FIELD)
        init = st.selectbox("Initialisation", INITS, key=_PREFIX + "init",
                            help="normal: N(0, 1) as in the original; scaled: N(0, 1/n_in) as in Nielsen's "
                            "chapter 3; xavier and he: scaled by layer size, zero biases")
    st.markdown("**Learning**")
    with _field_row():
        optimizer = st.selectbox("Optimiser", OPTIMIZERS, key=_PREFIX + "optimizer")
        eta = st.number_input("Learning rate η", min_value=0.0, max_value=1000.0, format="%g", step=0.0005,
                              key=_PREFIX + "eta", help="Try 3.0 for sigmoid + SGD, 0.001 for Adam")
        schedule = st.selectbox("Learning-rate schedule", SCHEDULES, key=_PREFIX + "schedule")
    with _field_row():
        train_size = st.select_slider("Training examples", TRAIN_SIZES, key=_PREFIX + "train_size",
                                      help="A subset trains faster for quick experiments")
        batch_size = st.number_input("Mini-batch size", 1, 1024, key=_PREFIX + "batch_size")
        epochs = st.number_input("Epochs", 1, limits.MAX_EPOCHS, key=_PREFIX + "epochs")
    with _field_row():
        weight_decay = st.number_input("L2 weight decay λ", 0.0, 100.0, format="%g", step=0.5,
                                       key=_PREFIX + "weight_decay",
                                       help="Scaled by the training-set size, as in Nielsen's book")
        seed = st.number_input("Seed", 0, 2**31 - 1, key=_PREFIX + "seed")
        augment = st.checkbox("Augment data", key=_PREFIX + "augment",
                              help="Random shifts, tilts, slants and stroke thickness: makes the network much "
                              "better at digits people draw")
    st.session_state[_SAVED] = {k: st.session_state[k] for k in st.session_state
                                if isinstance(k, str) and k.startswith(_PREFIX)}
    return TrainSettings(hidden_sizes=[int(s) for s in sizes], hidden=hidden, output_cost=output_cost, init=init,
                         optimizer=optimizer, eta=float(eta), batch_size=int(batch_size), epochs=int(epochs),
                         weight_decay=float(weight_decay), schedule=schedule, augment=augment,
                         train_size=int(train_size), seed=int(seed))


def architecture_diagram(settings):
    """Graphviz DOT of the layers, top to bottom, with the parameters between them; and their total.

    Top to bottom, the diagram's width does not grow with the depth, so its labels keep their
    size in a narrow column at any number of layers (left to right, a deep network is shrunk
    to fit and its labels become unreadable).
    """
    sizes = settings.sizes
    output = OUTPUT_COSTS[settings.output_cost][0]
    labels = [f"input {sizes[0]:,}"] + [f"{settings.hidden} {s:,}" for s in sizes[1:-1]] + [f"{output} {sizes[-1]:,}"]
    lines = ["digraph { rankdir=TB; nodesep=0.2; ranksep=0.25;",
             '  node [shape=box, style=rounded, fontsize=14, height=0.35, width=1.6];',
             '  edge [fontsize=12, arrowsize=0.6];']
    lines += [f'  l{i} [label="{label}"];' for i, label in enumerate(labels)]
    lines += [f'  l{i} -> l{i + 1} [label="  {sizes[i] * sizes[i + 1] + sizes[i + 1]:,}"];'
              for i in range(len(sizes) - 1)]
    lines.append("}")
    return "\n".join(lines), parameter_count(sizes)
