"""Benchmarks (`make bench`, `make load`): not part of `make test`."""
