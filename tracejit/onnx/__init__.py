"""ONNX interchange: ``export`` traced functions and modules, ``load`` ONNX models as modules.

    tracejit.onnx.export(model, (x,), "m.onnx", dynamic_axes={"input": {0: "batch"}})
    m = tracejit.onnx.load("m.onnx")          # an nn.Module run by tracejit.jit
    logits, = m(x)                             # tensors or numpy arrays in, a list out

Export traces with the JIT's tracer (twice with dynamic axes, to tell sizes that follow an
axis from fixed ones) and writes a model that passes ``onnx.checker`` (full check);
parameters and buffers become initializers under their ``named_parameters()`` names.
Recurrent layers export as ONNX RNN/LSTM/GRU nodes, one per layer. Load interprets the
graph with tracejit ops under the JIT; its float initializers are Parameters, so a loaded
model can be fine-tuned and exported again.

Needs the optional ``onnx`` package (``pip install 'tracejit[onnx]'``, which also brings
``onnxruntime`` for the tests); importing this package does not, the functions do.
"""
from ._common import OnnxExportError, OnnxLoadError
from .export import export
from .load import OnnxModule, load

__all__ = ["export", "load", "OnnxModule", "OnnxExportError", "OnnxLoadError"]
