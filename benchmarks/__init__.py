"""Benchmarks, run on demand (``./run bench [NAME...]``): each prints a table and writes JSON."""
