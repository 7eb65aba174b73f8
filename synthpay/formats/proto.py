"""Protobuf from the Avro schemas: the ``.proto`` of each record type, its descriptor and message class.

Derived at run time from ``avro/<record type>.avsc``, never kept beside it: a proto3 file
with the Avro namespace as its package and one message named after the Avro record, its
fields in Avro order numbered 1..n by position. Avro schemas here only ever grow by
appending fields (the registry's BACKWARD rule), so a field keeps its number across
versions; tests pin today's numbers.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Final

from google.protobuf import descriptor_pb2, descriptor_pool, message, message_factory

from synthpay.model import serde

#: Avro primitive -> (proto3 scalar type, descriptor type); the only types the schemas use.
_SCALARS: Final[dict[str, tuple[str, int]]] = {
    "string": ("string", descriptor_pb2.FieldDescriptorProto.TYPE_STRING),
    "long": ("int64", descriptor_pb2.FieldDescriptorProto.TYPE_INT64),
    "int": ("int32", descriptor_pb2.FieldDescriptorProto.TYPE_INT32),
    "double": ("double", descriptor_pb2.FieldDescriptorProto.TYPE_DOUBLE),
    "boolean": ("bool", descriptor_pb2.FieldDescriptorProto.TYPE_BOOL),
}


@dataclass(frozen=True, slots=True)
class ProtoField:
    """One field of a derived message: its Avro name and type, and its field number."""

    name: str
    avro_type: str
    number: int


@dataclass(frozen=True, slots=True)
class ProtoMessage:
    """A record type's derived message: its package, name and fields in number order."""

    package: str
    name: str
    fields: tuple[ProtoField, ...]

    @property
    def full_name(self) -> str:
        """The message's name qualified by its package."""
        return f"{self.package}.{self.name}"


@functools.cache
def derived(record_type: str) -> ProtoMessage:
    """The message derived from ``avro/<record_type>.avsc``."""
    schema = json.loads(serde.schema_text(record_type))
    fields = []
    for number, avro in enumerate(schema["fields"], start=1):
        if avro["type"] not in _SCALARS:
            accepted = ", ".join(_SCALARS)
            raise ValueError(
                f"avro/{record_type}.avsc: field {avro['name']!r} is {avro['type']!r}, not one of {accepted}"
            )
        fields.append(ProtoField(avro["name"], avro["type"], number))
    return ProtoMessage(schema["namespace"], schema["name"], tuple(fields))


def file_name(record_type: str) -> str:
    """The ``.proto`` file's name: the record type's."""
    return f"{record_type}.proto"


def proto_text(record_type: str) -> str:
    """The ``.proto`` text of ``record_type``: what is registered and what ``synthpay schema`` shows."""
    msg = derived(record_type)
    lines = [f"  {_SCALARS[f.avro_type][0]} {f.name} = {f.number};" for f in msg.fields]
    return "\n".join(
        ('syntax = "proto3";', "", f"package {msg.package};", "", f"message {msg.name} {{", *lines, "}", "")
    )


def _json_name(name: str) -> str:
    """protoc's default JSON name: lowerCamelCase of the field name."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def file_descriptor(record_type: str) -> descriptor_pb2.FileDescriptorProto:
    """The ``FileDescriptorProto`` of :func:`proto_text`, as protoc compiles it."""
    msg = derived(record_type)
    return descriptor_pb2.FileDescriptorProto(
        name=file_name(record_type),
        package=msg.package,
        syntax="proto3",
        message_type=[
            descriptor_pb2.DescriptorProto(
                name=msg.name,
                field=[
                    descriptor_pb2.FieldDescriptorProto(
                        name=f.name,
                        number=f.number,
                        label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL,
                        type=_SCALARS[f.avro_type][1],
                        json_name=_json_name(f.name),
                    )
                    for f in msg.fields
                ],
            )
        ],
    )


@functools.cache
def message_class(record_type: str) -> type[message.Message]:
    """The protobuf runtime's message class of ``record_type`` (its own pool: one file per record type)."""
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file_descriptor(record_type))
    made: type[message.Message] = message_factory.GetMessageClass(
        pool.FindMessageTypeByName(derived(record_type).full_name)
    )
    return made


def decode(record_type: str, body: bytes) -> dict[str, object]:
    """A message's bytes (after the wire format's framing and message indexes) as a record.

    Every field is there, a default-valued one too (proto3 leaves those off the wire), with
    the Avro field's Python type: read off the parsed message, not ``MessageToDict``, which
    gives an int64 as text. The runtime's DecodeError says a body is not this message.
    """
    parsed = message_class(record_type).FromString(body)
    return {f.name: getattr(parsed, f.name) for f in derived(record_type).fields}
