"""Benchmarks of the engine: throughput, the floor, memory, start-up and the Mesa ratio.

`python -m benchmarks` prints one table; every ratio in it is measured side by side in the same
invocation, on the same machine, with absolute times alongside. Each measurement runs in its own
Python process, so peak memory belongs to that measurement alone and one size does not warm the
caches of the next. Timings are reports, never assertions: the tests check correctness.
"""
