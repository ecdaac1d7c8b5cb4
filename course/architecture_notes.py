"""The notes beside each case study's table: where a figure the course (or a paper, or
ConvLab itself) states differs from the exact count, both, and why.

Every number comes from :mod:`course.architectures` (the layer specifications counted by
the engine's shape functions) or is a quotation from :mod:`course.architecture_info` with
its source; this module writes the sentences around them. Each note says who makes the
claim it checks (``claim_by``): ``"course"`` (the course notes), ``"paper"`` (the network's
paper) or ``"convlab"`` (a choice ConvLab made that is not in the course notes).
``app/routers/architectures.py`` serves them.
"""

from __future__ import annotations

from course import architectures as arch
from course.architecture_info import base_of, cite
from course.layer_rows import megabytes
from engine.ops import counts, shapes

__all__ = ["COUNTING", "find_row", "notes"]

COUNTING = (
    "Parameters are weights + biases + BatchNorm's scale and shift (2 per channel, learned "
    "by gradient descent; BatchNorm's running mean and variance are estimated from the "
    "training batches, not learned, and are not counted). The Weights column leaves the "
    "biases and BatchNorm out. Multiply-adds (MACs) are counted for conv layers, "
    "Ho*Wo*K*(KH*KW*C/groups), and fully connected layers, in*out; BatchNorm, ReLU, pooling "
    "and the residual additions are not counted. Activations are the values one image's "
    "forward pass stores, the input included: a conv's ReLU and BatchNorm keep its shape and "
    "are counted with it, Flatten only reshapes (0). Memory is activations x 4 bytes "
    "(float32), in decimal megabytes (1 MB = 1,000,000 bytes)."
)


def _n(x: int) -> str:
    return f"{x:,}"


def _note(topic: str, claim: str, claim_by: str, exact: str, explanation: str,
          source: str = "") -> dict:
    return {"topic": topic, "claim": claim, "claim_by": claim_by, "exact": exact,
            "explanation": explanation, "source": source}


def find_row(table: arch.Table, name: str) -> arch.Row:
    """The row called ``name`` (a top-level layer) of ``table``."""
    return next(r for r in table.rows if r.name == name)


def _lenet(t: arch.Table) -> list[dict]:
    old = shapes.output_size(32, 5)
    new = shapes.output_size(28, 5, 1, 2)
    return [_note(
        "Input and parameter count", "ConvLab's LeNet-5: 28x28 input, first conv padded by 2",
        "convlab", f"{_n(t.total_params)} parameters",
        f"The 1998 paper fed 32x32 images with no padding: (32 - 5)/1 + 1 = {old.size}, the "
        f"same {new.size}x{new.size}x6 output as (28 - 5 + 2*2)/1 + 1 = {new.size}. Its third "
        "layer connected 15 of its 16 maps to only some of the 6 maps before it (the 16th to "
        "all six), and its output layer had no biases, so the paper's count is about 60,000; "
        f"ConvLab's fully connected version has {_n(t.total_params)}.",
        cite("lecun1998", "Sec. II.B"))]


