"""One served model (its card, bytes and onnxruntime session) and what every model shares:
the session options, scores turned into probabilities, the public card.

The tables of models are app/services/modelstore.py (shipped) and store_models.py (users').
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnxruntime as ort
from onnxruntime.capi.onnxruntime_pybind11_state import Fail as OrtFail
from onnxruntime.capi.onnxruntime_pybind11_state import InvalidArgument as OrtInvalidArgument
from onnxruntime.capi.onnxruntime_pybind11_state import RuntimeException as OrtRuntimeException

from app.errors import ApiError

log = logging.getLogger("convlab")

#: A loaded model costs several times its file size (the bytes, onnxruntime's copy of the
#: weights, the engine's arrays): when ``Model.held_bytes`` is not known (0), the store's
#: caps count this multiple of the file's size.
USER_MEMORY_FACTOR = 4


@dataclass
class Model:
    name: str
    card: dict[str, Any]
    onnx_bytes: bytes
    session: ort.InferenceSession
    source: str = "shipped"  # shipped | user
    #: Bytes this model really holds in memory once loaded (file, decoded weights,
    #: onnxruntime's copy); what the user-model store counts against its caps.
    held_bytes: int = 0
    _graph: Any = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def input_name(self) -> str:
        return self.session.get_inputs()[0].name

    @property
    def classes(self) -> list[str]:
        return list(self.card["classes"])

    @property
    def input_spec(self) -> dict[str, Any]:
        return self.card["input"]

    def graph(self):
        """The model as the engine's graph (loaded on first use, then kept)."""
        with self._lock:
            if self._graph is None:
                from engine.graph import load_graph

                self._graph = load_graph(self.onnx_bytes)
            return self._graph

    def infer(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities for a (N, C, H, W) batch, via onnxruntime; 422 when the
        model cannot run on it (a user's model may surprise us)."""
        try:
            out = self.session.run(None, {self.input_name: x.astype(np.float32)})[0]
        except (OrtFail, OrtInvalidArgument, OrtRuntimeException) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            raise ApiError(422, f"onnxruntime could not run {self.name} on this input: {first}") from None
        return as_probabilities(np.asarray(out, dtype=np.float64).reshape(x.shape[0], -1), self.name)


def as_probabilities(scores: np.ndarray, model_name: str = "the model") -> np.ndarray:
    """Rows that already are probability vectors stay; raw class scores get a softmax.

    Scores that are not finite numbers (NaN, infinity) have no answer: 422 naming the model.
    """
    if not np.all(np.isfinite(scores)):
        raise ApiError(422, f"{model_name} produced class scores that are not finite numbers "
                            "(NaN or infinity) for this image, so it has no prediction.")
    sums = scores.sum(axis=1)
    if np.all(scores >= -1e-6) and np.allclose(sums, 1.0, atol=1e-3):
        return scores
    shifted = scores - scores.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def make_session(onnx_bytes: bytes, threads: int) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    # Denormal floats (below 1.2e-38) are up to 100x slower on CPUs: flush them to zero.
    opts.add_session_config_entry("session.set_denormal_as_zero", "1")
    return ort.InferenceSession(onnx_bytes, sess_options=opts, providers=["CPUExecutionProvider"])

def public_card(model: Model) -> dict[str, Any]:
    return {**model.card, "name": model.name, "source": model.source}
