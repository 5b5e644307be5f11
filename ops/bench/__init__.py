"""Benchmarks: `python -m ops.bench [NAME ...] [--quick] [--json FILE]` (also `make bench`).

Each benchmark measures our system and a baseline in the same run (the machine is small and
noisy, so absolute numbers mean little) and prints both, the ratio and the target with PASS/MISS.
They are not timed tests and not part of `make test`; tests/bench only smoke-tests `--quick`.
"""
