"""Step-by-step explanations of what a layer computed, from the engine's own numbers.

- :mod:`engine.explain.trace`: a convolution's dot product and the softmax, step by step;
- :mod:`engine.explain.values`: the arithmetic behind one value of a run (conv, pooling,
  dense, element-wise, skip connection) as the dataclasses of :mod:`engine.explain.kinds`;
- :mod:`engine.explain.formulas`: the one writer of the output-size formula and the
  unread-cells sentences;
- :mod:`engine.explain.layer`: one conv or pooling layer (size, formula, unread cells,
  parameters; why it cannot be), as the calculator and the playground show it;
- :mod:`engine.explain.windows`: which cells each window reads, and each cell feeds;
- :mod:`engine.explain.convkinds`: one layer of each convolution after the course (1x1,
  bottleneck, grouped, depthwise, separable, transposed, 1-D), counted against the standard one;
- :mod:`engine.explain.convsteps`: a small example of each, with one output value traced.

Plain data (dataclasses and arrays) and ``ValueError`` for impossible requests; nothing here
knows about HTTP or JSON (the app encodes, in ``app/encode.py``).
"""
