"""The formats records are written in besides the Avro of ``avro/*.avsc``, every one derived from it.

Below the sinks (which write them) and verify (which reads them back); above the model,
whose Avro schemas are the one source of truth for field names, types and order.
"""