def _alexnet() -> list[dict]:
    tv, paper, tower = (arch.table(n) for n in ("alexnet", "alexnet_paper", "alexnet_one_tower"))
    at224 = shapes.output_size(224, 11, 4)
    tvs = shapes.output_size(224, 11, 4, 2)
    c1, c2, c3 = (find_row(paper, n) for n in ("conv1", "conv2", "conv3"))
    tower_c2 = find_row(tower, "conv2")
    return [
        _note(
            "Input size: 227 or 224?",
            "227x227x3 input, CONV1 96 filters 11x11 stride 4 -> 55x55x96", "course",
            f"torchvision: 224x224 with padding 2 -> {tvs.size}x{tvs.size}x64",
            f"The paper says 224x224, but (224 - 11)/4 + 1 = {at224.exact:.2f} does not fit; "
            "227 does: (227 - 11)/4 + 1 = 55. torchvision keeps 224 and pads by 2: "
            f"(224 - 11 + 2*2)/4 + 1 = {tvs.exact:.2f}, rounded down to {tvs.size}.",
            cite("krizhevsky2012", "Sec. 3.5")),
        _note(
            "Parameters: ~60M", "about 60M parameters; CONV1 has 35K", "course",
            f"paper layout {_n(paper.total_params)}; one tower {_n(tower.total_params)}; "
            f"torchvision {_n(tv.total_params)}",
            "The paper split conv2, conv4 and conv5 across two GPUs, so each filter sees only "
            f"half the channels: {_n(paper.total_params)} parameters (the course's 60M). As one "
            f"tower it would be {_n(tower.total_params)}. torchvision's AlexNet uses 64, 192, "
            f"384, 256, 256 filters: {_n(tv.total_params)}. The paper's CONV1 has "
            f"{c1.params_formula} parameters."),
        _note(
            "Two GPUs", "trained on two GTX 580 GPUs with 3 GB each; half the filters on each",
            "paper", f"conv2: {c2.params_formula}",
            "A 3 GB GPU could not hold the network, so each GPU held half the filters of every "
            "layer (48 of CONV1's 96). CONV2, CONV4 and CONV5 read only the maps on their own GPU "
            f"(groups=2 in today's terms): conv2's filters are 5x5x48, {c2.params_formula}, "
            f"against {tower_c2.params_formula} on one GPU. CONV3 and the FC layers read the "
            f"maps of both GPUs ({c3.params_formula} for CONV3). The output shapes are the same "
            "either way.",
            cite("krizhevsky2012", "Sec. 3.2")),
        _note(
            "NORM1 and NORM2", "NORM layers: local response normalisation, after POOL1 and POOL2",
            "course", "0 parameters; each keeps its input's shape",
            "LRN divides each value by a sum over the same position in neighbouring channels: "
            "nothing to learn. The paper applies it before pooling (the course's order, "
            "POOL then NORM, is Caffe's reference model's); the parameters are the same, only "
            "the NORM outputs are larger. It did not last: VGG measured no gain from it (its "
            "network A with LRN was no better than without), and after BatchNorm (2015) new "
            "networks dropped it.",
            cite("krizhevsky2012", "Sec. 3.3 and 3.5") + "; " + cite("simonyan2015", "Sec. 4.1, Table 3")),
    ]


def _vgg16(t: arch.Table) -> list[dict]:
    fc = sum(r.params for r in t.rows if r.type == "dense")
    early = sum(r.activations for r in t.rows[:3]) + counts.activation_count(t.input_shape)
    first, fc6 = t.rows[0], find_row(t, "fc6")
    nbytes = counts.float32_bytes(t.total_activations)
    biases = t.total_params - t.total_weights
    return [
        _note(
            "Weights or parameters?",
            f"weights only in the table ({_n(first.weights)} for CONV3-64 ... {_n(fc6.weights)} "
            "for FC 4096); 138M parameters in total", "course",
            f"weights + biases: {_n(first.params)} ... {_n(fc6.params)}; total "
            f"{_n(t.total_weights)} + {_n(biases)} = {_n(t.total_params)}",
            f"The course's per-layer figures count the weights alone ({_n(first.weights)} for "
            f"the first conv, {_n(fc6.weights)} for FC6). ConvLab's Parameters column "
            f"adds one bias per filter or unit: {first.params_formula}; {fc6.params_formula}. The "
            f"course's 138M total does include the biases: {_n(t.total_weights)} weights + "
            f"{_n(biases)} biases = {_n(t.total_params)}. Both columns are in the table. The 3 "
            f"FC layers hold {_n(fc)} of the parameters ({100 * fc / t.total_params:.0f}%)."),
        _note(
            "Memory per image",
            "total memory 24M values x 4 bytes = 96 MB per image, forward pass", "course",
            f"{_n(t.total_activations)} values × 4 bytes = {_n(nbytes)} bytes = {megabytes(nbytes)}",
            f"The slide's rows add up to about {t.total_activations / 1e6:.1f} M values, about "
            f"{nbytes / 1e6:.0f} MB per image forward; the 24 M total is a slip (24M × 4 bytes "
            "is where its 96 MB comes from). 'Forward' means the values one image's forward "
            "pass stores; training keeps them for the backward pass and adds a gradient of the "
            "same size for each, about twice as much. Most memory is in the early layers: the "
            f"input and the first two convs and pool store {_n(early)} values "
            f"({100 * early / t.total_activations:.0f}%)."),
    ]


