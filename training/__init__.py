"""ConvLab training: datasets, PyTorch models, ONNX export, model cards, evaluation.

This package is an optional extra and is never imported by ``app/``. The modules
``data``, ``evaluate``, ``cards``, ``specs`` and ``progress`` need only NumPy,
Pillow, onnx and onnxruntime; ``models``, ``augment``, ``train``, ``recipes`` and
``export`` need PyTorch (``pip install -e '.[train]'``).

Entry points: ``convlab train ...`` / ``convlab evaluate ...`` (through
``training.cli.main``) or, without the console script, ``python -m training ...``.
"""
