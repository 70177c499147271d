"""See a neural network learn: run with `streamlit run dashboard.py`."""
from ui import shell

shell.run()
