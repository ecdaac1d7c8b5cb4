"""What an uploaded ONNX file would cost once decoded, read from its protobuf bytes
before anything decodes them.

Protobuf stores a repeated integer field packed, one byte per small value, which the
parser expands to 8 bytes; an empty sub-message takes 2 bytes in the file and a hundred
once parsed. So a 25 MB file can become gigabytes. :func:`scan` walks the wire format
(tag, length, payload) of the parts of ``ModelProto`` the server decodes, counting
entries, attribute values and decoded weight bytes without building any of them, and
stops at the first bound crossed. Field numbers are those of ``onnx/onnx.proto``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MAX_ENTRIES = 200_000  # protobuf fields in the whole file (nodes, names, dims, ...)
MAX_ATTRIBUTE_VALUES = 1 << 16  # values in one node attribute (ints, floats or strings)
MAX_OPAQUE_BYTES = 1 << 20  # bytes of parts the engine never reads (subgraphs, functions)
MAX_WEIGHT_BYTES = 64 << 20  # weights as the engine holds them (float32, int64)

# message -> {field number: kind}; a kind is another message's name, or how the field decodes
_SCHEMA: dict[str, dict[int, str]] = {
    "model": {7: "graph", 8: "leaf", 14: "leaf", 2: "str", 3: "str", 4: "str", 6: "str"},
    "graph": {1: "node", 5: "tensor", 11: "value", 12: "value", 13: "value", 2: "str", 10: "str"},
    "node": {1: "str", 2: "str", 3: "str", 4: "str", 5: "attribute", 6: "str", 7: "str",
             8: "str"},
    "attribute": {1: "str", 2: "scalar", 3: "scalar", 4: "str", 5: "tensor", 7: "float4",
                  8: "varint8", 9: "str", 10: "tensor", 20: "scalar", 13: "str", 21: "str"},
    "tensor": {1: "dims", 2: "scalar", 4: "float4", 5: "varint4", 6: "str", 7: "varint8",
               8: "str", 9: "str", 10: "fixed8", 11: "varint8", 12: "str", 13: "leaf",
               14: "scalar"},
    "value": {1: "str", 2: "type", 3: "str"},
    "type": {1: "tensor_type", 6: "str"},
    "tensor_type": {1: "scalar", 2: "shape"},
    "shape": {1: "leaf"},
}
# bytes per value of each ONNX data type: as the engine holds it (float32 or int64), and
# as stored (what onnxruntime keeps); an unlisted type counts 8
_ENGINE_ITEM = {1: 4, 10: 4, 11: 4, 16: 4}
_STORED_ITEM = {1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 16: 2}
_NOT_ONNX = ("This file is not an ONNX model: its bytes are not a valid ONNX protobuf "
             "(export the model with torch.onnx.export or tf2onnx).")


class ScanError(ValueError):
    """The file would cost more than a bound, or is not protobuf: the message says which."""


@dataclass
class Scan:
    """What the file holds: entries, and the weights' bytes once decoded."""

    entries: int = 0
    opaque: int = 0
    weight_bytes: int = 0  # as the engine holds them (float32 / int64 arrays)
    stored_bytes: int = 0  # as onnxruntime holds them (the file's own data types)


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if i >= len(buf) or shift > 63:
            raise ScanError(_NOT_ONNX)
        byte = buf[i]
        value |= (byte & 0x7F) << shift
        i += 1
        if byte < 0x80:
            return value, i
        shift += 7


def _count_varints(buf: bytes, start: int, end: int) -> int:
    """Values in a packed varint field: each ends with a byte below 0x80."""
    return int(np.count_nonzero(np.frombuffer(buf, np.uint8, end - start, start) < 0x80))


