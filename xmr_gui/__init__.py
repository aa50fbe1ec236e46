"""xmr: cross-modal (image <-> text) photo search on a learned label graph."""

__version__ = "0.1.0"
