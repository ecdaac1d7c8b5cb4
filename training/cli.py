"""``convlab train`` and ``convlab evaluate`` (entry points in ``pyproject.toml``; ``app.cli``
loads them only when typed, and ``train`` imports PyTorch only when it runs).

    convlab train <model> [--data-dir DIR] [--epochs N] [--seed S] [--device cpu|cuda]
                          [--out models/] [--limit N] [--checkpoint PATH] [--no-export]
                          [--set KEY=VALUE ...]
    convlab train <model> --export-only --checkpoint PATH [--out models/] [--data-dir DIR]
    convlab evaluate <model>... [--data-dir DIR] [--split val|test] [--models-dir models]
                                [--update-card]

The data directory comes from ``--data-dir`` or ``$CONVLAB_DATA_DIR``. Without the
``convlab`` script: ``python -m training train ...``.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

from training.data import SPLITS, DataError
from training.specs import SPECS


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="convlab", description="Train and evaluate ConvLab's models.")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a model, export ONNX and write its card",
                       description="Train, save a checkpoint, export <out>/<model>.onnx and "
                                   "write the card <out>/<model>.json with validation metrics.")
    t.add_argument("model", choices=sorted(SPECS))
    t.add_argument("--data-dir", help="folder holding mnist/ and/or the CIFAR-10 files "
                                      "(default: $CONVLAB_DATA_DIR)")
    t.add_argument("--epochs", type=int, help="default: the model's recipe (see the card)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    t.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    t.add_argument("--out", default="models", help="where the .onnx and .json go (default models/)")
    t.add_argument("--limit", type=int, help="train on the first N training images only (debug)")
    t.add_argument("--time-limit", type=float, metavar="SECONDS",
                   help="stop after the epoch that would overrun this training time")
    t.add_argument("--set", action="append", metavar="KEY=VALUE", dest="overrides",
                   help="change one of the recipe's hyperparameters (cifar10-net: lr, momentum, "
                        "weight_decay, label_smoothing, translate, cutout, whiten_eps, ...); "
                        "repeatable; recorded in the card")
    t.add_argument("--checkpoint", help="checkpoint path: written after training (default "
                                        "<out>/<model>.pt), read with --export-only")
    t.add_argument("--export-only", action="store_true",
                   help="skip training: export + card from --checkpoint")
    t.add_argument("--no-export", action="store_true", help="train and save the checkpoint only")
    t.add_argument("--skip-eval", action="store_true",
                   help="write the card without metrics (no data needed for --export-only)")

    e = sub.add_parser("evaluate", help="evaluate exported models with onnxruntime",
                       description="Accuracy, per-class accuracy and confusion matrix of "
                                   "<models-dir>/<model>.onnx, preprocessed as its card says.")
    e.add_argument("model", nargs="+", choices=sorted(SPECS))
    e.add_argument("--data-dir", help="default: $CONVLAB_DATA_DIR")
    e.add_argument("--split", choices=SPLITS[1:], default="val")
    e.add_argument("--models-dir", default="models")
    e.add_argument("--batch-size", type=int, default=500)
    e.add_argument("--limit", type=int, help="first N images only (debug; not written to cards)")
    e.add_argument("--update-card", action="store_true", help="write the metrics into the card")
    return p


def _train(args: argparse.Namespace) -> int:
    from training.export import export_and_card, model_from_checkpoint

    if args.export_only:
        if args.overrides:
            print("convlab train: --set changes training; it cannot apply to --export-only",
                  file=sys.stderr)
            return 2
        if not args.checkpoint:
            print("convlab train: --export-only needs --checkpoint PATH", file=sys.stderr)
            return 2
        name, model, meta = model_from_checkpoint(args.model, args.checkpoint)
    else:
        from training.hyperparams import parse_overrides

        name = args.model
        overrides = parse_overrides(name, args.overrides)  # before any data is read

        from training.train import train

        checkpoint = args.checkpoint or str(Path(args.out) / f"{name}.pt")
        cmd = [f"convlab train {name}"]
        if args.epochs is not None:
            cmd.append(f"--epochs {args.epochs}")
        cmd += [f"--seed {args.seed}", f"--device {args.device}"]
        if args.limit:
            cmd.append(f"--limit {args.limit}")
        cmd += [f"--set {k}={v}" for k, v in overrides.items()]
        model, meta = train(name, args.data_dir, args.epochs, args.seed, args.device, args.limit,
                            args.threads, checkpoint, " ".join(cmd), args.time_limit, overrides)
        if args.no_export:
            return 0
    export_and_card(name, model, meta, args.out, args.data_dir, evaluate_val=not args.skip_eval)
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from training.cards import update_metrics
    from training.evaluate import evaluate, format_report, read_card

    for name in args.model:
        result = evaluate(name, args.models_dir, args.data_dir, args.split, args.batch_size,
                          args.limit)
        card, _ = read_card(args.models_dir, name)
        print(format_report(result, card["classes"]), flush=True)
        if args.update_card:
            update_metrics(Path(args.models_dir) / f"{name}.json", result)
            print(f"\nwrote the {args.split} metrics into {Path(args.models_dir) / (name + '.json')}")
        print()
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["train"] and importlib.util.find_spec("torch") is None:
        print("convlab train needs PyTorch, which the training extra installs: "
              ".venv/bin/pip install -e '.[train]' (convlab evaluate needs only onnxruntime).",
              file=sys.stderr)
        return 2
    args = _parser().parse_args(argv)
    try:
        return _train(args) if args.command == "train" else _evaluate(args)
    except (DataError, FileNotFoundError, ValueError) as exc:
        print(f"convlab {args.command}: error: {exc}", file=sys.stderr)
        return 2
