"""The names of the file sink's files: what each format's writer writes and verify looks for."""

from __future__ import annotations

#: Matches the sequence number in a Parquet file's name (six digits, more after 999999).
PARQUET_SEQ = "[0-9][0-9][0-9][0-9][0-9][0-9]*"


def stem(topic: str, index: int, count: int) -> str:
    """``<topic>``; a run split across instances writes ``<topic>.part<index>`` each."""
    return topic if count == 1 else f"{topic}.part{index}"


def parquet_name(stem: str, seq: int) -> str:
    """The name of a topic's ``seq``-th Parquet file: ``<stem>.000000.parquet`` on."""
    return f"{stem}.{seq:06d}.parquet"
