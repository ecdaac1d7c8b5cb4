"""course.learn export: ONNX models that onnx accepts and onnxruntime runs to the engine's
predictions, and PyTorch / Keras scripts with the engine's parameters."""

from __future__ import annotations

import json

import numpy as np
import pytest

import course.learn as learn
from course.learn import Config, new_run, steps
from course.learn.codegen import code
from course.learn.export import to_onnx
from course.learn.train import normalise
from tests.course.test_learn import fake_data

VARIANTS = [
    {"recipe": "keras-mlp", "batchnorm": True, "activation": "gelu"},
    {"recipe": "convnetjs", "residual": True, "activation": "swish"},
    {"recipe": "lenet5", "batchnorm": True, "residual": True, "dropout": 0.3},
    {"recipe": "lenet5", "activation": "leaky_relu"},
    {"recipe": "cifar-cnn", "batchnorm": True, "activation": "tanh"},
    {"recipe": "cifar-cnn", "activation": "sigmoid", "residual": True},
]


def trained(options):
    cfg = Config.make(batch_size=16, **options)
    data = fake_data(cfg.dataset, n_train=64, n_val=20)
    state = new_run(cfg, len(data.train_y))
    steps(state, data, 3, time_budget_s=60)  # batch-norm running stats move off 0 / 1
    return state, data


@pytest.mark.parametrize("options", VARIANTS, ids=lambda o: "-".join(map(str, o.values())))
def test_onnx_export_runs_in_onnxruntime_and_matches_the_engine(options):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    state, data = trained(options)
    blob = to_onnx(state)
    model = onnx.load_from_string(blob)
    onnx.checker.check_model(model, full_check=True)
    assert [o.version for o in model.opset_import] == [17]
    meta = {p.key: p.value for p in model.metadata_props}
    assert json.loads(meta["preprocessing"])["mean"] == list(learn.DATASETS[state.config.dataset].mean)
    sess = ort.InferenceSession(blob, providers=["CPUExecutionProvider"])
    (inp,) = sess.get_inputs()
    assert inp.name == "input" and inp.shape[1:] == list(learn.DATASETS[state.config.dataset].shape)
    got = sess.run(None, {"input": normalise(data.val_x, state.config.dataset)})[0]
    expected = learn.predict(state, data.val_x)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(got.argmax(1), expected.argmax(1))


def test_the_engine_graph_runner_loads_the_export():
    state, data = trained({"recipe": "lenet5", "batchnorm": True})
    from engine import load_graph, run

    graph = load_graph(to_onnx(state))
    outputs = run(graph, normalise(data.val_x[:4], "mnist"))
    probs = outputs["probabilities"] if isinstance(outputs, dict) else outputs
    np.testing.assert_allclose(np.asarray(probs), learn.predict(state, data.val_x[:4]),
                               rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("options", VARIANTS, ids=lambda o: "-".join(map(str, o.values())))
@pytest.mark.parametrize("framework", ["pytorch", "keras"])
def test_code_compiles(options, framework):
    source = code(Config.make(**options, l2=1e-4, augment="shift+flip",
                              optimizer="momentum"), framework)
    compile(source, f"{framework}.py", "exec")
    assert "# --- model ---" in source and "# --- end model ---" in source


@pytest.mark.parametrize("options", VARIANTS, ids=lambda o: "-".join(map(str, o.values())))
def test_pytorch_model_has_the_engines_parameters(options):
    pytest.importorskip("torch")
    cfg = Config.make(**options)
    namespace: dict = {}
    exec(code(cfg, "pytorch").split("# --- end model ---")[0], namespace)
    model = namespace["build_model"]()
    shapes = {k: tuple(v.shape) for k, v in model.named_parameters()}
    params, _ = learn.network.init_params(cfg)
    assert shapes == {k: v.shape for k, v in params.items()}
    assert sum(p.numel() for p in model.parameters()) == learn.param_count(cfg)


def test_code_refuses_an_unknown_framework():
    with pytest.raises(ValueError, match="framework"):
        code(Config.make(), "jax")
