"""A run's network and training loop as a Python script a student can run at home.

:func:`code` writes PyTorch (``torch`` + ``torchvision``) or Keras (``keras`` 3) code
from the same :func:`course.learn.recipes.layers` list the engine trains, with the
run's optimiser, learning rate, batch size, L2, dropout, batch norm, residual block,
augmentation and seed, the same normalisation and the same held-out split (the last
5,000 training images). In the PyTorch script, modules carry the engine's parameter
names (``conv1.weight`` ...), so its ``state_dict`` lines up with the run's parameters.
The model-building part lies between ``# --- model ---`` and ``# --- end model ---``.
"""

from __future__ import annotations

from course.learn.network import BN_EPSILON, BN_MOMENTUM, Net
from course.learn.optim import ADAM, MOMENTUM
from course.learn.recipes import DATASETS, Config
from engine import registry

__all__ = ["FRAMEWORKS", "code"]

FRAMEWORKS = ("pytorch", "keras")
N_VAL = 5000



def code(config: Config, framework: str = "pytorch", epochs: int = 5) -> str:
    """The script for ``config`` in ``framework`` (``"pytorch"`` or ``"keras"``)."""
    if framework not in FRAMEWORKS:
        raise ValueError(f"framework must be one of {FRAMEWORKS}, got {framework!r}")
    a = registry.ACTIVATIONS.get(config.activation)
    if a is None or not (a.pytorch and a.keras):
        raise ValueError(f"no {framework} code for activation {config.activation!r}")
    if not 1 <= epochs <= 100:
        raise ValueError(f"epochs must be in [1, 100], got {epochs}")
    return (_pytorch if framework == "pytorch" else _keras)(config, epochs)


def _header(config: Config, framework: str) -> list[str]:
    d = DATASETS[config.dataset]
    return [
        f'"""{config.recipe} on {d.title}, as trained live on ConvLab ({framework}).',
        "",
        "Options: " + ", ".join(f"{k}={v!r}" for k, v in config.to_dict().items()
                                if k not in ("log_every", "eval_every", "val_size")) + ".",
        f"Input: {d.preprocessing()['formula']}, mean {list(d.mean)}, std {list(d.std)}.",
        f'Held out: the last {N_VAL:,} training images (never the official test split)."""',
        "",
    ]


