"""Grad-CAM (with its sanity check) and FGSM on costly uploaded models keep issue 14's
bounds: time and the server's peak memory, alone and four at once, measured on a real
``convlab serve`` like the inspect cases in test_hostile_models.py."""

from __future__ import annotations

import pytest

from app.services.usermodels import MAX_VALUES
from tests.app import costly_models as C
from tests.app.test_hostile_models import (  # noqa: F401  (fixtures)
    BLACK,
    BLACK_256,
    alone_and_four,
    client,
    server,
    uploaded,
)


def post(client, name, route, image, **fields):  # noqa: F811
    return client.post(f"/api/models/{name}/{route}", files={"file": ("x.png", image, "image/png")},
                       data=fields)


def ok(r):
    assert r.status_code == 200, r.text[:300]


@pytest.mark.parametrize("route, fields", [("gradcam", {"check": "true"}), ("fgsm", {})])
def test_the_largest_model_fits_the_budget(server, client, route, fields):  # noqa: F811
    name = uploaded(client, C.many_values(MAX_VALUES))
    alone_and_four(server, lambda: post(client, name, route, BLACK_256, **fields), ok)


@pytest.mark.parametrize("build, image", [
    (lambda: C.relu_chain(600), BLACK), (lambda: C.add_chain(1995), BLACK),
    (C.denormal_matmuls, BLACK_256)], ids=["600-relus", "1995-adds", "denormals"])
def test_deep_and_slow_graphs_are_explained_in_bounded_time(server, client, build, image):  # noqa: F811
    name = uploaded(client, build())
    for route, fields in (("gradcam", {"check": "true"}), ("fgsm", {})):
        alone_and_four(server, lambda route=route, fields=fields: post(client, name, route, image, **fields), ok)
