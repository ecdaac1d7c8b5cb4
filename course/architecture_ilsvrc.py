"""ImageNet's challenge (ILSVRC) as the case studies met it: what it is, its tasks, the
results the course quotes (each with its source), and the points of the two charts, the
error of each year's entries and the error of one network against its size.

Error rates are quotations; every parameter and multiply-add count is the engine's
(:func:`course.architectures.table` of the network the figure belongs to).
"""

from __future__ import annotations

from course import architectures as arch
from course.architecture_info import INFO, cite
from course.layer_rows import commas

__all__ = ["ABOUT", "ENTRIES", "HUMAN", "SINGLE_MODEL_NETS", "ilsvrc"]

ABOUT = {
    "name": "ImageNet Large Scale Visual Recognition Challenge (ILSVRC)",
    "text": (
        "A yearly competition, from 2010, on a subset of ImageNet: 1,000 object classes, "
        "about 1.2 million labelled training images, 50,000 validation images and 100,000 "
        "test images whose labels stay hidden (teams send their answers to a server). A "
        "classification answer is 5 guesses per image; the top-5 error is the share of test "
        "images whose true label is none of the 5."
    ),
    "source": cite("russakovsky2015", "Sec. 1 and Sec. 3.1 (Table 2)"),
    "tasks": [
        {"name": "Image classification", "text": "name the object class of each image (5 guesses)."},
        {"name": "Single-object localisation",
         "text": "5 guesses again, each with a box around one object of that class (from 2011)."},
        {"name": "Object detection",
         "text": "find and box every object of 200 classes in each image (from 2013)."},
    ],
    "tasks_source": cite("russakovsky2015", "Sec. 2"),
}

#: The classification entries the charts show: (year, label, place, top-5 %, what, the
#: engine's table of the network it used (the paper's layout) or None, source).
ENTRIES = [
    (2012, "Runner-up (not a CNN)", 2, 26.2, "the second-best entry of ILSVRC 2012", None,
     cite("krizhevsky2012", "abstract")),
    (2012, "AlexNet (SuperVision)", 1, 15.3, INFO["alexnet"]["top5_error"]["entry"], "alexnet_paper",
     INFO["alexnet"]["top5_error"]["source"]),
    (2013, "Clarifai (Zeiler & Fergus)", 1, 11.7, "the winning entry of ILSVRC 2013, no extra "
     "data", None, cite("szegedy2015", "Table 2")),
    (2014, "VGG", 2, 7.3, INFO["vgg16"]["top5_error"]["entry"], "vgg16",
     INFO["vgg16"]["top5_error"]["source"]),
    (2014, "GoogLeNet", 1, 6.67, INFO["googlenet"]["top5_error"]["entry"], "googlenet_paper",
     INFO["googlenet"]["top5_error"]["source"]),
    (2015, "ResNet", 1, 3.57, INFO["resnet152"]["top5_error"]["entry"], "resnet152_v1",
     INFO["resnet152"]["top5_error"]["source"]),
]

HUMAN = {
    "course": "about 5-10% (a person's top-5 error)",
    "measured": [
        {"who": "annotator A1 (Andrej Karpathy), after training on 500 images", "top5": 5.1,
         "images": 1500},
        {"who": "annotator A2, with less training", "top5": 12.0, "images": 258},
    ],
    "text": (
        "Two people labelled test images the way the networks do, 5 guesses each. The more "
        "practised one missed 5.1%; the other 12.0% (on fewer images). GoogLeNet's entry "
        "scored 6.8% on A1's images. ResNet's 2015 entry, 3.57% on the whole test set, is "
        "below A1's figure."
    ),
    "source": cite("russakovsky2015", "Sec. 6.4") + "; " + cite("karpathy2014", "how A1 worked"),
}

#: The networks on the error-versus-size chart: (the engine's table whose counts are
#: plotted, the case study whose single-model figure it is).
SINGLE_MODEL_NETS = [
    ("alexnet_paper", "alexnet"), ("vgg16", "vgg16"), ("vgg19", "vgg19"),
    ("googlenet_paper", "googlenet"), ("resnet34", "resnet34"), ("resnet50_v1", "resnet50"),
    ("resnet152_v1", "resnet152"),
]

FACTS = [
    {"text": "2012: AlexNet's winning entry had 15.3% top-5 error; the runner-up had 26.2%.",
     "source": cite("krizhevsky2012", "abstract")},
    {"text": "One AlexNet alone: 40.7% top-1 and 18.2% top-5 error on the validation set.",
     "source": cite("krizhevsky2012", "Table 2")},
    {"text": "2015: ResNets won the classification, localisation and detection tasks of ILSVRC "
             "2015 and the detection and segmentation tasks of COCO 2015.",
     "source": cite("he2016", "abstract")},
]


def ilsvrc() -> dict:
    """The challenge, its results with sources, and both charts' points with the engine's counts."""
    entries = []
    for year, label, place, top5, what, name, source in ENTRIES:
        e = {"year": year, "label": label, "place": place, "top5": top5, "what": what,
             "source": source, "arch": name}
        if name:
            t = arch.table(name)
            e.update(total_params=t.total_params, total_macs=t.total_macs)
        entries.append(e)
    singles = []
    for table_name, case in SINGLE_MODEL_NETS:
        t, s = arch.table(table_name), INFO[case]["single_model"]
        singles.append({
            "arch": table_name, "case": case, "title": INFO[case]["title"].replace(" (Inception v1)", ""),
            "year": INFO[case]["ilsvrc"], "top5": s["value"], "what": s["what"], "source": s["source"],
            "total_params": t.total_params, "total_macs": t.total_macs,
            "counts_text": f"{commas(t.total_params)} parameters, {commas(t.total_macs)} "
                           "multiply-adds (counted by ConvLab)",
        })
    return {"about": ABOUT, "entries": entries, "human": HUMAN, "single_models": singles,
            "facts": FACTS}
