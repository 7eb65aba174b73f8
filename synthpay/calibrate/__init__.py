"""Calibration: read real payment status events, fit a scenario to them, compare two sources.

``sources`` (and a module per input kind) turn files and topics into :class:`Observation`
rows in arrival order; ``profiler`` folds them, holding state per open payment only, into a
:class:`Profile`; ``fit`` turns a profile into a configuration (``fitted_toml`` writes it,
``fit_report`` explains it); ``compare`` sets two profiles side by side.
"""
