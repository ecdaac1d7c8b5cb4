"""The ``convlab`` command: ``serve`` the app, ``data download`` the full data sets
(:mod:`datasets.download`), and any command another package adds.

Other packages add commands through the ``convlab.commands`` entry-point group: the
training package (``pyproject.toml``) adds ``train`` and ``evaluate``. Each is called as
``command(argv)`` with the whole argument list (its own name first). The app never
imports the training package, not even here: the entry point names it, and only the
command the user typed is loaded.
"""

from __future__ import annotations

import argparse
import os
import sys
from importlib.metadata import EntryPoint, entry_points

#: Where other packages add ``convlab`` commands: ``[project.entry-points."convlab.commands"]``.
COMMANDS_GROUP = "convlab.commands"
#: What to do when a command the user named is not installed, or cannot load.
INSTALL_HINT = ("Install ConvLab with its training extra, which also registers the command: "
                ".venv/bin/pip install -e '.[train]'")


def added_commands() -> dict[str, EntryPoint]:
    """The commands installed packages add (name -> entry point), not yet loaded."""
    return {ep.name: ep for ep in entry_points(group=COMMANDS_GROUP)}


#: NumPy's BLAS gets one thread per call unless the environment says otherwise. A server
#: runs several requests at once on a few cores, and a BLAS pool per call oversubscribes
#: them: measured on 2 busy cores, scoring 1,000 CIFAR images took 0.85 s with one thread
#: and 4.05 s with two. Set before NumPy loads (here, or in each worker it spawns).
BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _serve(args: argparse.Namespace) -> int:
    if "numpy" not in sys.modules:
        for name in BLAS_THREADS:
            os.environ.setdefault(name, "1")
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
    if argv and argv[0] == "data":
        from datasets.download import main as data_main

        return data_main(argv[1:])
    added = added_commands()
    if argv and argv[0] in added:
        try:
            command = added[argv[0]].load()
        except ImportError as exc:
            print(f"convlab {argv[0]}: cannot load the command ({exc}).", file=sys.stderr)
            print(INSTALL_HINT, file=sys.stderr)
            return 2
        return int(command(argv) or 0)
    if argv and argv[0] != "serve" and not argv[0].startswith("-"):
        known = ", ".join(["serve", "data", *sorted(added)])
        print(f"convlab: no command {argv[0]!r} is installed (commands: {known}).", file=sys.stderr)
        if not added:
            print(INSTALL_HINT, file=sys.stderr)
        return 2

    parser = argparse.ArgumentParser(prog="convlab", description=(__doc__ or "").split("\n\n")[0])
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
    sub.add_parser("data", help="download MNIST and CIFAR-10: convlab data download "
                                "[--dir D] (convlab data --help)")
    for name, ep in sorted(added.items()):
        sub.add_parser(name, help=f"from {ep.module} (convlab {name} --help)")
    parser.epilog = (None if added else
                     f"No other commands are installed (train, evaluate). {INSTALL_HINT}")
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
