"""The course's examples as the API docs' "Try it out" bodies (``Body(openapi_examples=...)``).

Each is built from the data the pages use, so the docs and the course cannot drift apart:
the 6x6 binary image (:data:`app.services.samples.COURSE_6X6`) with the course's two 3x3
filters (:mod:`course.filters` ``diagonal`` and ``vertical``), the pooling lesson's 4x4
input (:mod:`app.routers.lessons`), and the softmax lesson's scores 3.2, 5.1, -1.7.
Only inputs live here; every answer is the engine's.
"""

from __future__ import annotations

from typing import Any

from app.services.samples import COURSE_6X6
from course import filters
from course.examples import POOL_DATA, POOL_K, POOL_P, POOL_S, POOL_SHAPE

#: The softmax lesson's scores (cat, car, frog), as the course writes them.
SOFTMAX_SCORES = [3.2, 5.1, -1.7]
#: The course's two filters for the 6x6 image.
COURSE_FILTERS = ("diagonal", "vertical")


def _example(summary: str, description: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"summary": summary, "description": description, "value": value}


def _image() -> dict[str, Any]:
    return {"shape": [1, 6, 6], "data": [int(v) for v in COURSE_6X6.ravel()]}


def _weights() -> dict[str, Any]:
    data = [float(v) for name in COURSE_FILTERS for v in filters.kernel(name, 3).ravel()]
    return {"shape": [len(COURSE_FILTERS), 1, 3, 3], "data": data}


def output_size() -> dict[str, Any]:
    return {
        "course": _example("The course's 6x6 image, a 3x3 filter", "(6 - 3 + 0)/1 + 1 = 4.",
                           {"input_size": 6, "kernel_size": 3, "stride": 1, "padding": 0}),
        "cifar": _example("A 32x32x3 image, ten 5x5 filters, padding 2",
                          "The course's CIFAR-10 layer: the output stays 32x32, depth 10.",
                          {"input_size": 32, "kernel_size": 5, "stride": 1, "padding": 2,
                           "in_channels": 3, "filters": 10}),
    }


def conv() -> dict[str, Any]:
    return {
        "course": _example(
            "The course's 6x6 image and its two 3x3 filters",
            "The diagonal and the vertical-line detector, stride 1, no padding: two 4x4 "
            "feature maps; trace asks for the arithmetic of the first value.",
            {"input": _image(), "weights": _weights(), "stride": 1, "padding": 0,
             "trace": [0, 0, 0]}),
        "stride2": _example(
            "The same with stride 2 and padding 1",
            "A border of zeros and a jump of two cells: the answer's output_size gives "
            "the formula and the maps' size.",
            {"input": _image(), "weights": _weights(), "stride": 2, "padding": 1}),
    }


def pool() -> dict[str, Any]:
    body = {"input": {"shape": list(POOL_SHAPE), "data": POOL_DATA},
            "kernel_size": POOL_K, "stride": POOL_S, "padding": POOL_P}
    return {
        "max": _example("The course's 4x4 example, 2x2 max pooling, stride 2",
                        "Each 2x2 window keeps its largest value: a 2x2 output.",
                        {**body, "mode": "max"}),
        "avg": _example("The same, average pooling", "Each window keeps its mean.",
                        {**body, "mode": "avg"}),
    }


def activation() -> dict[str, Any]:
    values = {"shape": [5], "data": [-3, -1.5, 0, 1.5, 3]}
    return {name: _example(f"{name} of five values", "With its local gradient at each.",
                           {"input": values, "function": name})
            for name in ("relu", "sigmoid", "tanh")}


def softmax() -> dict[str, Any]:
    return {
        "course": _example("The course's scores 3.2, 5.1, -1.7",
                           "Shift by the max, exponentiate, normalise.",
                           {"scores": SOFTMAX_SCORES}),
        "huge": _example("Huge scores", "Subtracting the max keeps e^s finite.",
                         {"scores": [1000, 999, 995]}),
    }


def neuron() -> dict[str, Any]:
    return {
        "small": _example("A small weight (w = 0.5)", "Sigmoid's gradient flows back.",
                          {"w": 0.5, "x": 1, "b": 0, "function": "sigmoid"}),
        "large": _example("A large weight (w = 8)", "z lands where sigmoid is flat: the "
                          "gradient vanishes.", {"w": 8, "x": 1, "b": 0, "function": "sigmoid"}),
    }


def network_params() -> dict[str, Any]:
    return {"course": _example("The course's network: 3 inputs, 4 hidden, 2 outputs",
                               "Every line a weight, every neuron after the inputs a bias.",
                               {"layers": [3, 4, 2]})}


def dense_head() -> dict[str, Any]:
    return {"cifar": _example("A 32x32x3 volume into 10 class scores",
                              "Flattened to one column, then fully connected.",
                              {"height": 32, "width": 32, "channels": 3, "outputs": 10})}
