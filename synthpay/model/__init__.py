"""The generation model: statuses and workflows, delays, the timeline, the entities and the
events they become, their Avro encoding, and the typed reports a run makes of them.

Plain data and pure functions: nothing here knows about Trio, threads, sinks or settings files.
"""
