"""Precision conversions expressed in the graph: FP16 ONNX, INT8 explicit Q/DQ ONNX, OpenVINO INT8.

Submodules (imported lazily by callers; each pulls in onnx/onnxruntime/openvino only when used):
  fp16           convert_onnx_fp16(src, dst) -> build facts
  int8           quantize_onnx_int8(src, dst, calib, ...) -> build facts
  policy         SE-aware node selection, PyTorch module names <-> ONNX nodes
  calibration    calibration data checks, data reader, range cache
  openvino_int8  build_openvino_int8(src_onnx_fp32, qdq_onnx, dst_xml, calib, ...) -> build facts
  sensitivity    per-block INT8 sensitivity and greedy float fallback
"""
