"""The benchmark harness: data at scale, a floor app, a load driver and the results it writes.

`make bench` (or `python -m bench`) runs it; see README's "Benchmarks" section.
"""
