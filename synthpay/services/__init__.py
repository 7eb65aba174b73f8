"""The engine's companions: the metrics endpoint, systemd notifications, the progress display
and the log configuration. They read the engine through ``engine.snapshot.EngineView``.
"""
