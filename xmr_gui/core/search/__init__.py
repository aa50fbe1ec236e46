"""Queries over a library: text or photo → photos (photos), photo → labels (labels)."""
