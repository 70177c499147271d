import streamlit as st

from ui.shell import page_frame

page_frame()

from ui import training_view  # noqa: E402
from ui.train_form import architecture_diagram, settings_form  # noqa: E402
from ui.session import session  # noqa: E402

data = session()
st.title("Build & Train")

settings_column, diagram_column = st.columns([5, 3], gap="large")
with settings_column:
    settings = settings_form()
with diagram_column:
    dot, n_parameters = architecture_diagram(settings)
    st.graphviz_chart(dot)
    st.metric("Parameters", f"{n_parameters:,}")
    st.caption(settings.summary())
    training_view.buttons(data, settings)
    training_view.live_progress(data)

training_view.compare_runs(data)
