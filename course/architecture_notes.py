"""The words around the case studies: titles, the idea each network introduced, the
published error rates with their context, how the counts are made, and where the course's
rounded figures differ from the exact counts (and why).

Every number comes from :mod:`course.architectures` (the layer specifications counted by
the engine's shape functions); this module adds only the sentences around them.
``app/routers/architectures.py`` serves them.
"""

from __future__ import annotations

from course import architectures as arch
from engine.ops import counts, shapes

__all__ = ["COUNTING", "INFO", "find_row", "notes"]

COUNTING = (
    "Parameters are weights + biases + BatchNorm's scale and shift (2 per channel; its "
    "running mean and variance are statistics, not learned). Multiply-adds (MACs) are "
    "counted for conv layers, Ho*Wo*K*(KH*KW*C/groups), and fully connected layers, in*out; "
    "BatchNorm, ReLU, pooling and the residual additions are not counted. Activations are "
    "the values one image's forward pass stores, the input included: a conv's ReLU and "
    "BatchNorm keep its shape and are counted with it, Flatten only reshapes (0). Memory "
    "is activations x 4 bytes (float32)."
)

_VGG_IDEA = (
    "Smaller filters, deeper network: only 3x3 convs (stride 1, pad 1) and 2x2 max pools "
    "(stride 2). Three stacked 3x3 convs see a 7x7 region with fewer parameters and three "
    "non-linearities instead of one."
)
_VGG_ERR = {
    "value": 7.3,
    "context": (
        "ILSVRC 2014 classification, 2nd place (Simonyan & Zisserman, Oxford's VGG team): "
        "top-5 error on the test set of their submitted ensemble of 7 networks. The same "
        "figure is shown for VGG16 and VGG19 because it belongs to the team's ensemble, not "
        "to one model; after the contest an ensemble of just 2 (VGG16 + VGG19) reached 6.8%."
    ),
}
_RESNET_IDEA = (
    "Residual blocks: each block learns a residual F(x) and outputs H(x) = F(x) + x through "
    "an identity shortcut, so a 152-layer network trains better than a shallower one. From "
    "ResNet-50 up, bottleneck blocks (1x1 down, 3x3, 1x1 up) keep it affordable; global "
    "average pooling replaces the big FC layers."
)
_RESNET_ERR = {
    "value": 3.57,
    "context": (
        "ILSVRC 2015 classification winner (He, Zhang, Ren & Sun, Microsoft Research): top-5 "
        "error on the test set of an ensemble of 6 ResNets of different depths (two of them "
        "152-layer). It is the ensemble's figure, shown for every ResNet; a single ResNet-152 "
        "had 4.49% on the validation set."
    ),
}

