"""Running a model: the spec and encoder interface (spec), the factory that picks a runtime (factory), open_clip
on torch (clip_torch) or on ONNX Runtime (clip_onnx, onnx_export, int8), preparing a model before use (prepare),
and the inputs they take (images, tokenizer).

Heavy libraries (torch, open_clip, onnxruntime) are imported inside the functions that use them.
"""
