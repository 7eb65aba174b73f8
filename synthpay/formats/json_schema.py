"""The JSON Schema of each record type, derived from its Avro schema in ``avro/*.avsc``.

Derived at run time, never kept beside the ``.avsc``: the fields, their order and types
are the Avro schema's. The text is what the ``json_schema`` value format registers, so it
is the same every time (re-registering it returns the same id). Draft-07: what the
jsonschema library behind confluent-kafka's JSON serializers validates against by
``$schema``, and what Apicurio's JSON compatibility checks read.
"""

from __future__ import annotations

import functools
import json

from synthpay.model import serde

DRAFT = "http://json-schema.org/draft-07/schema#"

#: JSON Schema's type of each Avro primitive the record types use.
_TYPES = {"string": "string", "long": "integer", "int": "integer", "double": "number", "boolean": "boolean"}


@functools.cache
def schema_text(record_type: str) -> str:
    """The JSON Schema of ``record_type`` ("payment", "bank", "ground_truth"), as registered."""
    avro = json.loads(serde.schema_text(record_type))
    fields = avro["fields"]
    document: dict[str, object] = {"$schema": DRAFT, "title": avro["name"]}
    if "doc" in avro:
        document["description"] = avro["doc"]
    document |= {
        "type": "object",
        "properties": {f["name"]: {"type": _TYPES[f["type"]]} for f in fields},
        "required": [f["name"] for f in fields],
        "additionalProperties": False,
    }
    return json.dumps(document, indent=2) + "\n"
