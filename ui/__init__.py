"""Helpers for the dashboard pages: state, training jobs, model files, charts, widgets."""