def _pytorch(config: Config, epochs: int) -> str:
    d, act = DATASETS[config.dataset], registry.ACTIVATIONS[config.activation].pytorch
    c, h, _ = d.shape
    lines = _header(config, "PyTorch") + [
        "from collections import OrderedDict", "", "import torch",
        "from torch import nn", "", "# --- model ---", "", f"SEED = {config.seed}", "", "",
    ]
    mods: list[tuple[str, str]] = []
    shape: tuple[int, ...] = d.shape
    bn_args = f"momentum={1 - BN_MOMENTUM:.2g}, eps={BN_EPSILON:g}"
    for n, (layer, out) in enumerate(zip(Net(config).layers, _shapes(config), strict=True), 1):
        if layer.kind == "conv":
            mods.append((layer.name, f"nn.Conv2d({shape[0]}, {layer.units}, {layer.kernel}, "
                                     f"padding={layer.pad})"))
        elif layer.kind == "bn":
            kind = "BatchNorm2d" if len(shape) == 3 else "BatchNorm1d"
            mods.append((layer.name, f"nn.{kind}({shape[0]}, {bn_args})"))
        elif layer.kind == "act":
            mods.append((f"act{n}", act))
        elif layer.kind == "pool":
            mods.append((f"pool{n}", f"nn.MaxPool2d({layer.kernel})"))
        elif layer.kind == "flatten":
            mods.append(("flatten", "nn.Flatten()"))
        elif layer.kind == "dropout":
            mods.append((f"drop{n}", f"nn.Dropout({layer.rate})"))
        elif layer.kind == "dense":
            mods.append((layer.name, f"nn.Linear({shape[0]}, {layer.units})"))
        elif layer.kind == "residual":
            mods.append((layer.name, f"Residual({shape[0]}, batchnorm={layer.bn})"))
        shape = out
    if config.residual:
        lines += [
            "class Residual(nn.Module):",
            '    """x -> act(bn_b(conv_b(act(bn_a(conv_a(x))))) + x), 3x3 convs, padding 1."""',
            "", "    def __init__(self, channels, batchnorm):", "        super().__init__()",
            "        self.conv_a = nn.Conv2d(channels, channels, 3, padding=1)",
            f"        self.bn_a = nn.BatchNorm2d(channels, {bn_args}) if batchnorm else nn.Identity()",
            "        self.conv_b = nn.Conv2d(channels, channels, 3, padding=1)",
            f"        self.bn_b = nn.BatchNorm2d(channels, {bn_args}) if batchnorm else nn.Identity()",
            f"        self.act = {act}", "", "    def forward(self, x):",
            "        h = self.act(self.bn_a(self.conv_a(x)))",
            "        return self.act(self.bn_b(self.conv_b(h)) + x)", "", "",
        ]
    lines += ["def build_model():", "    torch.manual_seed(SEED)",
              "    return nn.Sequential(OrderedDict(["]
    lines += [f'        ("{name}", {expr}),' for name, expr in mods]
    lines += ["    ]))", "", "", "# --- end model ---", ""]
    tf = ["transforms.ToTensor()", f"transforms.Normalize({d.mean}, {d.std})"]
    aug = []
    if "shift" in config.augment:
        aug.append(f"transforms.RandomCrop({h}, padding=2)")
    if "flip" in config.augment:
        aug.append("transforms.RandomHorizontalFlip()")
    tv_set = "MNIST" if config.dataset == "mnist" else "CIFAR10"
    opt = {
        "sgd": f"torch.optim.SGD(groups, lr={config.learning_rate})",
        "momentum": f"torch.optim.SGD(groups, lr={config.learning_rate}, momentum={MOMENTUM})",
        "adam": f"torch.optim.Adam(groups, lr={config.learning_rate}, betas={ADAM[:2]}, "
                f"eps={ADAM[2]})",
    }[config.optimizer]
    lines += [
        "", "def main():",
        "    from torch.utils.data import DataLoader, Subset",
        "    from torchvision import datasets, transforms", "",
        f"    plain = transforms.Compose([{', '.join(tf)}])",
        f"    train_tf = transforms.Compose([{', '.join(aug + tf)}])",
        f'    full = datasets.{tv_set}("data", train=True, download=True, transform=train_tf)',
        f'    held = datasets.{tv_set}("data", train=True, download=True, transform=plain)',
        f"    n = len(full) - {N_VAL}",
        "    train = Subset(full, range(n))",
        "    val = Subset(held, range(n, len(held)))",
        "    model = build_model()",
        "    # L2 (weight decay) on conv and dense weights only, as ConvLab does",
        "    decay = [p for k, p in model.named_parameters()",
        '             if k.endswith("weight") and not k.split(".")[-2].startswith("bn")]',
        "    rest = [p for k, p in model.named_parameters() if all(p is not q for q in decay)]",
        f'    groups = [{{"params": decay, "weight_decay": {config.l2}}}, '
        '{"params": rest, "weight_decay": 0.0}]',
        f"    optimizer = {opt}",
        "    loss_fn = nn.CrossEntropyLoss()",
        f"    loader = DataLoader(train, batch_size={config.batch_size}, shuffle=True, "
        "drop_last=True)",
        f"    for epoch in range({epochs}):",
        "        model.train()",
        "        for x, y in loader:",
        "            optimizer.zero_grad()",
        "            loss = loss_fn(model(x), y)",
        "            loss.backward()",
        "            optimizer.step()",
        "        model.eval()",
        "        correct = 0",
        "        with torch.no_grad():",
        "            for x, y in DataLoader(val, batch_size=500):",
        "                correct += (model(x).argmax(1) == y).sum().item()",
        '        print(f"epoch {epoch + 1}: loss {loss.item():.4f}, '
        'held-out accuracy {correct / len(val):.4f}")',
        "", "", 'if __name__ == "__main__":', "    main()", "",
    ]
    return "\n".join(lines)


def _shapes(config: Config) -> list[tuple[int, ...]]:
    from course.learn.network import param_shapes

    return param_shapes(config)[2]


