"""Runnable relying parties that sign people in through Portvakt (STYLE.md §4)."""
