"""Benchmark harness (`make bench`): product stages against floors and a pandas peer."""
