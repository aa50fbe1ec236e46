"""Defaults chosen by measurement (bench/RESULTS.md), shared by the CLI, the window and the core."""

# Images per forward pass when indexing. `python bench/vs_rclip.py --skip-peer --sweep 8,16,32,64` (500 camera
# JPEGs, ViT-B-32-256 int8 on ONNX Runtime, 2 cores): 16 was fastest (32.7 img/s vs 29.7 at 32, 25.7 at 8) with
# a lower peak RSS (280 MB vs 379 MB at 32): decoding threads and the model overlap at a finer grain.
BATCH_SIZE = 16

# A suggested label counts from this classifier probability (`xmr suggest --min-score`, the describe panel's check
# boxes): where the label's sigmoid says "more likely than not".
SUGGEST_MIN_SCORE = 0.5
# How a checkpoint's calibrated thresholds decide (`xmr suggest --thresholds`): "per-label", each label's own pulled
# toward one for every label by how few photos the label has (learn/calibrate.py), the default for a checkpoint that
# has them (bench/RESULTS.md, "Suggestion thresholds on eight splits": as precise as one for every label, recall
# +0.13, F1 +0.10 pooled over 8 splits), or "global", that one for every label.
SUGGEST_THRESHOLDS = ("per-label", "global")

# Near-duplicates (`xmr duplicates`, search/duplicates.py): two photos are candidates from this vector cosine, and
# the same picture when their small colour thumbnails correlate at DUPLICATE_MIN_CORRELATION or more. Measured on
# planted copies among real photos: `python bench/duplicates.py` (bench/RESULTS.md, "Near-duplicates").
DUPLICATE_THRESHOLD = 0.85
DUPLICATE_MIN_CORRELATION = 0.97
