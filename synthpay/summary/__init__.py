"""The run's summary: the document, the plan inside it, its tables, merging children's, loading it back.

Written by one engine, merged over ``--processes`` children, read back (by both of those
and by ``verify``) through :func:`synthpay.summary.load.load_summary`, the one parser of
``--summary-json`` files. The file's schema, every field and when it appears, and its
version policy (``document.SCHEMA_VERSION``; fields are only added within a version) are
documented in ``docs/reference/summary-json.md``.
"""
