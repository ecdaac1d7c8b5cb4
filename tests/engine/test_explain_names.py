"""Layer names as a course says them, and which input maps each output map reads.

Oracle for ``layer_reads``: perturb one channel of a layer's input and watch which output
maps change (the graph runner on the real graph), compared with what the reads say.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.explain.names import layer_names, layer_reads
from engine.graph import Graph, ValueInfo, load_graph, run
from engine.graph.analysis import Shapes, Structure
from tests.app.netkit import Builder, cifar_like, lenet5


def titles(data: bytes) -> list[tuple[str, str | None]]:
    g = load_graph(data)
    st = Structure(g)
    names = layer_names(g, st)
    return [(names[n.name].title, names[n.name].branch) for n in g.nodes if not st.is_chain_step(n)]


def test_lenet_reads_conv1_relu1_pool1_to_fc3_softmax():
    assert [t for t, _ in titles(lenet5())] == [
        "conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "flatten",
        "fc1", "relu3", "fc2", "relu4", "fc3", "softmax"]


def test_gelu_chains_are_one_layer_and_the_flip_is_a_named_second_branch():
    data = cifar_like(widths=(8, 16, 16), residual=True)
    g = load_graph(data)
    st = Structure(g)
    names = layer_names(g, st)
    got = titles(data)
    main = [t for t, b in got if b is None]
    mirror = [t for t, b in got if b == "mirror"]
    assert mirror[0] == "mirror"
    # the second branch is the same network, named the same way
    assert mirror[1:] == main[:len(mirror) - 1]
    assert main[-3:] == ["sum of both views", "average", "softmax"]
    assert "skip add 1" in main and "gelu1" in main and not any(t.startswith(("mul", "erf")) for t in main)
    for node in g.nodes:  # inner GELU steps carry their layer's name
        if st.is_chain_step(node):
            assert names[node.name].title == names[st.chain_end(node).name].title
    # the mirrored convs share the main branch's weights, and its names
    by_weight: dict[str, set[str]] = {}
    for node in g.nodes:
        if node.op_type == "Conv":
            by_weight.setdefault(node.inputs[1], set()).add(names[node.name].title)
    assert all(len(t) == 1 for t in by_weight.values())


def grouped_and_concat() -> bytes:
    b = Builder(seed=5)
    a = b.conv("input", 2, 6, 3, 1, group=2)      # maps 0-2 read inputs 0-1, maps 3-5 inputs 2-3
    r = b.node("Relu", [a], "relu")
    c = b.conv(r, 6, 4, 1, 0)                     # every map reads all 6
    d = b.node("Concat", [r, c], "cat", axis=1)   # maps 0-5 from relu, 6-9 from the conv
    p = b.node("MaxPool", [d], "pool", kernel_shape=[2, 2], strides=[2, 2])
    f = b.node("Flatten", [p], "flat")
    w = b.const(np.random.default_rng(0).normal(size=(10 * 4 * 4, 3)), "fcw")
    out = b.node("MatMul", [f, w], "fc")
    return b.model("input", out, [1, 4, 8, 8], 3)


@pytest.mark.parametrize("seed", [0, 1])
def test_reads_match_which_output_maps_a_perturbed_input_channel_moves(seed):
    g = load_graph(grouped_and_concat())
    st = Structure(g)
    x = np.random.default_rng(seed).normal(size=(1, 4, 8, 8)).astype(np.float32) + 0.5
    values = run(g, x)
    shapes = Shapes(g, values)
    for node in g.nodes:
        out = values[node.outputs[0]]
        if out.ndim != 4:
            continue
        reads = layer_reads(st, node, shapes, out.shape[1])
        assert len(reads) == len(st.data_inputs(node))
        for r, t in zip(reads, st.data_inputs(node), strict=True):
            assert r["from"] == st.source(t)
            src = values[t]
            for k in range(src.shape[1]):
                bumped = dict(values)
                nudged = src.copy()
                nudged[:, k] += 3.0
                bumped[t] = nudged
                moved = _rerun(g, node, bumped)
                changed = {c for c in range(out.shape[1]) if not np.allclose(moved[:, c], out[:, c])}
                want = _reads_set(r["channels"], k, out.shape[1])
                assert changed <= want, (node.name, k, changed, want)
                if node.op_type != "MaxPool":  # a max may ignore a raised non-winner
                    assert changed == want, (node.name, k, changed, want)


def _reads_set(channels, k: int, n_out: int) -> set[int]:
    if channels == "all":
        return set(range(n_out))
    if channels == "same":
        return {k}
    return {c for c, rng in enumerate(channels["per_map"]) if rng and rng[0] <= k <= rng[1]}


def _rerun(g: Graph, node, values) -> np.ndarray:
    """``node`` alone, on the given input tensors (the graph runner's own op)."""
    feeds = {t: values[t] for t in node.inputs if t and t not in g.initializers}
    sub = Graph(inputs=[ValueInfo(t, None, "float32") for t in feeds],
                outputs=[ValueInfo(node.outputs[0], None, "float32")],
                nodes=[node], initializers=g.initializers, opset=g.opset)
    return run(sub, feeds)[node.outputs[0]]
