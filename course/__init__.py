"""The course's content on top of the engine: the classic architectures and their specs,
the filter presets, the 2-D data sets and training playground, the backprop walk-through.

Pure NumPy, no web: imports :mod:`engine`, never :mod:`app`.
"""
