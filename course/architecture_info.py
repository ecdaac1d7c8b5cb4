"""The quoted facts about the case studies: titles, authors, years, the idea each network
introduced, and the published error rates, each with the paper (and table or section) it
comes from.

Nothing here is counted: the counts come from :mod:`course.architectures`. Every number
in this module is a quotation and carries its source; :mod:`course.architecture_notes`
puts the two together.
"""

from __future__ import annotations

from course.architecture_specs import ARCHITECTURES, VARIANTS

__all__ = ["INFO", "SOURCES", "VARIANT_INFO", "base_of", "info"]

#: The papers quoted on the page, by key.
SOURCES = {
    "lecun1998": "LeCun, Bottou, Bengio & Haffner (1998), Gradient-based learning applied to "
                 "document recognition, Proc. IEEE 86(11)",
    "krizhevsky2012": "Krizhevsky, Sutskever & Hinton (2012), ImageNet classification with deep "
                      "convolutional neural networks, NIPS 2012",
    "simonyan2015": "Simonyan & Zisserman (2015), Very deep convolutional networks for "
                    "large-scale image recognition, ICLR 2015 (arXiv 1409.1556)",
    "szegedy2015": "Szegedy et al. (2015), Going deeper with convolutions, CVPR 2015 "
                   "(arXiv 1409.4842)",
    "he2016": "He, Zhang, Ren & Sun (2016), Deep residual learning for image recognition, "
              "CVPR 2016 (arXiv 1512.03385)",
    "russakovsky2015": "Russakovsky et al. (2015), ImageNet Large Scale Visual Recognition "
                       "Challenge, IJCV 115",
    "karpathy2014": "Karpathy (2014), What I learned from competing against a ConvNet on "
                    "ImageNet (blog post)",
}


def cite(key: str, where: str) -> str:
    """``"Krizhevsky, ... NIPS 2012, Table 2"``: a paper and the place in it."""
    return f"{SOURCES[key]}, {where}"


_VGG_IDEA = (
    "Smaller filters, deeper network: only 3x3 convs (stride 1, pad 1) and 2x2 max pools "
    "(stride 2). Three stacked 3x3 convs see a 7x7 region with fewer parameters and three "
    "non-linearities instead of one."
)
_VGG_ERR = {
    "value": 7.3,
    "entry": "the team's submitted ensemble of 7 networks, ILSVRC 2014 test set (2nd place)",
    "context": (
        "The same figure is shown for VGG16 and VGG19 because it belongs to the team's "
        "ensemble, not to one model; after the contest an ensemble of just 2 (VGG16 + VGG19) "
        "reached 6.8%."
    ),
    "source": cite("simonyan2015", "Sec. 4.5 and Table 7"),
}
_RESNET_IDEA = (
    "Residual blocks: each block learns a residual F(x) and outputs H(x) = F(x) + x through "
    "an identity shortcut, so a 152-layer network trains better than a shallower one. From "
    "ResNet-50 up, bottleneck blocks (1x1 down, 3x3, 1x1 up) keep it affordable; global "
    "average pooling replaces the big FC layers."
)
_RESNET_ERR = {
    "value": 3.57,
    "entry": "the team's submitted ensemble of 6 ResNets (two of them 152-layer), ILSVRC 2015 "
             "test set (1st place)",
    "context": "It is the ensemble's figure, shown for every ResNet.",
    "source": cite("he2016", "Table 5"),
}
_RESNET_PUB = {"year": 2016, "venue": "CVPR 2016 (arXiv December 2015)"}


def _single(value: float | None, what: str, source: str) -> dict:
    return {"value": value, "what": what, "source": source}


_RESNET_T4 = cite("he2016", "Table 4")

