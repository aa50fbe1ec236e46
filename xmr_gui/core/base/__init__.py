"""The bottom layer: where files go (paths), measured defaults, and writing files atomically (files).

Imports nothing else of xmr; every other core package may import it.
"""
