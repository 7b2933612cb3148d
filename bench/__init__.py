"""Benchmarks: one bench_<name>.py per measured thing, each with a main(); `python -m bench` runs them."""
