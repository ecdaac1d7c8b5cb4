"""ONNX export with checks: BN fold verified, allowed ops only, onnxruntime agrees with torch.

``export_onnx`` writes ``<name>.onnx`` (opset 17, input ``input`` (N, C, H, W), output
``probabilities`` (N, 10), dynamic batch) through the TorchScript exporter
(``dynamo=False``), so the graph is plain ops the NumPy engine can run one by one.
``export_and_card`` adds the model card and fills its metrics with ``evaluate``.
"""

from __future__ import annotations

import copy
import io
import os
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn

from training.models import (
    FlipTTA,
    HFlip,
    Scale,
    architecture_options,
    build_model,
    fold_batchnorm,
    for_export,
)
from training.specs import get_spec

OPSET = 17
INPUT_NAME, OUTPUT_NAME = "input", "probabilities"
ALLOWED_OPS = frozenset({
    "Conv", "Relu", "Gelu", "Erf", "MaxPool", "AveragePool", "GlobalAveragePool", "Add", "Mul",
    "Gemm", "MatMul", "Flatten", "Reshape", "Concat", "Softmax",
})
FOLD_TOL, ORT_TOL = 1e-5, 1e-4


class ExportError(RuntimeError):
    """The exported graph is not what the app can serve (message says why)."""


def check_fold(model: nn.Module, shape: tuple[int, int, int], n: int = 8, seed: int = 0) -> float:
    """Max |logits(model) - logits(fold_batchnorm(model))| in float64 on random inputs."""
    ref = copy.deepcopy(model).eval().double()
    folded = fold_batchnorm(model).double()
    x = torch.randn((n, *shape), generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    with torch.no_grad():
        diff = float((ref(x) - folded(x)).abs().max())
    if not diff <= FOLD_TOL:
        raise ExportError(f"batch-norm fold changed the logits by {diff:.3g} (> {FOLD_TOL})")
    return diff


def constants_to_initializers(model: onnx.ModelProto) -> onnx.ModelProto:
    """Move every ``Constant`` node's tensor into the graph initializers (same name)."""
    graph = model.graph
    keep = []
    for node in graph.node:
        if node.op_type == "Constant":
            attr = {a.name: a for a in node.attribute}
            if "value" not in attr:
                raise ExportError(f"Constant node {node.name} without a tensor value")
            tensor = onnx.TensorProto()
            tensor.CopyFrom(attr["value"].t)
            tensor.name = node.output[0]
            graph.initializer.append(tensor)
        else:
            keep.append(node)
    del graph.node[:]
    graph.node.extend(keep)
    return model


def remove_identities(model: onnx.ModelProto) -> onnx.ModelProto:
    """Bypass ``Identity`` nodes (the exporter adds them for deduplicated initializers)."""
    graph = model.graph
    outputs = {o.name for o in graph.output}
    rename, keep = {}, []
    for node in graph.node:
        if node.op_type == "Identity" and node.output[0] not in outputs:
            src = node.input[0]
            rename[node.output[0]] = rename.get(src, src)
        else:
            keep.append(node)
    for node in keep:
        for i, name in enumerate(node.input):
            if name in rename:
                node.input[i] = rename[name]
    del graph.node[:]
    graph.node.extend(keep)
    return model


def check_ops(model: onnx.ModelProto) -> list[str]:
    ops = sorted({n.op_type for n in model.graph.node})
    bad = [op for op in ops if op not in ALLOWED_OPS]
    if bad:
        raise ExportError(f"exported graph uses ops outside the engine's set: {bad}")
    return ops


def _torch_export(module: nn.Module, shape: tuple[int, int, int]) -> onnx.ModelProto:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy-exporter deprecation notice
        torch.onnx.export(module, (torch.zeros((1, *shape)),), buf, dynamo=False,
                          opset_version=OPSET, input_names=[INPUT_NAME],
                          output_names=[OUTPUT_NAME], do_constant_folding=True,
                          dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}})
    return onnx.load_from_string(buf.getvalue())


def export_onnx(name: str, model: nn.Module, path: str | os.PathLike,
                samples: np.ndarray | None = None) -> dict:
    """Fold, export, check and save; ``samples`` are extra preprocessed float32 NCHW inputs."""
    import onnxruntime as ort

    shape = get_spec(name).shape
    model = copy.deepcopy(model).cpu().float().eval().to(memory_format=torch.contiguous_format)
    fold_diff = check_fold(model, shape)
    module = for_export(name, model)
    proto = remove_identities(constants_to_initializers(_torch_export(module, shape)))
    proto.producer_name, proto.doc_string = "convlab-training", get_spec(name).title
    ops = check_ops(proto)
    onnx.checker.check_model(proto, full_check=True)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, path)

    x = torch.randn((8, *shape), generator=torch.Generator().manual_seed(1))
    if samples is not None and len(samples):
        x = torch.cat([x, torch.from_numpy(np.asarray(samples[:64], np.float32))])
    with torch.no_grad():
        expected = module(x).numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run([OUTPUT_NAME], {INPUT_NAME: x.numpy()})[0]
    ort_diff = float(np.abs(got - expected).max())
    if got.shape != (len(x), 10) or not ort_diff <= ORT_TOL:
        raise ExportError(f"onnxruntime output {got.shape} differs from torch by {ort_diff:.3g}")
    if not np.allclose(got.sum(1), 1.0, atol=1e-5):
        raise ExportError("exported outputs are not probabilities (rows do not sum to 1)")
    return {"ops": ops, "fold_max_abs_diff": fold_diff, "onnxruntime_max_abs_diff": ort_diff,
            "nodes": len(proto.graph.node),
            "initializers": {t.name: list(t.dims) for t in proto.graph.initializer},
            "parameters_graph": int(sum(numpy_helper.to_array(t).size
                                        for t in proto.graph.initializer if len(t.dims) > 0))}


