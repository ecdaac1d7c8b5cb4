"""The ``convlab`` command: ``serve`` the app; ``train`` / ``evaluate`` models (training extra)."""

from __future__ import annotations

import argparse
import importlib
import sys


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.protocol import MAX_HEAD_BYTES

    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        # uvicorn's h11 connection plus deadlines for heads and bodies, idle connections
        # that give way, and refusals in the API's JSON shape (see app/protocol.py).
        http="app.protocol:ConvLabProtocol",
        timeout_keep_alive=5,
        limit_concurrency=args.limit_concurrency,
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
        log_level=args.log_level,
        server_header=False,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("train", "evaluate"):
        # Training needs PyTorch (the `train` extra); the web app never imports it.
        try:
            training_cli = importlib.import_module("training.cli")
        except ModuleNotFoundError as exc:
            print(f"convlab {argv[0]}: cannot import the training package ({exc}).", file=sys.stderr)
            print("Install the extra: .venv/bin/pip install -e '.[train]'", file=sys.stderr)
            return 2
        return int(training_cli.main(argv) or 0)

    parser = argparse.ArgumentParser(prog="convlab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the web app")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--limit-concurrency",
        type=int,
        default=200,
        help="requests in progress before 503, and open connections before the idle "
             "ones are closed (default 200)",
    )
    serve.add_argument("--log-level", default="info")
    sub.add_parser("train", help="train a model (needs the train extra)")
    sub.add_parser("evaluate", help="evaluate an exported model with onnxruntime")
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
