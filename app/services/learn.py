"""Training runs served statelessly: each request loads a run from the shared store, works on
it and writes it back, so any process on any host can serve any step.

- A run is named by ``run-`` + 128 random bits; whoever holds the id can use it.
- Its bytes are :meth:`course.learn.RunState.to_bytes` (config, parameters, optimiser
  moments, curves), at most :attr:`LearnLimits.run_bytes`, in the store's ``learn``
  namespace, with metadata ``{"version", "step", "config", "n_train", "source"}``.
- Writes are version-checked (``put(..., expect=("version", v))``): of two steps that
  start from the same version only the first write lands; the other answers 409. In one
  process a run busy with a step answers 409 at once instead of computing for nothing.
- Quotas (the store's ``learn`` limits): runs and bytes per browser (``convlab_client``
  cookie), bytes per network address (a run counts at least :data:`MIN_COUNTED` bytes,
  so an address keeps a bounded number of runs), and in total; 429 / 507 say which.
- A run unused for ``idle_s`` seconds (default one hour) is deleted.
"""

from __future__ import annotations

import logging
import math
import secrets
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np

from app.errors import ApiError, megabytes
from app.services import learn_data
from app.services.learn_limits import MIN_COUNTED, LearnLimits
from app.services.learn_views import curves_json, summary_json, view_json
from app.services.store import Store, StoreConflict, StoreFull, StoreUnavailable
from course.learn import Config, RunState, new_run, reset, steps
from course.learn.network import param_shapes
from course.learn.recipes import DATASETS

log = logging.getLogger("convlab")

NS = "learn"
RUN_ID_PREFIX = "run-"
DATA_WAIT_S = 2.0  # how long a request waits for a data set's first load before a 503


def new_run_id() -> str:
    """``run-`` + 16 random bytes (128 bits) as URL-safe base64."""
    return RUN_ID_PREFIX + secrets.token_urlsafe(16)


def _valid_id(run: str) -> bool:
    return (run.startswith(RUN_ID_PREFIX) and len(run) == len(RUN_ID_PREFIX) + 22
            and all(c.isalnum() or c in "-_" for c in run[len(RUN_ID_PREFIX):]))