def _googlenet() -> list[dict]:
    t, paper = arch.table("googlenet"), arch.table("googlenet_paper")
    alex_paper, alex_tv = arch.table("alexnet_paper"), arch.table("alexnet")
    ratio = alex_paper.total_params / paper.total_params
    ratio_tv = alex_tv.total_params / t.total_params
    classifier = find_row(t, "fc")
    return [
        _note(
            "Parameters: 12x fewer than AlexNet?", "about 5M parameters, 12x fewer than AlexNet",
            "course",
            f"paper layouts: {_n(alex_paper.total_params)} / {_n(paper.total_params)} = "
            f"{ratio:.1f}x; torchvision: {_n(alex_tv.total_params)} / {_n(t.total_params)} = "
            f"{ratio_tv:.1f}x",
            "The 12x is the GoogLeNet paper's round figure (Sec. 1); the pairing of about 5M "
            "against AlexNet's 60M is its authors' later summary (Szegedy et al., 'Rethinking "
            "the Inception Architecture for Computer Vision', CVPR 2016, Sec. 1). Counted "
            f"exactly, the paper's layers (5x5 branches, biases) hold {_n(paper.total_params)} "
            f"({_n(find_row(paper, 'fc').params)} in the final 1000-way classifier), so AlexNet "
            f"has about {ratio:.0f}x as many, not 12x. torchvision's version uses 3x3 convs in "
            "the '5x5' branches and BatchNorm after every conv (no conv biases): "
            f"{_n(t.total_params)}, {_n(classifier.params)} in the classifier. The two auxiliary "
            "classifiers used only in training are left out of both.",
            cite("szegedy2015", "Sec. 1")),
        _note(
            "Local response normalisation", "two LRN layers in the stem (the paper's Figure 3)",
            "paper", "0 parameters (in the paper's layout; torchvision has none)",
            "GoogLeNet (2014) still normalised after its first pool and its third conv, as "
            "AlexNet did; torchvision's version uses BatchNorm instead.",
            cite("szegedy2015", "Figure 3")),
    ]


def _resnet(name: str, t: arch.Table) -> list[dict]:
    out = [_note(
        "BatchNorm and shortcuts", "batch normalisation right after each convolution, before "
        "the activation", "paper", f"{_n(t.total_params)} parameters (torchvision)",
        "Every conv is followed by BatchNorm: a learned scale and shift per channel (2 "
        "parameters), plus a running mean and variance estimated during training (not "
        "learned, not counted). The convs have no bias (BatchNorm's shift replaces it). "
        "Identity shortcuts add no parameters; where the shape changes a 1x1 projection conv "
        "(+ BN; stride 2 where the size halves) matches it.",
        cite("he2016", "Sec. 3.3 and 3.4"))]
    if name in ("resnet18", "resnet34"):
        return out
    v1 = arch.table(f"{name}_v1")
    return [*out, _note(
        "v1.5: where the stride goes", "bottleneck: 1x1, 3x3, 1x1 with the stride on the first "
        "1x1", "paper", "stride 2 on the 3x3 conv (torchvision, 'v1.5')",
        "The 2015 paper downsamples with the first 1x1 conv of a block; torchvision moved the "
        "stride to the 3x3 conv, which costs more multiply-adds. Counted: "
        f"{_n(t.total_macs)} multiply-adds with the stride on the 3x3, {_n(v1.total_macs)} "
        "with it on the first 1x1; the parameters are the same.",
        cite("he2016", "Sec. 3.3 and 4.1"))]


def notes(name: str) -> list[dict]:
    """Where a stated figure differs from the exact count, both, and why (a variant gets
    the notes of the network it lays out)."""
    base = base_of(name)
    t = arch.table(base)
    if base == "lenet5":
        return _lenet(t)
    if base == "alexnet":
        return _alexnet()
    if base == "vgg16":
        return _vgg16(t)
    if base == "googlenet":
        return _googlenet()
    if base.startswith("resnet"):
        return _resnet(base, t)
    return []
