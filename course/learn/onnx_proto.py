"""Just enough of the ONNX protobuf wire format to write a model, in the standard library.

``course`` imports only the engine and NumPy (tests/engine/test_import_purity.py), so
the export does not use the ``onnx`` package: these few message writers emit the
fields of ``onnx.proto`` (ModelProto, GraphProto, NodeProto, AttributeProto,
TensorProto, ValueInfoProto) that a feed-forward float32 model needs. The tests check
the result with ``onnx.checker`` and run it in onnxruntime.

Wire format: each field is a key ``(number << 3) | wire_type`` as a varint, then a
varint (type 0), 4 little-endian bytes (type 5, float) or a length-prefixed payload
(type 2: strings, bytes, nested messages).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np

__all__ = ["attribute", "graph", "model", "node", "tensor", "value_info"]

FLOAT = 1  # TensorProto.DataType.FLOAT / TypeProto elem_type
_ATTR_FLOAT, _ATTR_INT, _ATTR_STRING, _ATTR_INTS = 1, 2, 3, 7  # AttributeProto.AttributeType


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # int64 negatives as ten-byte two's complement
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _int(field: int, value: int) -> bytes:
    return _varint(field << 3) + _varint(value)


def _bytes(field: int, payload: bytes | str) -> bytes:
    data = payload.encode() if isinstance(payload, str) else payload
    return _varint(field << 3 | 2) + _varint(len(data)) + data


def _float(field: int, value: float) -> bytes:
    return _varint(field << 3 | 5) + struct.pack("<f", value)


def attribute(name: str, value: int | float | str | Sequence[int]) -> bytes:
    """An ``AttributeProto``: int, float, string or list of ints."""
    out = _bytes(1, name)
    if isinstance(value, bool | int):
        return out + _int(3, int(value)) + _int(20, _ATTR_INT)
    if isinstance(value, float):
        return out + _float(2, value) + _int(20, _ATTR_FLOAT)
    if isinstance(value, str):
        return out + _bytes(4, value) + _int(20, _ATTR_STRING)
    return out + b"".join(_int(8, int(v)) for v in value) + _int(20, _ATTR_INTS)


def node(op_type: str, inputs: Sequence[str], outputs: Sequence[str], name: str,
         **attrs: int | float | str | Sequence[int]) -> bytes:
    """A ``NodeProto`` of the default domain."""
    return (b"".join(_bytes(1, i) for i in inputs) + b"".join(_bytes(2, o) for o in outputs)
            + _bytes(3, name) + _bytes(4, op_type)
            + b"".join(_bytes(5, attribute(k, v)) for k, v in attrs.items()))


def tensor(name: str, array: np.ndarray) -> bytes:
    """A float32 ``TensorProto`` (dims, data type, name, little-endian raw data)."""
    a = np.ascontiguousarray(array, dtype="<f4")
    return (b"".join(_int(1, d) for d in a.shape) + _int(2, FLOAT) + _bytes(8, name)
            + _bytes(9, a.tobytes()))


def value_info(name: str, shape: Sequence[int | str]) -> bytes:
    """A float32 tensor's ``ValueInfoProto``; a str dimension is symbolic (``"N"``)."""
    dims = b"".join(
        _bytes(1, _bytes(2, d) if isinstance(d, str) else _int(1, d)) for d in shape)
    tensor_type = _int(1, FLOAT) + _bytes(2, dims)
    return _bytes(1, name) + _bytes(2, _bytes(1, tensor_type))


def graph(name: str, nodes: Sequence[bytes], initializers: Sequence[bytes],
          inputs: Sequence[bytes], outputs: Sequence[bytes]) -> bytes:
    """A ``GraphProto`` from encoded nodes, initialisers and inputs/outputs."""
    return (b"".join(_bytes(1, n) for n in nodes) + _bytes(2, name)
            + b"".join(_bytes(5, t) for t in initializers)
            + b"".join(_bytes(11, v) for v in inputs) + b"".join(_bytes(12, v) for v in outputs))


def model(graph_bytes: bytes, *, opset: int, ir_version: int, producer: str,
          doc: str = "", metadata: dict[str, str] | None = None) -> bytes:
    """A ``ModelProto``: IR version, producer, the default-domain opset, graph, metadata."""
    meta = b"".join(_bytes(14, _bytes(1, k) + _bytes(2, v)) for k, v in (metadata or {}).items())
    return (_int(1, ir_version) + _bytes(2, producer) + (_bytes(6, doc) if doc else b"")
            + _bytes(7, graph_bytes) + _bytes(8, _bytes(1, "") + _int(2, opset)) + meta)
