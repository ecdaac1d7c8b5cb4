"""The numbers behind the architectures page's three ideas, counted by the engine: VGG's
stacked small filters (in :func:`course.architectures.stacked_vs_single`) and its other
lessons, the Inception module with and without 1x1 bottlenecks, and the residual blocks.

Functions return :class:`course.layer_rows.Row` objects inside plain dicts; the router
turns them into JSON. The quoted lessons carry their sources.
"""

from __future__ import annotations

from course import architectures as arch
from course.architecture_info import cite
from course.architecture_notes import find_row
from engine.ops import counts

__all__ = ["INCEPTION_INPUT", "inception_idea", "residual_idea", "vgg_lessons"]

#: ConvLab's Inception example (not in the course notes): a 28x28x256 input, the size of
#: GoogLeNet's inception3a output, with branch widths 128, 192, 96.
INCEPTION_INPUT = (256, 28, 28)


def vgg_lessons() -> list[dict]:
    """What else VGG's paper taught, each with where it says so."""
    alex = arch.table("alexnet_paper")
    lrn = sum(1 for r in alex.rows if r.type == "norm")
    return [
        {"title": "No local response normalisation",
         "text": f"AlexNet had {lrn} LRN layers. VGG trained its smallest network with and without "
                 "one (A-LRN and A) and found no gain, only more memory and time, so the "
                 "deeper networks B to E have none.",
         "source": cite("simonyan2015", "Sec. 4.1, Table 3")},
        {"title": "Ensembles",
         "text": "Averaging the class scores of several networks lowers the error: the "
                 "submitted entry averaged 7 networks (7.3% top-5 test error); after the "
                 "contest the 2 best, VGG16 and VGG19, reached 6.8%.",
         "source": cite("simonyan2015", "Sec. 4.4 and 4.5, Tables 6 and 7")},
        {"title": "FC7 features, used elsewhere",
         "text": "The 4,096 values of the last hidden layer (FC7) describe an image well "
                 "enough to be used as features for other datasets and tasks (PASCAL VOC, "
                 "Caltech-101 and -256, action classification), with a simple classifier "
                 "trained on top; the networks were released for that.",
         "source": cite("simonyan2015", "Appendix B")},
    ]


def _module(name: str, branches: tuple[tuple[object, ...], ...]) -> dict:
    """One Inception module on :data:`INCEPTION_INPUT`: the block row and each branch's rows."""
    row = arch.layer_row(arch.Branches(branches, name=name), INCEPTION_INPUT)
    paths = [arch.walk(b, INCEPTION_INPUT)[0] for b in branches]
    return {"row": row, "branches": [{"rows": p, "params": sum(r.params for r in p),
                                      "macs": sum(r.macs for r in p),
                                      "output_shape": p[-1].output_shape} for p in paths]}


def inception_idea() -> dict:
    """The naive module against the one with 1x1 bottlenecks, the multiply-adds saved, and
    what dropping the big FC layers saves in GoogLeNet."""
    pool = arch.Pool(3, 1, 1, name="3x3 max pool")
    naive = _module("naive", (
        (arch.Conv(128, 1, name="1x1 conv, 128"),),
        (arch.Conv(192, 3, padding=1, name="3x3 conv, 192"),),
        (arch.Conv(96, 5, padding=2, name="5x5 conv, 96"),),
        (pool,),
    ))
    neck = _module("with 1x1 bottlenecks", (
        (arch.Conv(128, 1, name="1x1 conv, 128"),),
        (arch.Conv(64, 1, name="1x1 conv, 64"), arch.Conv(192, 3, padding=1, name="3x3 conv, 192")),
        (arch.Conv(64, 1, name="1x1 conv, 64"), arch.Conv(96, 5, padding=2, name="5x5 conv, 96")),
        (pool, arch.Conv(64, 1, name="1x1 conv, 64")),
    ))
    n_macs, b_macs = naive["row"].macs, neck["row"].macs
    goog = arch.table("googlenet")
    last = find_row(goog, "inception5b").output_shape
    fc = counts.dense_params(counts.activation_count(last), 4096)
    return {
        "input_shape": list(INCEPTION_INPUT),
        "example_by": "convlab",
        "naive": naive["row"],
        "bottleneck": neck["row"],
        "naive_branches": naive["branches"],
        "bottleneck_branches": neck["branches"],
        "saving": {
            "macs_saved": n_macs - b_macs,
            "ratio": n_macs / b_macs,
            "text": f"{n_macs:,} - {b_macs:,} = {n_macs - b_macs:,} multiply-adds saved: the "
                    f"naive module needs {n_macs / b_macs:.1f}x as many, and its output is "
                    f"{naive['row'].output_shape[0]} channels deep against "
                    f"{neck['row'].output_shape[0]}.",
        },
        "no_fc": {
            "last_volume": list(last),
            "fc_4096_params": fc.total,
            "fc_formula": f"({'*'.join(map(str, last))} + 1)*4096 = {fc.total:,}",
            "avgpool_params": 0,
            "classifier_params": find_row(goog, "fc").params,
            "total_params": goog.total_params,
        },
    }


def residual_idea(c: int, size: int = 56) -> dict:
    """A basic block on ``c`` channels, on ``4c``, a bottleneck ``4c -> c -> 4c``, a
    downsampling block, and the depths and totals of the four ResNets."""
    block = arch.residual_block
    return {
        "channels": c,
        "spatial": size,
        "basic": arch.layer_row(block(c, c, 1, False, "basic"), (c, size, size)),
        "basic_wide": arch.layer_row(block(4 * c, 4 * c, 1, False, "basic"), (4 * c, size, size)),
        "bottleneck": arch.layer_row(block(4 * c, c, 1, True, "bottleneck"), (4 * c, size, size)),
        "downsampling": arch.layer_row(block(c, 2 * c, 2, False, "downsampling"), (c, size, size)),
        "identity_params": 0,
        "resnets": [{"name": n, "depth": arch.table(n).depth, "total_params": arch.table(n).total_params}
                    for n in ("resnet18", "resnet34", "resnet50", "resnet152")],
    }
