"""Benchmarks: ``make bench`` (bench/run.py) and the single-purpose measurements next to it."""
