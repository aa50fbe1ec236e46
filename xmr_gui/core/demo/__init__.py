"""The demo world: procedurally drawn, labelled scenes (world.py), each thing drawn by its painter (painters.py).

Low in the stack because the int8 check calibrates on the same scenes; `xmr demo` itself (indexing and searching
the world) is `core.demo_run`, at the top.
"""
