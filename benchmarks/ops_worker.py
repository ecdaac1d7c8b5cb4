"""One runtime, one case, in its own process: ``python -m benchmarks.ops_worker RUNTIME CASE``.

RUNTIME is ``engine`` or ``ort``; the result is one JSON line on stdout. Each runtime
runs in its own process: sharing one between onnxruntime and a multi-threaded BLAS
distorted timings by 2x on this machine.
"""

from __future__ import annotations

import json
import sys

import numpy as np

from benchmarks.common import ROOT, time_call

# name -> (x shape, kind, params)
CASES = {
    "conv-1x1x28x28-6@5x5": ((1, 1, 28, 28), "conv", {"k": 6, "f": 5, "pad": 0}),
    "conv-1x3x32x32-64@3x3": ((1, 3, 32, 32), "conv", {"k": 64, "f": 3, "pad": 1}),
    "conv-1x64x32x32-64@3x3": ((1, 64, 32, 32), "conv", {"k": 64, "f": 3, "pad": 1}),
    "conv-64x1x28x28-6@5x5": ((64, 1, 28, 28), "conv", {"k": 6, "f": 5, "pad": 0}),
    "conv-64x3x32x32-64@3x3": ((64, 3, 32, 32), "conv", {"k": 64, "f": 3, "pad": 1}),
    "conv-64x64x32x32-64@3x3": ((64, 64, 32, 32), "conv", {"k": 64, "f": 3, "pad": 1}),
    "maxpool-1x64x32x32-2x2": ((1, 64, 32, 32), "maxpool", {}),
    "maxpool-64x64x32x32-2x2": ((64, 64, 32, 32), "maxpool", {}),
}


def _onnx_single(kind: str, xshape, p, w):
    from onnx import TensorProto, helper, numpy_helper

    if kind == "conv":
        node = helper.make_node("Conv", ["x", "w"], ["y"], pads=[p["pad"]] * 4, kernel_shape=[p["f"], p["f"]])
        inits = [numpy_helper.from_array(w, "w")]
    else:
        node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2])
        inits = []
    g = helper.make_graph(
        [node], "bench", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(xshape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits,
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m.SerializeToString()


def ort_session(data: bytes, threads: int):
    import onnxruntime as ort

    o = ort.SessionOptions()
    o.intra_op_num_threads = threads
    o.inter_op_num_threads = 1
    return ort.InferenceSession(data, sess_options=o, providers=["CPUExecutionProvider"])


def op_case(runtime: str, name: str, threads: int) -> dict:
    xshape, kind, p = CASES[name]
    rng = np.random.default_rng(0)
    x = rng.standard_normal(xshape).astype(np.float32)
    w = None
    if kind == "conv":
        w = rng.standard_normal((p["k"], xshape[1], p["f"], p["f"])).astype(np.float32)
    if runtime == "ort":
        sess = ort_session(_onnx_single(kind, xshape, p, w), threads)
        return time_call(lambda: sess.run(None, {"x": x}))
    import engine

    if kind == "conv":
        pads = (p["pad"],) * 4
        return time_call(lambda: engine.conv2d_forward(x, w, None, pads=pads))
    return time_call(lambda: engine.maxpool2d_forward(x, kernel_shape=(2, 2), strides=(2, 2)))


def model_case(runtime: str, name: str, threads: int) -> dict:
    card = json.loads((ROOT / "models" / f"{name}.json").read_text())
    data = (ROOT / "models" / f"{name}.onnx").read_bytes()
    x = np.random.default_rng(0).standard_normal(card["input"]["shape"]).astype(np.float32)
    if runtime == "ort":
        sess = ort_session(data, threads)
        feed = {sess.get_inputs()[0].name: x}
        return time_call(lambda: sess.run(None, feed))
    from engine.graph import load_graph, run

    graph = load_graph(data)
    return time_call(lambda: run(graph, x))


def main(argv: list[str]) -> None:
    runtime, kind, name = argv[0], argv[1], argv[2]
    threads = int(argv[3]) if len(argv) > 3 else 1
    fn = op_case if kind == "op" else model_case
    print(json.dumps({"runtime": runtime, "case": name, "threads": threads, **fn(runtime, name, threads)}))


if __name__ == "__main__":
    main(sys.argv[1:])
