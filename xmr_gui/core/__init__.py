"""The Qt-free core, one subpackage per capability, each importing only the ones below it (docs/architecture.md):

    session | doctor | demo_run     app-level services the CLI and the window call
    opening                         the one front door: a typed request -> an opened library
    views | models                  embedding map, label-graph layout; which model a folder gets
    indexing | search               keep a library current; query it
    store                           catalog, vector index, library, exchange
    learn                           datasets, label graph, heads, losses, training, checkpoints
    runtime                         model spec, encoders (torch / ONNX Runtime), int8, images, tokenizer
    demo                            the drawn demo world
    base                            paths, defaults, atomic files

import-linter checks the order (pyproject.toml). Nothing here imports Qt; heavy libraries (torch, open_clip,
umap) are imported inside the functions that need them, so importing the core is cheap.
"""
