"""``python -m training.sweep``: job strings, and a real two-job sweep on synthetic data."""

from __future__ import annotations

import json

import numpy as np
import pytest

from training.hyperparams import AIRBENCH
from training.sweep import main, parse_job


def test_a_job_string_names_epochs_seed_widths_arch_and_overrides():
    job = parse_job("e40 s1 arch=res3 widths=128/512/512 lr=9 cutout=12")
    assert job["epochs"] == 40 and job["seed"] == 1 and job["arch"] == "res3"
    assert job["widths"] == [128, 512, 512]
    assert job["overrides"] == {"residual": 1, "lr": 9.0, "cutout": 12}
    plain = parse_job("e28")
    assert (plain["seed"], plain["widths"], plain["overrides"]) == (0, None, {})
    assert plain["arch"] == ("res3" if AIRBENCH["residual"] else "airbench94")
    assert parse_job("e28 arch=airbench94")["overrides"] == {"residual": 0}
    assert parse_job("e28 residual=0")["arch"] == "airbench94"


@pytest.mark.parametrize("text, message", [
    ("e28 fast", "cannot read 'fast'"),
    ("e0", "epochs must be 1..1000"),
    ("e28 widths=64/256", "expected widths=A/B/C"),
    ("e28 widths=64/0/256", "expected widths=A/B/C"),
    ("e28 arch=resnet50", "arch is one of"),
    ("e28 bogus=1", "KEY one of"),
    ("e28 cutout=40", "outside 0..32"),
])
def test_a_bad_job_string_is_refused_with_the_reason(text, message):
    with pytest.raises(ValueError, match=message):
        parse_job(text)


def test_bad_jobs_stop_the_sweep_before_anything_runs(tmp_path, capsys):
    assert main(["--out", str(tmp_path / "out"), "e1", "e1 lr=-1"]) == 2
    assert "outside" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_missing_data_folder_is_a_clear_error_before_anything_runs(tmp_path, capsys):
    assert main(["--data-dir", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out"),
                 "e1"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_sweep_trains_each_job_and_writes_results_summary_and_one_log(tmp_path, cache):
    torch = pytest.importorskip("torch")
    from tests.datasets.kit import write_cifar_zip
    from training.models import cifar10_net

    res3_net = lambda widths: cifar10_net(widths, residual=True)  # noqa: E731
    assert res3_net((8, 16, 16))(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    (tmp_path / "data").mkdir()
    write_cifar_zip(tmp_path / "data")
    out = tmp_path / "out"
    jobs = ["e1 s0 widths=16/32/32 arch=airbench94", "e2 s1 arch=res3 widths=8/16/16 lr=5"]
    rc = main(["--data-dir", str(tmp_path / "data"), "--workers", "2", "--threads", "1",
               "--out", str(out), *jobs])
    assert rc == 0
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [r["job"] for r in rows] == jobs
    assert [(r["epochs"], r["complete"], r["arch"]) for r in rows] == [
        (1, True, "airbench94"), (2, True, "res3")]
    assert rows[1]["overrides"] == {"residual": 1, "lr": 5.0}
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert [r["parameters"] for r in rows] == [count(cifar10_net((16, 32, 32))),
                                               count(res3_net((8, 16, 16)))]
    for r in rows:
        assert 0.0 <= r["val_accuracy"] <= 1.0 and 0.0 <= r["val_accuracy_flip_tta"] <= 1.0
    summary = (out / "summary.md").read_text()
    assert all(f"| {j} |" in summary for j in jobs)
    log = (out / "sweep.log").read_text()
    assert log.count("===== job") == 2 and log.count("RESULT ") == 2
    assert not list(out.glob("job*.log"))  # merged into sweep.log


def test_jobs_that_cannot_start_before_the_deadline_are_reported_not_run(tmp_path, cache):
    pytest.importorskip("torch")
    from tests.datasets.kit import write_cifar_zip

    (tmp_path / "data").mkdir()
    write_cifar_zip(tmp_path / "data")
    out = tmp_path / "out"
    assert main(["--data-dir", str(tmp_path / "data"), "--deadline", "0", "--out", str(out),
                 "e1"]) == 1
    row = json.loads((out / "results.jsonl").read_text())
    assert row == {"job": "e1", "error": "not started: deadline"}
    assert "not started: deadline" in (out / "summary.md").read_text()


def test_the_residual_layout_exports_and_the_engine_runs_its_skip_connections(tmp_path):
    """``arch=res3`` is not a sweep-only toy: batch norm folds (also across the pool), the
    export passes every check, and the NumPy engine runs the residual Adds node by node."""
    torch = pytest.importorskip("torch")
    import onnxruntime as ort

    from engine.graph import load_graph, run
    from training.export import INPUT_NAME, OUTPUT_NAME, export_onnx
    from training.models import cifar10_net

    torch.manual_seed(0)
    model = cifar10_net((8, 16, 16), residual=True)
    with torch.no_grad():  # running statistics that are not the identity
        for _ in range(3):
            model(torch.randn(16, 3, 32, 32))
    info = export_onnx("cifar10-net", model, tmp_path / "res3.onnx")
    assert "Add" in info["ops"] and info["fold_max_abs_diff"] < 1e-6
    graph = load_graph(tmp_path / "res3.onnx")
    skips = [n for n in graph.nodes if n.op_type == "Add" and not any(i in graph.initializers
                                                                  for i in n.inputs)]
    assert len(skips) == 2 * 3 + 1  # per view (image, mirror) one per block; the TTA sum
    x = np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32)
    ours = run(graph, x)[graph.outputs[0].name]
    ref = ort.InferenceSession(str(tmp_path / "res3.onnx")).run([OUTPUT_NAME], {INPUT_NAME: x})[0]
    np.testing.assert_allclose(ours, ref, atol=1e-5)
