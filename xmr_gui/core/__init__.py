"""The Qt-free core: encoding, catalog + index, search, model, training, evaluation, graphs, projection.

Nothing here imports Qt; heavy libraries (torch, open_clip, umap) are imported inside the functions that
need them, so importing the core is cheap.
"""