def _keras(config: Config, epochs: int) -> str:
    d, act = DATASETS[config.dataset], registry.ACTIVATIONS[config.activation].keras
    c, h, w = d.shape
    reg = f"regularizers.L2({config.l2 / 2!r})" if config.l2 else "None"
    conv = f"kernel_regularizer={reg}"
    bn = f"layers.BatchNormalization(momentum={BN_MOMENTUM}, epsilon={BN_EPSILON:g})"
    lines = _header(config, "Keras") + [
        "import keras", "import numpy as np", "from keras import layers, regularizers", "",
        f"keras.utils.set_random_seed({config.seed})", "", "# --- model ---", "",
        "def build_model():", f"    inputs = keras.Input(shape=({h}, {w}, {c}))", "    x = inputs",
    ]
    if "shift" in config.augment:
        fill = -d.mean[0] / d.std[0]  # a zero pixel (background), normalised
        lines.append(f"    x = layers.RandomTranslation({2 / h:.4f}, {2 / w:.4f}, "
                     f'fill_mode="constant", fill_value={fill:.4f})(x)')
    if "flip" in config.augment:
        lines.append('    x = layers.RandomFlip("horizontal")(x)')
    layer_list = Net(config).layers
    for i, layer in enumerate(layer_list):
        last = i == len(layer_list) - 1
        if layer.kind == "conv":
            pad = "same" if layer.pad == (layer.kernel - 1) // 2 else "valid"
            lines.append(f'    x = layers.Conv2D({layer.units}, {layer.kernel}, padding="{pad}", '
                         f'{conv}, name="{layer.name}")(x)')
        elif layer.kind == "bn":
            lines.append(f"    x = {bn}(x)")
        elif layer.kind == "act":
            a = act if act.startswith("layers.") else f"layers.Activation({act})"
            lines.append(f"    x = {a}(x)")
        elif layer.kind == "pool":
            lines.append(f"    x = layers.MaxPooling2D({layer.kernel})(x)")
        elif layer.kind == "flatten":
            lines.append("    x = layers.Flatten()(x)")
        elif layer.kind == "dropout":
            lines.append(f"    x = layers.Dropout({layer.rate})(x)")
        elif layer.kind == "dense":
            extra = ', activation="softmax"' if last else ""
            lines.append(f'    x = layers.Dense({layer.units}{extra}, {conv}, name="{layer.name}")(x)')
        elif layer.kind == "residual":
            a = act if act.startswith("layers.") else f"layers.Activation({act})"
            lines += ["    skip = x", f'    x = layers.Conv2D({layer.units}, 3, padding="same", {conv})(x)']
            lines += [f"    x = {bn}(x)"] if layer.bn else []
            lines += [f"    x = {a}(x)", f'    x = layers.Conv2D({layer.units}, 3, padding="same", {conv})(x)']
            lines += [f"    x = {bn}(x)"] if layer.bn else []
            lines += [f"    x = {a}(layers.Add()([x, skip]))"]
    opt = {
        "sgd": f"keras.optimizers.SGD({config.learning_rate})",
        "momentum": f"keras.optimizers.SGD({config.learning_rate}, momentum={MOMENTUM})",
        "adam": f"keras.optimizers.Adam({config.learning_rate}, beta_1={ADAM[0]}, "
                f"beta_2={ADAM[1]}, epsilon={ADAM[2]})",
    }[config.optimizer]
    load = "mnist" if config.dataset == "mnist" else "cifar10"
    lines += [
        "    return keras.Model(inputs, x)", "", "", "# --- end model ---", "", "",
        "def main():",
        f"    (x, y), _ = keras.datasets.{load}.load_data()  # the test split stays unused",
        f"    x = x.reshape(len(x), {h}, {w}, {c}).astype(\"float32\") / 255",
        f"    x = (x - np.array({list(d.mean)})) / np.array({list(d.std)})",
        "    y = y.reshape(-1)",
        f"    x_train, y_train, x_val, y_val = x[:-{N_VAL}], y[:-{N_VAL}], x[-{N_VAL}:], y[-{N_VAL}:]",
        "    model = build_model()",
        f"    model.compile(optimizer={opt}, loss=\"sparse_categorical_crossentropy\", "
        "metrics=[\"accuracy\"])",
        f"    model.fit(x_train, y_train, batch_size={config.batch_size}, epochs={epochs}, "
        "validation_data=(x_val, y_val))",
        "", "", 'if __name__ == "__main__":', "    main()", "",
    ]
    return "\n".join(lines)