class LearnRuns:
    """Training runs in ``store`` (namespace ``learn``), on the data of ``data_dir``."""

    def __init__(self, store: Store, data_dir: Path | None, limits: LearnLimits) -> None:
        self.store = store
        self.data_dir = data_dir
        self.limits = limits
        self._busy: set[str] = set()
        self._in_flight: dict[str, int] = {}  # run owner -> step calls in progress here
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ helpers

    def data(self, dataset: str):
        """The data set, or 503 + ``Retry-After`` while this process is still loading it
        (the full CIFAR-10 decodes 50,000 JPEGs once): a request never waits for that."""
        try:
            return learn_data.load(dataset, self.data_dir, wait_s=DATA_WAIT_S)
        except learn_data.StillLoading:
            raise ApiError(503, f"This server is still loading its {DATASETS[dataset].title} "
                                "images (the first use after a start reads them once); try "
                                "again in a few seconds.",
                           headers={"Retry-After": "3"}) from None

    def missing(self, run: str) -> ApiError:
        return ApiError(404, f"There is no training run {run[:60]!r} on this server. A run "
                             f"unused for {self.limits.idle_s / 60:g} minutes is deleted, or "
                             "its owner deleted it: start a new one with POST /api/learn/runs.")

    @contextmanager
    def _answering(self) -> Iterator[None]:
        try:
            yield
        except StoreUnavailable as exc:
            log.error("the run store did not answer: %s", exc)
            raise ApiError(503, "The store of training runs is not answering right now; try "
                                "again in a minute.", headers={"Retry-After": "5"}) from None

    @contextmanager
    def _exclusive(self, run: str) -> Iterator[None]:
        """One step (or reset) of a run at a time in this process: a second gets 409 now."""
        with self._lock:
            if run in self._busy:
                raise self._conflict()
            self._busy.add(run)
        try:
            yield
        finally:
            with self._lock:
                self._busy.discard(run)

    @contextmanager
    def _client_slot(self, owner: str) -> Iterator[None]:
        """At most ``steps_in_flight_per_client`` step calls of one browser's runs at once
        in this process, so one student's tabs cannot take every heavy-work slot."""
        cap = self.limits.steps_in_flight_per_client
        with self._lock:
            if self._in_flight.get(owner, 0) >= cap:
                raise ApiError(429, f"This browser's runs already have {cap} step requests "
                                    "in progress; wait for one to answer.",
                               headers={"Retry-After": "1"})
            self._in_flight[owner] = self._in_flight.get(owner, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                left = self._in_flight.pop(owner) - 1
                if left:
                    self._in_flight[owner] = left

    @staticmethod
    def _conflict() -> ApiError:
        return ApiError(409, "This run is busy with another request (another tab or script "
                             "is stepping it); wait for that answer and try again.",
                        headers={"Retry-After": "1"})

    def _refusal(self, full: StoreFull) -> ApiError:
        lim = self.limits
        if full.limit == "owner_items":
            return ApiError(429, f"You already have {full.held} training runs on this server, "
                                 f"the limit per browser. Delete one (DELETE /api/learn/runs/"
                                 f"{{run}}), or wait: a run unused for {lim.idle_s / 60:g} "
                                 "minutes is deleted.")
        if full.limit in ("owner", "address"):
            who = "your browser" if full.limit == "owner" else "your network address"
            cap = lim.client_bytes if full.limit == "owner" else lim.address_bytes
            return ApiError(429, f"The training runs of {who} hold {megabytes(full.held)}, "
                                 f"the limit is {megabytes(cap)} (each run counts at least "
                                 f"{megabytes(MIN_COUNTED)}). Delete a run, or try later.")
        return ApiError(507, "The server's store of training runs is full; unused runs expire "
                             f"after {lim.idle_s / 60:g} minutes. Try again later.")

    def _write(self, run: str, state: RunState, meta: dict, *, owner: str, address: str,
               expect: int | None) -> dict:
        data = state.to_bytes()
        if len(data) > self.limits.run_bytes:
            raise ApiError(409, f"This run has grown to {megabytes(len(data))}, over the "
                                f"limit of {megabytes(self.limits.run_bytes)} per run "
                                "(its curves grow with its steps). Start a new run.")
        new_meta = {**meta, "version": meta.get("version", 0) + 1, "step": state.step,
                    "owner": owner, "address": address}
        try:
            with self._answering():
                self.store.put(NS, run, data, new_meta, size=max(len(data), MIN_COUNTED),
                               owner=owner, address=address,
                               expect=None if expect is None else ("version", expect))
        except StoreFull as full:
            raise self._refusal(full) from None
        except StoreConflict:
            raise self._conflict() from None
        return new_meta

    def _read(self, run: str) -> tuple[RunState, dict]:
        if not _valid_id(run):
            raise self.missing(run)
        with self._answering():
            item = self.store.get(NS, run)
        if item is None:
            raise self.missing(run)
        try:
            if not self.store.trusted:
                _check_bytes(item.data, self.limits.run_bytes)
            state = RunState.from_bytes(item.data)
            if not self.store.trusted:
                _check_shapes(state)
        except (ValueError, KeyError, TypeError) as exc:
            log.error("stored run %s is not a valid run: %s", run, exc)
            raise self.missing(run) from None
        return state, item.meta

    # ------------------------------------------------------------------ operations

    def create(self, options: dict[str, Any], *, owner: str, address: str) -> dict:
        try:
            config = Config.make(**options)
        except ValueError as exc:
            raise ApiError(422, str(exc)) from None
        data = self.data(config.dataset)
        try:
            state = new_run(config, len(data.train_y))
        except ValueError as exc:
            raise ApiError(422, str(exc)) from None
        run = new_run_id()
        meta = {"source": learn_data.source(config.dataset, self.data_dir)}
        self._write(run, state, meta, owner=owner, address=address, expect=None)
        return summary_json(run, state, data, meta, self.limits)

    def summary(self, run: str) -> dict:
        state, meta = self._read(run)
        return summary_json(run, state, self.data(state.config.dataset), meta, self.limits)

    def state(self, run: str) -> RunState:
        return self._read(run)[0]

    def _data_for(self, state: RunState):
        data = self.data(state.config.dataset)
        if len(data.train_y) != state.n_train:
            raise ApiError(409, f"This run was made for {state.n_train} training images and "
                                f"the server now has {len(data.train_y)} (its data folder "
                                "changed). Start a new run.")
        return data

    def step(self, run: str, n: int, *, view: bool, since: int) -> dict:
        with self._exclusive(run):
            state, meta = self._read(run)
            with self._client_slot(meta["owner"]):
                return self._step(run, state, meta, n, view=view, since=since)

    def _step(self, run: str, state: RunState, meta: dict, n: int, *, view: bool,
              since: int) -> dict:
        data = self._data_for(state)
        left = self.limits.max_steps - state.step
        if left <= 0:
            raise ApiError(409, f"This run has done {state.step} steps, the most one run "
                                "may do here. Export it, or start a new run.")
        before_val = len(state.curves["val_step"])
        report = steps(state, data, min(n, left), self.limits.time_budget_s)
        self._write(run, state, meta, owner=meta["owner"], address=meta["address"],
                    expect=meta["version"])
        out = {"run": run, "step": report.step, "epoch": report.epoch,
               "steps_done": report.steps, "loss": _num(report.loss),
               "train_accuracy": _num(report.train_acc),
               "images_per_second": _num(report.images_per_s),
               "seconds": _num(report.seconds),
               "validation": None}
        if len(state.curves["val_step"]) > before_val:
            out["validation"] = {"step": int(state.curves["val_step"][-1]),
                                 "accuracy": _num(state.curves["val_acc"][-1]),
                                 "loss": _num(state.curves["val_loss"][-1])}
        if since >= 0:
            out["curves"] = curves_json(state, since)
        if view:
            out["view"] = view_json(state, data, 0)
        return out

    def view(self, run: str, image: int) -> dict:
        state, _ = self._read(run)
        data = self._data_for(state)
        if not 0 <= image < len(data.val_y):
            raise ApiError(422, f"image must be in [0, {len(data.val_y) - 1}], got {image}")
        return view_json(state, data, image)

    def reset(self, run: str) -> dict:
        with self._exclusive(run):
            state, meta = self._read(run)
            data = self.data(state.config.dataset)  # a 503 (still loading) before any write
            fresh = reset(state)
            meta = self._write(run, fresh, meta, owner=meta["owner"], address=meta["address"],
                               expect=meta["version"])
        return summary_json(run, fresh, data, meta, self.limits)

    def delete(self, run: str) -> bool:
        with self._answering():
            return _valid_id(run) and self.store.delete(NS, run)


def _num(v: float) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def _check_bytes(data: bytes, cap: int) -> None:
    """Bytes from a store others may write: a zip whose members unpack to at most ``cap``."""
    with zipfile.ZipFile(BytesIO(data)) as zf:
        if sum(i.file_size for i in zf.infolist()) > cap:
            raise ValueError("members too large")


def _check_shapes(state: RunState) -> None:
    """Parameters, buffers and moments exactly as the config makes them."""
    params, buffers, _ = param_shapes(state.config)
    got = {k: v.shape for k, v in state.params.items()}
    if got != {k: tuple(s) for k, s in params.items()}:
        raise ValueError("parameter shapes differ from the config's")
    if {k: v.shape for k, v in state.buffers.items()} != {k: tuple(s) for k, s in buffers.items()}:
        raise ValueError("buffer shapes differ from the config's")
    for name, m in state.moments.items():
        if name[2:] not in state.params or m.shape != state.params[name[2:]].shape:
            raise ValueError(f"moment {name} does not match a parameter")
    for group in (state.params, state.buffers, state.moments):
        if any(a.dtype != np.float32 for a in group.values()):
            raise ValueError("arrays must be float32")
    if any(a.ndim != 1 or len(a) > state.step + 1 for a in state.curves.values()):
        raise ValueError("curves longer than the steps")
