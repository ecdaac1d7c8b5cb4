"""The ``convlab`` command finds ``train`` and ``evaluate`` through the ``convlab.commands``
entry points (pyproject.toml), so the app never imports the training package; ``train``
says plainly what to install when PyTorch is missing.

The subprocess cases install the entry points from this checkout's pyproject.toml as
distribution metadata on ``PYTHONPATH`` (ahead of any installed copy), so they test the
real lookup, not a stand-in.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import subprocess
import sys
import tomllib
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from app import cli

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
DECLARED = PYPROJECT["project"]["entry-points"][cli.COMMANDS_GROUP]
HAS_TORCH = importlib.util.find_spec("torch") is not None


def test_pyproject_declares_train_and_evaluate():
    assert DECLARED == {"train": "training.cli:main", "evaluate": "training.cli:main"}


def test_app_never_imports_training():
    """No ``import training`` anywhere in app/, nor a way around it (importlib, __import__)."""
    for path in (ROOT / "app").rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                assert not any(a.name.split(".")[0] == "training" for a in node.names), path
            elif isinstance(node, ast.ImportFrom):
                assert (node.module or "").split(".")[0] != "training", path
                assert node.module != "importlib" or {a.name for a in node.names} <= {"metadata"}, path
            elif isinstance(node, ast.Name):
                assert node.id != "__import__", path
            elif isinstance(node, ast.Attribute):
                assert node.attr != "import_module", path


def _run(tmp_path: Path, code: str, *, entry_points: bool = True) -> subprocess.CompletedProcess:
    """``code`` in a fresh Python whose metadata has (or lacks) this checkout's entry points."""
    site = tmp_path / "site"
    info = site / "convlab-0.1.0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: convlab\nVersion: 0.1.0\n")
    lines = [f"[{cli.COMMANDS_GROUP}]", *(f"{k} = {v}" for k, v in DECLARED.items())]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n" if entry_points else "")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    return subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)



@pytest.mark.skipif(not HAS_TORCH, reason="needs PyTorch (the train extra)")
def test_train_help_through_the_entry_point(tmp_path):
    r = _run(tmp_path, "import sys; from app.cli import main; sys.exit(main(['train', '--help']))")
    assert r.returncode == 0, r.stderr
    assert "usage: convlab train" in r.stdout and "--data-dir" in r.stdout


def test_train_without_torch_says_what_to_install(tmp_path):
    r = _run(tmp_path, "import sys; sys.modules['torch'] = None\n"
                       "from app.cli import main; sys.exit(main(['train', '--help']))")
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "needs PyTorch" in r.stderr and "pip install -e '.[train]'" in r.stderr
    assert "Traceback" not in r.stderr


def test_evaluate_help_needs_no_torch(tmp_path):
    r = _run(tmp_path, "import sys; sys.modules['torch'] = None\n"
                       "from app.cli import main; sys.exit(main(['evaluate', '--help']))")
    assert r.returncode == 0, r.stderr
    assert "usage: convlab evaluate" in r.stdout


def test_top_level_help_lists_the_added_commands_without_loading_them(tmp_path):
    r = _run(tmp_path, "import sys\nfrom app.cli import main\ntry:\n    main(['--help'])\n"
                       "except SystemExit:\n    pass\nprint('loaded' if 'training' in sys.modules else 'not loaded')")
    assert r.returncode == 0, r.stderr
    assert "serve" in r.stdout and "train" in r.stdout and "evaluate" in r.stdout
    assert r.stdout.strip().endswith("not loaded")


def test_command_not_installed_says_what_to_do(tmp_path):
    r = _run(tmp_path, "import sys; from app.cli import main; sys.exit(main(['train', '--help']))",
             entry_points=False)
    assert r.returncode == 2
    assert "no command 'train' is installed" in r.stderr and "pip install -e '.[train]'" in r.stderr


def test_a_command_that_cannot_load_says_what_to_do(monkeypatch, capsys):
    broken = EntryPoint(name="train", value="convlab_no_such_module:main", group=cli.COMMANDS_GROUP)
    monkeypatch.setattr(cli, "added_commands", lambda: {"train": broken})
    assert cli.main(["train", "mnist-cnn"]) == 2
    err = capsys.readouterr().err
    assert "convlab train: cannot load the command" in err and cli.INSTALL_HINT in err


def test_added_command_gets_the_whole_argument_list(monkeypatch):
    seen = []
    ep = EntryPoint(name="hello", value="builtins:print", group=cli.COMMANDS_GROUP)
    monkeypatch.setattr(cli, "added_commands", lambda: {"hello": ep})
    monkeypatch.setattr("builtins.print", lambda argv: seen.append(argv))
    assert cli.main(["hello", "--x", "1"]) == 0
    assert seen == [["hello", "--x", "1"]]


def test_serve_gives_numpy_one_blas_thread_unless_told_otherwise():
    """A BLAS pool per request oversubscribes a server's cores (app/cli.BLAS_THREADS)."""
    code = ("import os, sys, uvicorn; uvicorn.run = lambda *a, **k: print("
            "os.environ.get('OPENBLAS_NUM_THREADS'), os.environ.get('OMP_NUM_THREADS'), "
            "'numpy' in sys.modules); from app.cli import main; main(['serve'])")
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.stdout.split() == ["1", "1", "False"], out.stderr
    env["OPENBLAS_NUM_THREADS"] = "2"
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.stdout.split()[0] == "2", out.stderr