def _fields(buf: bytes, start: int, end: int, scan: Scan):
    """(field number, wire type, value or payload start, payload end) of one message."""
    i = start
    while i < end:
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        scan.entries += 1
        if scan.entries > MAX_ENTRIES:
            raise ScanError(f"The model file holds more than {MAX_ENTRIES:,} entries (nodes, "
                            "names, dimensions...); ConvLab's limit keeps parsing it cheap.")
        if wire == 0:
            value, i = _varint(buf, i)
            yield number, wire, value, i
        elif wire == 2:
            length, i = _varint(buf, i)
            if i + length > end:
                raise ScanError(_NOT_ONNX)
            yield number, wire, i, i + length
            i += length
        elif wire in (1, 5):
            i += 8 if wire == 1 else 4
            yield number, wire, i, i
        else:
            raise ScanError(_NOT_ONNX)
    if i != end:
        raise ScanError(_NOT_ONNX)


def _packed(buf: bytes, a: int, b: int, limit: int, what: str) -> list[int]:
    """The values of a packed varint field, refused past ``limit`` before any is decoded."""
    if _count_varints(buf, a, b) > limit:
        raise ScanError(f"{what} has more than {limit:,} values.")
    out, j = [], a
    while j < b:
        value, j = _varint(buf, j)
        out.append(value)
    return out


def _tensor(buf: bytes, start: int, end: int, scan: Scan) -> None:
    """A TensorProto: its size from dims x data type, and from what its fields hold."""
    dims: list[int] = []
    data_type, held = 1, 0
    for number, wire, a, b in _fields(buf, start, end, scan):
        kind = _SCHEMA["tensor"].get(number)
        if kind == "dims":
            dims += [a] if wire == 0 else _packed(buf, a, b, 8, "A tensor's shape")
            if len(dims) > 8:
                raise ScanError("A tensor in the model has more than 8 dimensions.")
        elif number == 2 and wire == 0:
            data_type = a
        elif wire == 2 and kind in ("varint8", "varint4"):
            held += _count_varints(buf, a, b) * (8 if kind == "varint8" else 4)
        elif wire == 2:
            held += b - a
        else:
            held += 8
    count = math.prod(dims)
    scan.weight_bytes += max(count * _ENGINE_ITEM.get(data_type, 8), held)
    scan.stored_bytes += max(count * _STORED_ITEM.get(data_type, 8), held)
    if scan.weight_bytes > MAX_WEIGHT_BYTES:
        limit = f"{MAX_WEIGHT_BYTES / 1e6:.1f} MB"  # decimal MB, as app.errors.megabytes
        raise ScanError(f"The model's weights would take more than {limit} once decoded (as "
                        f"float32 / int64); ConvLab's limit for uploaded weights is {limit}.")


def _attribute_values(kind: str, wire: int, a: int, b: int, buf: bytes) -> int:
    if wire != 2:
        return 1
    if kind == "float4":
        return (b - a) // 4
    return _count_varints(buf, a, b) if kind == "varint8" else 1


def _message(buf: bytes, start: int, end: int, kind: str, scan: Scan) -> None:
    """Walk one message of ``kind``: descend into the sub-messages the server decodes,
    count the rest (a fixed depth: model, graph, node, attribute, tensor)."""
    values = 0
    for number, wire, a, b in _fields(buf, start, end, scan):
        sub = _SCHEMA[kind].get(number)
        if kind == "attribute" and number in (7, 8, 9):
            values += _attribute_values(sub or "", wire, a, b, buf)
            if values > MAX_ATTRIBUTE_VALUES:
                raise ScanError(f"A node attribute holds more than {MAX_ATTRIBUTE_VALUES:,} "
                                "values; ConvLab's limit for one attribute.")
        elif sub == "tensor" and wire == 2:
            _tensor(buf, a, b, scan)
        elif sub in _SCHEMA and wire == 2:
            _message(buf, a, b, sub, scan)
        elif wire == 2 and sub is None:
            scan.opaque += b - a  # parts the engine never reads: bounded, not walked
            if scan.opaque > MAX_OPAQUE_BYTES:
                raise ScanError(f"The model holds more than {MAX_OPAQUE_BYTES:,} bytes of parts "
                                "ConvLab does not use (subgraphs, functions, metadata).")


def scan(data: bytes) -> Scan:
    """Bound what parsing ``data`` as a ModelProto would cost (:class:`ScanError` if too much)."""
    result = Scan()
    _message(data, 0, len(data), "model", result)
    return result