# -------------------------------------------------------------------- architecture

def _describe(m: nn.Module) -> tuple[str, str]:
    """(ONNX op(s), human description) of a leaf module."""
    if isinstance(m, nn.Conv2d):
        k, s, p = m.kernel_size, m.stride[0], m.padding[0]
        return "Conv", f"conv {k[0]}x{k[1]}, {m.out_channels} filters, stride {s}, pad {p}"
    if isinstance(m, nn.Linear):
        return ("Gemm" if m.bias is not None else "MatMul"), f"dense {m.out_features}"
    if isinstance(m, nn.MaxPool2d):
        return "MaxPool", f"max pool {m.kernel_size}x{m.kernel_size}, stride {m.stride}"
    if isinstance(m, nn.AdaptiveAvgPool2d):
        return "GlobalAveragePool", "global average pool"
    if isinstance(m, HFlip):
        w = m.matrix.shape[0]
        return "MatMul", f"mirror: x @ J, J the {w}x{w} anti-identity"
    name = type(m).__name__
    ops = {"ReLU": "Relu", "GELU": "Mul, Erf, Add, Mul", "Flatten": "Flatten",
           "Softmax": "Softmax", "Scale": "Mul"}
    return ops.get(name, name), name.lower()


def summarize(name: str, module: nn.Module) -> dict:
    """Layer list (output shape for one image, parameters, multiply-adds) of ``module``.

    A layer run twice (the two flip-TTA passes of ``cifar10-net``) is listed once with
    ``calls: 2``; ``multiply_adds`` totals every call, i.e. the real cost of the graph.
    """
    shape = get_spec(name).shape
    rows: dict[int, dict] = {}
    hooks = []

    def hook(mod, inputs, output):
        row = rows[id(mod)]
        row["calls"] += 1
        row["output_shape"] = list(output.shape)
        if isinstance(mod, nn.Conv2d):
            k = mod.kernel_size[0] * mod.kernel_size[1] * mod.in_channels // mod.groups
            row["multiply_adds"] = output.numel() * k
        elif isinstance(mod, nn.Linear):
            row["multiply_adds"] = output.numel() * mod.in_features
        elif isinstance(mod, HFlip):
            row["multiply_adds"] = output.numel() * mod.matrix.shape[0]

    for qual, mod in module.named_modules():
        if list(mod.children()) or isinstance(mod, nn.Identity | nn.Dropout | Scale | FlipTTA):
            continue
        op, text = _describe(mod)
        for prefix in ("0.", "net."):  # the wrappers' names say nothing
            qual = qual.removeprefix(prefix)
        if isinstance(mod, nn.Softmax):
            qual = "softmax"
        rows[id(mod)] = {"name": qual, "op": op, "description": text, "output_shape": None,
                         "params": sum(p.numel() for p in mod.parameters(recurse=False)),
                         "multiply_adds": 0, "calls": 0}
        hooks.append(mod.register_forward_hook(hook))
    with torch.no_grad():
        module.eval()(torch.zeros((1, *shape)))
    for h in hooks:
        h.remove()
    layers = [r for r in rows.values() if r["calls"]]
    return {"layers": layers,
            "parameters": sum(p.numel() for p in module.parameters()),
            "multiply_adds": sum(r["multiply_adds"] * r["calls"] for r in layers)}


# ----------------------------------------------------------------- export + card

def export_and_card(name: str, model: nn.Module, meta: dict, out_dir: str | os.PathLike,
                    data_dir: str | None = None, evaluate_val: bool = True) -> Path:
    """Write ``<out>/<name>.onnx`` and ``<out>/<name>.json``; fill metrics from ``evaluate``."""
    from training import cards
    from training.evaluate import evaluate, preprocess

    out = Path(out_dir)
    spec = get_spec(name)
    samples = None
    if evaluate_val:
        from training.data import load_split
        val = load_split(spec.dataset, "val", data_dir, fmt=meta["dataset"]["format"], limit=64)
        samples = preprocess(val.images, spec.mean, spec.std)
    onnx_path = out / f"{name}.onnx"
    info = export_onnx(name, model, onnx_path, samples)
    summary = summarize(name, for_export(name, model.cpu().float()))
    card = cards.build_card(spec, meta, info, summary, onnx_path)
    card_path = cards.write_card(card, out / f"{name}.json")
    print(f"{name}: wrote {onnx_path} ({', '.join(info['ops'])}) and {card_path}", flush=True)
    if evaluate_val:
        result = evaluate(name, models_dir=out, data_dir=data_dir, split="val")
        cards.update_metrics(card_path, result)
        print(f"{name}: validation accuracy (onnxruntime) {100 * result['accuracy']:.2f}% "
              f"written to {card_path}", flush=True)
    return card_path


def model_from_checkpoint(name: str | None, path: str | os.PathLike) -> tuple[str, nn.Module, dict]:
    from training.train import load_checkpoint

    ck_name, state, meta = load_checkpoint(path)
    if name is not None and name != ck_name:
        raise ValueError(f"{path} holds a {ck_name!r} checkpoint, not {name!r}")
    model = build_model(ck_name, **architecture_options(ck_name, meta.get("hyperparameters")))
    model.load_state_dict(state)
    return ck_name, model.eval(), meta