#: name -> the words about it; the numbers come from course.architectures.table(name).
INFO: dict[str, dict] = {
    "lenet5": {
        "title": "LeNet-5", "year": 1998, "authors": "LeCun, Bottou, Bengio & Haffner",
        "idea": (
            "The CNN that set the pattern: conv -> pool -> conv -> pool -> fully connected, "
            "trained with backpropagation to read handwritten digits (its 1989 predecessor "
            "read zip codes); deployed to read bank cheques."
        ),
        "top5_error": {
            "value": None,
            "context": "Not an ImageNet model: LeNet-5 read 10 classes of handwritten digits.",
        },
    },
    "alexnet": {
        "title": "AlexNet", "year": 2012, "authors": "Krizhevsky, Sutskever & Hinton",
        "idea": (
            "The first CNN to win ImageNet. It made ReLU, local response normalisation, heavy "
            "data augmentation and dropout 0.5 the standard kit of a large CNN (none was new "
            "on its own), trained on two GTX 580 GPUs (3 GB each), which is why its conv "
            "layers were split in two halves."
        ),
        "top5_error": {
            "value": 16.4,
            "context": (
                "ILSVRC 2012 winner: top-5 error on the test set of an average of 5 CNNs; 15.3% "
                "with 7 CNNs, two of them pre-trained on the larger ImageNet Fall 2011 release "
                "(extra data). One CNN alone had 18.2% on the validation set."
            ),
        },
    },
    "vgg16": {"title": "VGG16", "year": 2014, "authors": "Simonyan & Zisserman",
              "idea": _VGG_IDEA, "top5_error": _VGG_ERR},
    "vgg19": {"title": "VGG19", "year": 2014, "authors": "Simonyan & Zisserman",
              "idea": _VGG_IDEA, "top5_error": _VGG_ERR},
    "googlenet": {
        "title": "GoogLeNet (Inception v1)", "year": 2014, "authors": "Szegedy et al. (Google)",
        "idea": (
            "Inception modules: parallel 1x1, 3x3 and 5x5 convs and a 3x3 max pool over the same "
            "input, concatenated in depth, with 1x1 'bottleneck' convs that shrink the depth "
            "first. No large FC layers: average pooling feeds the one 1000-way classifier."
        ),
        "top5_error": {
            "value": 6.67,
            "context": (
                "ILSVRC 2014 classification winner: top-5 error on the test set of an ensemble "
                "of 7 GoogLeNets, each image evaluated on 144 crops (the course rounds it to "
                "6.7%). One model on one crop: 10.07% on the validation set."
            ),
        },
    },
    **{
        f"resnet{d}": {"title": f"ResNet-{d}", "year": 2015, "authors": "He, Zhang, Ren & Sun",
                       "idea": _RESNET_IDEA, "top5_error": _RESNET_ERR}
        for d in (18, 34, 50, 152)
    },
}
if list(INFO) != list(arch.ARCHITECTURES):  # the two tables must stay in step
    raise RuntimeError("course.architecture_notes.INFO does not match course.architectures.ARCHITECTURES")


def _n(x: int) -> str:
    return f"{x:,}"


def _mb(values: int) -> str:
    """float32 memory in MB of 2^20 bytes, as the pages show it."""
    return f"{counts.float32_bytes(values) / 2**20:.1f} MB"


def find_row(table: arch.Table, name: str) -> arch.Row:
    """The row called ``name`` (a top-level layer) of ``table``."""
    return next(r for r in table.rows if r.name == name)


