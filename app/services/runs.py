"""Engine runs of a model, kept a while under a run id so ``/trace`` can look inside them.

``/inspect`` runs the model in the engine (every intermediate tensor kept) and answers
with a run id; a later ``/trace`` sends the id, not the input. :class:`RunStore` (one per
app, in ``app.state.runs``) holds the last few runs' tensors (at most
:data:`RUN_CACHE_BYTES`) and, for longer, each run's input alone: a run whose tensors
were dropped is run again from its input. With a shared store (the one uploads live in:
SQLite for one host's workers, Redis for several hosts), each input is also kept there,
namespace :data:`NS`, for :data:`SHARED_IDLE_S`: a ``/trace`` that reaches another
process (a proxy without sticky sessions) runs the model again from it. Only when the
input is gone everywhere does :meth:`RunStore.get` answer None, and the page runs
``/inspect`` again. A cache that can be rebuilt: nothing a request needs depends on
which process kept what.
"""

from __future__ import annotations

import logging
import math
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from app.services.model import Model
from app.services.store import Limits, Store, StoreFull, StoreUnavailable
from engine.graph import Graph, run

log = logging.getLogger("convlab")

#: What the run cache may hold. With the heavy gate full (4 runs of at most
#: app.services.usermodels.MAX_VALUES float32 values each) it keeps a process under ~600 MB.
RUN_CACHE_BYTES = 96 << 20
#: Inputs kept to run again (a 3 x 256 x 256 input is 768 KB).
INPUT_CACHE_BYTES = 32 << 20
#: The shared store's namespace for runs' inputs, how long one is kept unused, and how
#: much all of them may hold (past it, a new input stays in its own process only).
NS = "inspect"
SHARED_IDLE_S = 15 * 60
SHARED_BYTES = 256 << 20
SHARED_LIMITS = Limits(idle_s=SHARED_IDLE_S, total_bytes=SHARED_BYTES,
                       owner_bytes=SHARED_BYTES, owner_items=1 << 30, address_bytes=SHARED_BYTES)


@dataclass
class Run:
    """The engine's values for one input, and onnxruntime's output for comparison."""

    graph: Graph
    x: np.ndarray  # (1, C, H, W), exactly what the model saw
    values: dict[str, np.ndarray]
    output: np.ndarray  # the engine's first graph output
    ort_output: np.ndarray | None = None

    @property
    def max_abs_diff(self) -> float | None:
        if self.ort_output is None:
            return None
        a = np.asarray(self.output, np.float64).reshape(-1)
        b = np.asarray(self.ort_output, np.float64).reshape(-1)
        return float(np.max(np.abs(a - b))) if a.shape == b.shape else math.inf

    @property
    def nbytes(self) -> int:
        return sum(v.nbytes for v in self.values.values())


def run_model(model: Model, x: np.ndarray, *, compare: bool = True) -> Run:
    """The engine's run of ``model`` on ``x`` (``GraphError`` if the engine cannot run it);
    with ``compare`` also onnxruntime's output."""
    graph = model.graph()
    values = run(graph, x)
    result = Run(graph, x, values, values[graph.outputs[0].name])
    if compare:
        result.ort_output = model.session.run(None, {model.input_name: x})[0]
    return result


def _owner(model: Model) -> tuple[str, int]:
    return model.name, id(model)


class RunStore:
    """Runs by id: the last few with their tensors, more of them as inputs only."""

    def __init__(self, max_runs: int = 6, max_bytes: int = RUN_CACHE_BYTES,
                 max_inputs: int = 64, max_input_bytes: int = INPUT_CACHE_BYTES,
                 shared: Store | None = None):
        self.shared = shared
        self.max_runs, self.max_bytes = max_runs, max_bytes
        self.max_inputs, self.max_input_bytes = max_inputs, max_input_bytes
        self._runs: OrderedDict[str, Run] = OrderedDict()
        self._inputs: OrderedDict[str, tuple[tuple[str, int], np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, model: Model, r: Run) -> str:
        """Keep ``r`` (a run of ``model``) and return its id: unguessable, 128 bits."""
        run_id = secrets.token_urlsafe(16)
        with self._lock:
            self._inputs[run_id] = (_owner(model), r.x)
            while len(self._inputs) > self.max_inputs or (
                    sum(x.nbytes for _, x in self._inputs.values()) > self.max_input_bytes):
                gone, _ = self._inputs.popitem(last=False)
                self._runs.pop(gone, None)
        self._keep(run_id, r)
        self._share(model, run_id, r.x)
        return run_id

    def _share(self, model: Model, run_id: str, x: np.ndarray) -> None:
        if self.shared is None:
            return
        x = np.ascontiguousarray(x, np.float32)
        try:
            self.shared.put(NS, run_id, x.tobytes(), {"model": model.name, "shape": list(x.shape)},
                            size=x.nbytes, owner="", address="")
        except (StoreFull, StoreUnavailable) as exc:  # the trace then needs this process
            log.warning("run %s kept in this process only: %s", run_id[:6], exc)

    def _shared_input(self, model: Model, run_id: str) -> np.ndarray | None:
        """The input another process kept for ``run_id``, if it was a run of ``model``
        and has exactly the model's input shape (the store may be shared: checked)."""
        if self.shared is None:
            return None
        try:
            item = self.shared.get(NS, run_id)
        except StoreUnavailable:
            return None
        if item is None or item.meta.get("model") != model.name:
            return None
        shape = tuple(item.meta.get("shape") or ())
        expected = tuple(model.input_spec["shape"][1:])
        if len(shape) != 4 or shape[0] != 1 or shape[1:] != expected or (
                len(item.data) != 4 * math.prod(shape)):
            log.error("shared input of run %s does not fit %s; ignored", run_id[:6], model.name)
            return None
        x = np.frombuffer(item.data, np.float32).reshape(shape).copy()
        return x if np.all(np.isfinite(x)) else None

    def _keep(self, run_id: str, r: Run) -> None:
        if r.nbytes > self.max_bytes // 4:
            return  # a run this large is run again from its input when traced
        with self._lock:
            if run_id not in self._inputs:
                return
            self._runs[run_id] = r
            self._runs.move_to_end(run_id)
            while len(self._runs) > self.max_runs or (
                    sum(v.nbytes for v in self._runs.values()) > self.max_bytes):
                self._runs.popitem(last=False)

    def get(self, model: Model, run_id: str) -> Run | None:
        """The run ``run_id`` of ``model`` (run again from its input if its tensors were
        dropped); None when this process no longer has it, or it was of another model."""
        with self._lock:
            found = self._inputs.get(run_id)
            if found is not None and found[0] != _owner(model):
                return None
            if found is not None:
                self._inputs.move_to_end(run_id)
                r = self._runs.get(run_id)
                if r is not None:
                    self._runs.move_to_end(run_id)
                    return r
        x = found[1] if found is not None else self._shared_input(model, run_id)
        if x is None:
            return None
        r = run_model(model, x, compare=False)
        with self._lock:
            self._inputs.setdefault(run_id, (_owner(model), x))
        self._keep(run_id, r)
        return r


def warm(models) -> None:
    """Run each model once on a blank image, in the engine and in onnxruntime, so that
    the first student's ``/inspect`` does not pay for loading the engine's graph and
    the first calls into both runtimes. Nothing is cached but the loaded graph."""
    for model in models:
        x = np.zeros([1, *model.input_spec["shape"][1:]], np.float32)
        run(model.graph(), x, keep=False)
        model.session.run(None, {model.input_name: x})
