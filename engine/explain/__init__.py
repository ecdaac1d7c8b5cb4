"""Step-by-step explanations of what a layer computed, from the engine's own numbers.

Plain data (dataclasses and arrays) and ``ValueError`` for impossible requests; nothing here
knows about HTTP.
"""