def notes(name: str) -> list[dict]:
    """Where the course's figure differs from the exact count, both, and why."""
    t = arch.table(name)
    if name == "lenet5":
        old = shapes.output_size(32, 5)
        new = shapes.output_size(28, 5, 1, 2)
        return [{
            "topic": "Input and parameter count",
            "course": "28x28 input, first conv padded by 2",
            "exact": f"{_n(t.total_params)} parameters",
            "explanation": (
                f"The 1998 paper fed 32x32 images with no padding: (32 - 5)/1 + 1 = {old.size}, "
                f"the same {new.size}x{new.size}x6 output as (28 - 5 + 2*2)/1 + 1 = {new.size}. "
                "Its third layer connected 15 of its 16 maps to only some of the 6 maps before "
                "it (the 16th to all six), and its output layer had no biases, so the paper's count is about 60,000; "
                "the course's fully connected version has "
                f"{_n(t.total_params)}."
            ),
        }]
    if name == "alexnet":
        paper, tower = arch.table("alexnet_paper"), arch.table("alexnet_one_tower")
        at224 = shapes.output_size(224, 11, 4)
        tv = shapes.output_size(224, 11, 4, 2)
        c1 = find_row(paper, "conv1")
        return [
            {
                "topic": "Input size: 227 or 224?",
                "course": "227x227x3 input, CONV1 96 filters 11x11 stride 4 -> 55x55x96",
                "exact": f"torchvision: 224x224 with padding 2 -> {tv.size}x{tv.size}x64",
                "explanation": (
                    f"The paper says 224x224, but (224 - 11)/4 + 1 = {at224.exact:.2f} does not "
                    "fit; 227 does: (227 - 11)/4 + 1 = 55. torchvision keeps 224 and pads by 2: "
                    f"(224 - 11 + 2*2)/4 + 1 = {tv.exact:.2f}, rounded down to {tv.size}."
                ),
            },
            {
                "topic": "Parameters: ~60M",
                "course": "about 60M parameters; CONV1 has 35K",
                "exact": (
                    f"paper layout {_n(paper.total_params)}; one tower {_n(tower.total_params)}; "
                    f"torchvision {_n(t.total_params)}"
                ),
                "explanation": (
                    "The paper split conv2, conv4 and conv5 across two GPUs, so each filter sees "
                    f"only half the channels: {_n(paper.total_params)} parameters (the course's "
                    f"60M). As one tower it would be {_n(tower.total_params)}. torchvision's "
                    "AlexNet uses 64, 192, 384, 256, 256 filters: "
                    f"{_n(t.total_params)}. The paper's CONV1 has {c1.params_formula} "
                    "parameters."
                ),
            },
        ]
    if name == "vgg16":
        fc = sum(r.params for r in t.rows if r.type == "dense")
        early = sum(r.activations for r in t.rows[:3]) + counts.activation_count(t.input_shape)
        return [
            {
                "topic": "Parameters",
                "course": "138M parameters",
                "exact": f"{_n(t.total_params)}",
                "explanation": (
                    f"The same network. The 3 FC layers hold {_n(fc)} of them "
                    f"({100 * fc / t.total_params:.0f}%); fc6 alone, 7*7*512 -> 4096, has "
                    f"{_n(find_row(t, 'fc6').params)}."
                ),
            },
            {
                "topic": "Memory per image",
                "course": "24M values x 4 bytes = 96 MB per image (forward only)",
                "exact": f"{_n(t.total_activations)} values = {_mb(t.total_activations)}",
                "explanation": (
                    "The slide lists the same layers; adding up its own per-layer memory column "
                    f"gives the {_n(t.total_activations)} values counted here, so its 24M total "
                    "is larger than the sum of its rows. Most memory is in the "
                    f"early layers: the input and the first two convs and pool store {_n(early)} "
                    f"values ({100 * early / t.total_activations:.0f}%). Training needs about "
                    "twice this (the gradients)."
                ),
            },
        ]
    if name == "googlenet":
        paper = arch.table("googlenet_paper")
        classifier = find_row(t, "fc")
        return [{
            "topic": "Parameters: 5M or 4M?",
            "course": "about 5M parameters (12x fewer than AlexNet); 4M in a later slide",
            "exact": f"torchvision {_n(t.total_params)}; paper layout {_n(paper.total_params)}",
            "explanation": (
                "The course's figures are round numbers from the paper's text (12 times fewer "
                "than AlexNet's 60M). Counted exactly, the paper's layers (5x5 branches, "
                f"biases) hold {_n(paper.total_params)}, {_n(classifier.params)} of them in the final "
                "1000-way classifier. torchvision's version, counted here, uses 3x3 convs in the "
                "'5x5' branches and BatchNorm after every conv (no conv biases): "
                f"{_n(t.total_params)}. The two auxiliary classifiers used only in training are "
                "left out."
            ),
        }]
    if name.startswith("resnet"):
        notes = [{
            "topic": "BatchNorm and shortcuts",
            "course": "batch norm after every conv; no FC layers except the classifier",
            "exact": f"{_n(t.total_params)} parameters (torchvision)",
            "explanation": (
                "Every conv is followed by BatchNorm (2 learned values per channel) and has no "
                "bias. Identity shortcuts add no parameters; where the shape changes a 1x1 "
                "projection conv (+ BN; stride 2 where the size halves) matches it."
            ),
        }]
        if name != "resnet18" and name != "resnet34":
            v1 = arch.table("resnet50_v1") if name == "resnet50" else None
            extra = (
                f" For ResNet-50: {_n(t.total_macs)} multiply-adds with the stride on the 3x3, "
                f"{_n(v1.total_macs)} with it on the first 1x1; the parameters are the same."
                if v1 else ""
            )
            notes.append({
                "topic": "v1.5: where the stride goes",
                "course": "bottleneck: 1x1, 3x3, 1x1",
                "exact": "stride 2 on the 3x3 conv (torchvision, 'v1.5')",
                "explanation": (
                    "The 2015 paper downsamples with the first 1x1 conv of a block; torchvision "
                    "moved the stride to the 3x3 conv, which costs more multiply-adds and is "
                    "slightly more accurate." + extra
                ),
            })
        return notes
    return []
