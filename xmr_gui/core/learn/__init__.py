"""Learning a shared space on a label graph: datasets and their features, the label graph, L2-GCN heads and
losses, training recipes, evaluation, and .xmr checkpoints with the numpy heads that serve them.

torch is imported by model, losses, train and recipes only: checkpoint, heads, space and label_graph run
without it (the packaged app has no torch).
"""
