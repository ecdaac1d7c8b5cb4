"""The compose topology (deploy/compose.yaml) without containers: a real redis-server,
two ``convlab serve`` processes sharing it, and real nginx running deploy/nginx.conf in
front of them. One of each per test module: they take a few seconds to start."""

from __future__ import annotations

import pytest

from tests.app.storekit import redis_server
from tests.cluster.nginxkit import NGINX, Nginx
from tests.serverkit import ROOT, LiveServer

SHIPPED = "lenet5"  # the one shipped model the apps load: enough, and quick to start


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """(nginx, [app_a, app_b]): requests go to ``nginx.url``."""
    if not NGINX.exists():
        pytest.skip(f"nginx is not installed at {NGINX} (make nginx installs Debian's package)")
    models = tmp_path_factory.mktemp("models")
    for suffix in (".onnx", ".json"):
        (models / f"{SHIPPED}{suffix}").symlink_to(ROOT / "models" / f"{SHIPPED}{suffix}")
    with redis_server() as url:
        env = {"CONVLAB_STORE_URL": url, "CONVLAB_MODELS_DIR": str(models)}
        with LiveServer(env=env) as a, LiveServer(env=env) as b, \
                Nginx([f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"]) as proxy:
            yield proxy, [a, b]
