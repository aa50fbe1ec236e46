"""What an ONNX export folder holds, shared by the exporter (onnx_export, in a torch subprocess) and the runtime
that serves it (clip_onnx): the format number, and tower weights kept as page-aligned external data.

Weights are written as external data (`NAME.onnx.data`, each tensor at a 64 KiB-aligned offset) so ONNX
Runtime memory-maps them instead of parsing a 250 MB protobuf and copying every tensor: loading the
ViT-B-32 text tower fell from 0.85 s / 532 MB peak to 0.22 s / 215 MB (bench/RESULTS.md).
"""

from __future__ import annotations

from pathlib import Path

# The version of an export folder's layout (a cached export of another version is rebuilt): 2: weights as
# page-aligned external data (externalize); 3: one folder per weights identity (fp32 towers), the int8 image tower
# added beside them once checked (int8.json)
FORMAT = 3
ALIGN = 65536  # mmap granularity on Windows (64 KiB); a multiple of the 4 KiB pages elsewhere


def externalize(path: Path) -> None:
    """Rewrite `path` with its weights (initializers and large Constant nodes) in `path.data`, page aligned."""
    import onnx

    model = onnx.load(str(path))
    graph = model.graph
    kept = []
    for node in graph.node:  # the TorchScript exporter leaves weights as Constant nodes: make them initializers
        attr = node.attribute[0] if node.op_type == "Constant" and len(node.attribute) == 1 else None
        if attr is not None and attr.name == "value" and attr.t.ByteSize() > 4096:
            tensor = onnx.TensorProto()
            tensor.CopyFrom(attr.t)
            tensor.name = node.output[0]
            graph.initializer.append(tensor)
        else:
            kept.append(node)
    del graph.node[:]
    graph.node.extend(kept)
    data = path.with_name(path.name + ".data")
    offset = 0
    with open(data, "wb") as out:
        for tensor in graph.initializer:
            if not tensor.HasField("raw_data") or len(tensor.raw_data) < 4096:
                continue
            raw = tensor.raw_data
            pad = -offset % ALIGN
            out.write(b"\0" * pad)
            out.write(raw)
            offset += pad
            tensor.ClearField("raw_data")
            tensor.data_location = onnx.TensorProto.EXTERNAL
            for key, value in (("location", data.name), ("offset", offset), ("length", len(raw))):
                entry = tensor.external_data.add()
                entry.key, entry.value = key, str(value)
            offset += len(raw)
    onnx.save(model, str(path))
