#!/usr/bin/python3
"""ONNX's own checker on model files written by convlens' exporter (OnnxExporterTest).

Run: /usr/bin/python3 check_onnx.py FILE.onnx...
For each file: onnx.checker.check_model with full_check (which adds strict shape inference), then
one line "ok FILE opset N nodes M initializers K". Exits non-zero at the first file that fails,
with ONNX's message.
"""
import sys

import onnx

for path in sys.argv[1:]:
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    print('ok', path, 'opset', m.opset_import[0].version, 'ir', m.ir_version, 'nodes', len(m.graph.node),
          'initializers', len(m.graph.initializer))
