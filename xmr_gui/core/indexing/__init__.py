"""Bringing a library up to date with its folder: scan, decode in threads, encode in batches, commit."""
