"""Exporters, one per format; `pipeline.py` runs them into a staged `exported/<name>/`."""
