"""HTML pages. Each page is a template plus one ES module under static/js/pages/."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app import __version__
from app.config import TEMPLATES_DIR
from engine import registry

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
# Menus and labels of activations render from the one table GET /api/registry serves.
templates.env.globals["registry"] = registry.as_json()

#: (path, template, navigation label, one-line summary for the home page)
PAGES = [
    ("/", "index.html", "Home", "What ConvLab is and where to start."),
    ("/playground", "playground.html", "Playground",
     "Slide a filter over an image and watch every multiply-add."),
    ("/calculator", "calculator.html", "Calculator",
     "Output size (N - F + 2P)/S + 1, parameters and memory, layer by layer."),
    ("/lessons", "lessons.html", "Lessons",
     "Pooling, activations, fully connected layers and softmax, dropout and batch "
     "normalisation, one idea at a time."),
    ("/architectures", "architectures.html", "Architectures",
     "LeNet, AlexNet, VGG, GoogLeNet and ResNet, counted layer by layer."),
    ("/classify", "classify.html", "Classify",
     "Upload or draw an image and see a trained network classify it, layer by layer."),
    ("/train", "train.html", "Train",
     "Gradient descent and backprop, live, on ConvLab's own engine."),
    ("/learn", "learn.html", "Learn",
     "Watch a CNN learn MNIST or CIFAR-10 live: filters, feature maps, mistakes; take the model home."),
]
NAV = [(path, label) for path, _, label, _ in PAGES]


def _render(request: Request, template: str, path: str) -> HTMLResponse:
    context = {"nav": NAV, "active": path, "pages": PAGES, "version": __version__}
    return templates.TemplateResponse(request, template, context)


def _page(path: str, template: str):
    def endpoint(request: Request) -> HTMLResponse:
        return _render(request, template, path)

    endpoint.__name__ = f"page_{template.split('.')[0]}"
    return endpoint


for _path, _template, _label, _summary in PAGES:
    router.add_api_route(_path, _page(_path, _template), methods=["GET", "HEAD"],
                         response_class=HTMLResponse)


@router.api_route("/docs", methods=["GET", "HEAD"], response_class=HTMLResponse)
def docs(request: Request) -> HTMLResponse:
    """Swagger UI from the vendored copy (works with no network)."""
    return _render(request, "docs.html", "/docs")  # the site's header and navigation too