#: name -> the quoted facts about it; the numbers come from course.architectures.table(name).
INFO: dict[str, dict] = {
    "lenet5": {
        "title": "LeNet-5", "authors": "LeCun, Bottou, Bengio & Haffner",
        "year": 1998, "ilsvrc": None, "published": {"year": 1998, "venue": "Proc. IEEE 1998"},
        "idea": (
            "The CNN that set the pattern: conv -> pool -> conv -> pool -> fully connected, "
            "trained with backpropagation to read handwritten digits (its 1989 predecessor "
            "read zip codes); deployed to read bank cheques."
        ),
        "top5_error": {"value": None, "entry": "",
                       "context": "Not an ImageNet model: LeNet-5 read 10 classes of handwritten digits.",
                       "source": cite("lecun1998", "Sec. III")},
        "single_model": _single(None, "not an ImageNet model", cite("lecun1998", "Sec. III")),
    },
    "alexnet": {
        "title": "AlexNet", "authors": "Krizhevsky, Sutskever & Hinton",
        "year": 2012, "ilsvrc": 2012, "published": {"year": 2012, "venue": "NIPS 2012"},
        "idea": (
            "The first CNN to win ImageNet, by a wide margin. ReLU, heavy data augmentation and "
            "dropout 0.5 (none new on its own) became the standard kit of a large CNN; its local "
            "response normalisation did not: VGG found it gave no gain, and BatchNorm later "
            "took its place. Trained on two GTX 580 GPUs (3 GB each), which is why its conv "
            "layers were split in two halves."
        ),
        "top5_error": {
            "value": 15.3,
            "entry": "the winning entry (7 CNNs, two pre-trained on the larger ImageNet Fall 2011 "
                     "release), ILSVRC 2012 test set (1st place)",
            "context": (
                "Without the extra data, the average of 5 CNNs had 16.4% on the test set. One CNN "
                "alone: 18.2% top-5 and 40.7% top-1 on the validation set. The runner-up entry "
                "had 26.2%."
            ),
            "source": cite("krizhevsky2012", "abstract and Table 2"),
        },
        "single_model": _single(18.2, "1 CNN, validation set (top-1 40.7%)",
                                cite("krizhevsky2012", "Table 2")),
    },
    "vgg16": {"title": "VGG16", "authors": "Simonyan & Zisserman", "year": 2014, "ilsvrc": 2014,
              "published": {"year": 2015, "venue": "ICLR 2015 (arXiv September 2014)"},
              "idea": _VGG_IDEA, "top5_error": _VGG_ERR,
              "single_model": _single(7.5, "configuration D, one net, multi-scale test, validation set",
                                      cite("simonyan2015", "Table 4"))},
    "vgg19": {"title": "VGG19", "authors": "Simonyan & Zisserman", "year": 2014, "ilsvrc": 2014,
              "published": {"year": 2015, "venue": "ICLR 2015 (arXiv September 2014)"},
              "idea": _VGG_IDEA, "top5_error": _VGG_ERR,
              "single_model": _single(7.5, "configuration E, one net, multi-scale test, validation set",
                                      cite("simonyan2015", "Table 4"))},
    "googlenet": {
        "title": "GoogLeNet (Inception v1)", "authors": "Szegedy et al. (Google)",
        "year": 2014, "ilsvrc": 2014,
        "published": {"year": 2015, "venue": "CVPR 2015 (arXiv September 2014)"},
        "idea": (
            "Inception modules: parallel 1x1, 3x3 and 5x5 convs and a 3x3 max pool over the same "
            "input, concatenated in depth, with 1x1 'bottleneck' convs that shrink the depth "
            "first. No large FC layers: average pooling feeds the one 1000-way classifier."
        ),
        "top5_error": {
            "value": 6.67,
            "entry": "the winning entry (7 GoogLeNets, 144 crops of each image), ILSVRC 2014 "
                     "test set (1st place)",
            "context": "The course rounds it to 6.7%. One model on one crop: 10.07% on the "
                       "validation set.",
            "source": cite("szegedy2015", "Tables 2 and 3"),
        },
        "single_model": _single(7.89, "1 model, 144 crops, validation set (10.07% on 1 crop)",
                                cite("szegedy2015", "Table 3")),
    },
    **{
        f"resnet{d}": {"title": f"ResNet-{d}", "authors": "He, Zhang, Ren & Sun", "year": 2015,
                       "ilsvrc": 2015, "published": _RESNET_PUB, "idea": _RESNET_IDEA,
                       "top5_error": _RESNET_ERR, "single_model": single}
        for d, single in (
            (18, _single(None, "no top-5 figure in the paper (top-1 27.88%, 10 crops, "
                               "validation set, Table 2)", cite("he2016", "Table 2"))),
            (34, _single(5.71, "option B shortcuts, one model, validation set", _RESNET_T4)),
            (50, _single(5.25, "one model, validation set", _RESNET_T4)),
            (152, _single(4.49, "one model, validation set", _RESNET_T4)),
        )
    },
}
if list(INFO) != list(ARCHITECTURES):  # the two tables must stay in step
    raise RuntimeError("course.architecture_info.INFO does not match ARCHITECTURES")

#: variant -> (the case study it is a layout of, its title, the label of its layout)
VARIANT_INFO = {
    "alexnet_paper": ("alexnet", "AlexNet, the paper's layout",
                      "The paper's (the course's): 96 filters first, two GPUs"),
    "alexnet_one_tower": ("alexnet", "AlexNet, the paper's layout on one GPU",
                          "The paper's on one GPU (no split)"),
    "googlenet_paper": ("googlenet", "GoogLeNet, the paper's layout",
                        "The paper's: 5x5 branches, biases, LRN, no BatchNorm"),
    "resnet50_v1": ("resnet50", "ResNet-50, the paper's layout (v1)",
                    "The paper's (v1): stride on the first 1x1"),
    "resnet152_v1": ("resnet152", "ResNet-152, the paper's layout (v1)",
                     "The paper's (v1): stride on the first 1x1"),
}
if set(VARIANT_INFO) != set(VARIANTS):
    raise RuntimeError("course.architecture_info.VARIANT_INFO does not match VARIANTS")

#: The label of each torchvision layout that has a paper variant.
_TORCHVISION_LABEL = {
    "alexnet": "torchvision's: 64 filters first, one GPU",
    "googlenet": "torchvision's: 3x3 '5x5' branches, BatchNorm",
    "resnet50": "torchvision's (v1.5): stride on the 3x3",
    "resnet152": "torchvision's (v1.5): stride on the 3x3",
}


def base_of(name: str) -> str:
    """The case study a name belongs to (itself, or the network a variant lays out)."""
    return VARIANT_INFO[name][0] if name in VARIANT_INFO else name


def info(name: str) -> dict:
    """The facts of a case study or variant (a variant: its base's, with its own title)."""
    base = base_of(name)
    out = dict(INFO[base])
    if name in VARIANT_INFO:
        out["title"] = VARIANT_INFO[name][1]
    layouts = [(n, v[2]) for n, v in VARIANT_INFO.items() if v[0] == base]
    out["layouts"] = [{"name": base, "label": _TORCHVISION_LABEL[base]},
                      *({"name": n, "label": label} for n, label in layouts)] if layouts else []
    return out
