"""Benchmarks of EvoSync: `python -m bench` lists them, `python -m bench NAME [options]` runs one.

Each benchmark is a module of this package with a `main(argv) -> int` function; the first line
of its docstring is its description. Figures go into docs/benchmarks.md. Timings live here,
never in the test suite.
"""
