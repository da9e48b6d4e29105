"""ONNX I/O shared by passes, export and quantize: converting a module (`convert`), exact
graph rewrites (`rewrites`) and onnxslim simplification (`simplify`). Imports onnx lazily."""
