"""app.services.runs.RunStore: runs by unguessable id, tensors bounded, inputs kept longer."""

from __future__ import annotations

import numpy as np

from app.services.runs import RunStore, run_model
from engine.graph import Node
from tests.engine.graphkit import graph


class FakeModel:
    input_spec = {"shape": [1, 1, 64, 64]}

    def __init__(self, name: str):
        self.name = name
        self.runs = 0
        self._graph = graph([Node("r", "Relu", ("x",), ("r",))], {}, shape=(1, 1, 64, 64))

    def graph(self):
        self.runs += 1
        return self._graph


def x(v: float) -> np.ndarray:
    return np.full((1, 1, 64, 64), v, np.float32)


def test_ids_are_unguessable_and_name_one_run_of_one_model():
    runs, a, b = RunStore(), FakeModel("a"), FakeModel("b")
    ids = {runs.add(a, run_model(a, x(i), compare=False)) for i in range(5)}
    assert len(ids) == 5 and all(len(i) >= 22 for i in ids)
    some = next(iter(ids))
    assert runs.get(a, some) is not None
    assert runs.get(b, some) is None and runs.get(a, "A" * 22) is None
    assert runs.get(FakeModel("a"), some) is None  # same name, another load: not its run


def test_dropped_tensors_are_computed_again_from_the_input_then_the_input_goes_too():
    runs, m = RunStore(max_runs=2, max_inputs=4), FakeModel("m")
    ids = [runs.add(m, run_model(m, x(-i), compare=False)) for i in range(4)]
    assert len(runs._runs) == 2 and len(runs._inputs) == 4
    before = m.runs
    again = runs.get(m, ids[0])
    assert m.runs == before + 1 and again is not None
    np.testing.assert_array_equal(again.values["r"], np.maximum(x(0), 0))
    runs.add(m, run_model(m, x(9), compare=False))
    assert runs.get(m, ids[1]) is None  # the oldest input was let go: inspect again


def test_tensors_are_bounded_in_bytes():
    one = 2 * 64 * 64 * 4  # x and r
    runs, m = RunStore(max_bytes=4 * one + one // 2), FakeModel("m")
    for i in range(5):
        runs.add(m, run_model(m, x(i), compare=False))
    assert len(runs._runs) == 4 and len(runs._inputs) == 5
    big = RunStore(max_bytes=3 * one)  # one run over a quarter of the budget: input only
    run_id = big.add(m, run_model(m, x(1), compare=False))
    assert run_id not in big._runs and big.get(m, run_id) is not None


def test_another_process_runs_again_from_the_shared_input(tmp_path):
    """Two processes (two RunStores) sharing one store file, as `--workers 2` or hosts
    sharing Redis do: a run added on one is traced on the other."""
    from app.services.runs import NS, SHARED_LIMITS
    from app.services.store import SQLiteStore

    def process() -> tuple[RunStore, SQLiteStore]:
        db = SQLiteStore(tmp_path / "s.sqlite3", SHARED_LIMITS, spaces={NS: SHARED_LIMITS})
        return RunStore(shared=db), db

    (a, db), (b, _) = process(), process()
    ma, mb = FakeModel("m"), FakeModel("m")  # the same model, loaded in each process
    first = run_model(ma, x(-2.5) + np.arange(64 * 64, dtype=np.float32).reshape(1, 1, 64, 64),
                      compare=False)
    run_id = a.add(ma, first)
    again = b.get(mb, run_id)
    assert again is not None and np.array_equal(again.values["r"], first.values["r"])
    assert b.get(FakeModel("other"), run_id) is None
    assert RunStore().get(mb, run_id) is None  # no shared store: this process never saw it
    bad = a.add(ma, run_model(ma, x(1.0), compare=False))
    item = db.get(NS, bad)
    db.put(NS, bad, item.data, {**item.meta, "shape": [1, 1, 32, 128]}, size=len(item.data),
           owner="", address="")  # bytes that do not fit the model's input
    assert b.get(mb, bad) is None
