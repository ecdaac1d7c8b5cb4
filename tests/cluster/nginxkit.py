"""A real nginx for the cluster test: ``deploy/nginx.conf`` in the foreground, as a
subprocess on a free loopback port, stopped by ``with`` (Redis: tests/app/storekit.py).

nginx runs ``deploy/nginx.conf`` itself, rendered by ``render``: the ``server`` line of
``upstream convlab`` becomes one line per app process, ``listen 8080`` becomes a loopback
port, and nginx's temporary folders move into a temporary directory. Nothing else of the
shipped file changes, so the tests check the file that users deploy.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from tests.serverkit import ROOT, free_port

NGINX = Path("/usr/sbin/nginx")
CONF = ROOT / "deploy" / "nginx.conf"
TEMP_DIRS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")

_UPSTREAM = re.compile(r"(upstream convlab \{\n)(.*?)(\n\s*\})", re.S)
_SERVER = re.compile(r"^(\s*)server \S+;$", re.M)
_LISTEN = re.compile(r"^(\s*)listen 8080;$", re.M)


def render(template: str, *, port: int, upstreams: list[str], temp: Path) -> str:
    """``deploy/nginx.conf`` for loopback: these upstream servers, this port, temp dirs."""
    block = _UPSTREAM.search(template)
    if block is None or len(_SERVER.findall(block.group(2))) != 1:
        raise ValueError("deploy/nginx.conf must have `upstream convlab` with one server line")
    if len(_LISTEN.findall(template)) != 1:
        raise ValueError("deploy/nginx.conf must have exactly one `listen 8080;`")
    servers = _SERVER.sub(lambda m: "\n".join(f"{m.group(1)}server {u};" for u in upstreams),
                          block.group(2))
    conf = template[:block.start(2)] + servers + template[block.end(2):]
    conf = _LISTEN.sub(lambda m: f"{m.group(1)}listen 127.0.0.1:{port};", conf)
    temps = "".join(f"    {name}_temp_path {temp / name};\n" for name in TEMP_DIRS)
    return conf.replace("http {\n", "http {\n" + temps, 1)


def _wait(what: str, ready, proc: subprocess.Popen, log: Path, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError, httpx.HTTPError):
            if ready():
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start within {seconds} s:\n{log.read_text()[-3000:]}")


def _stop(proc: subprocess.Popen | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


class Nginx:
    """nginx in the foreground running the rendered ``deploy/nginx.conf``."""

    def __init__(self, upstreams: list[str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.upstreams = upstreams
        self.dir = Path(tempfile.mkdtemp(prefix="convlab-nginx-"))
        self.access_log = self.dir / "access.log"  # nginx's stdout: the access log
        self.error_log = self.dir / "error.log"
        self.proc: subprocess.Popen | None = None

    def command(self, *extra: str) -> list[str]:
        globals_ = f"daemon off; pid {self.dir / 'nginx.pid'};"
        if os.geteuid() == 0:  # workers would switch to `nobody`, who cannot use self.dir
            globals_ += " user root;"
        return [str(NGINX), "-p", str(self.dir), "-c", str(self.dir / "nginx.conf"),
                "-e", str(self.error_log), "-g", globals_, *extra]

    def __enter__(self) -> Nginx:
        for name in TEMP_DIRS:
            (self.dir / name).mkdir()
        conf = render(CONF.read_text(), port=self.port, upstreams=self.upstreams, temp=self.dir)
        (self.dir / "nginx.conf").write_text(conf)
        check = subprocess.run(self.command("-t"), capture_output=True, text=True, timeout=30)
        if check.returncode != 0:
            raise RuntimeError(f"nginx -t refused the rendered deploy/nginx.conf:\n{check.stderr}")
        with open(self.access_log, "wb") as out, open(self.error_log, "ab") as err:
            self.proc = subprocess.Popen(self.command(), stdout=out, stderr=err)
        _wait("nginx", lambda: httpx.get(self.url + "/api/health", timeout=2).status_code == 200,
              self.proc, self.error_log)
        return self

    def __exit__(self, *exc) -> None:
        _stop(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)

    def log_lines(self) -> list[str]:
        return self.access_log.read_text(errors="replace").splitlines()

    def served_by(self, since: int = 0, path: str = "", count: int = 0) -> list[str]:
        """The upstream (``127.0.0.1:<port>``, or ``-`` for nginx itself) of each logged
        request from line ``since`` on whose request line contains ``path``. nginx logs a
        request when it is finished (a refused body: after draining it), so this waits up
        to 10 s for at least ``count`` such lines."""
        deadline = time.monotonic() + 10
        while True:
            lines = [line for line in self.log_lines()[since:] if path in line]
            if len(lines) >= count or time.monotonic() > deadline:
                return [re.search(r"upstream=(\S+)", line).group(1)  # type: ignore[union-attr]
                        for line in lines]
            time.sleep(0.05)
