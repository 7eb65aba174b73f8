"""The runtime: one Trio nursery that owns the worker (scheduler, arrivals, scenario, anomaly
injector), the hand-off to the one I/O thread that owns the sink, the clocks, the counters,
and ``--processes`` children.
"""
