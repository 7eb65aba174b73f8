"""The file sink's Parquet files: a topic's series ``<stem>.000000.parquet`` on, read in order.

Needs pyarrow (``pip install 'synthpay[parquet]'``), as writing them does. ``ts`` is a
timestamp in ms; an event arrives at the largest ts read so far from its series.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import accumulate
from pathlib import Path
from typing import Any

from synthpay.calibrate.avro_source import REQUIRED
from synthpay.calibrate.observations import Observation
from synthpay.calibrate.source_errors import at

_OPTIONAL = ("source", "destination", "amount", "currency")


def _pyarrow(name: str) -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise at(name, None, "reading Parquet needs pyarrow: pip install 'synthpay[parquet]'") from None
    return pq


def parquet_fields(path: Path, name: str) -> list[str]:
    """The column names of a Parquet file; SourceError when it is none."""
    pq = _pyarrow(name)
    try:
        return list(pq.read_schema(path).names)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise at(name, None, f"not a Parquet file: {exc}") from None


def read_parquet(paths: Sequence[Path], name: str) -> Iterator[Observation]:
    """Every row of the series ``paths`` (in order) as an event."""
    pq = _pyarrow(name)
    arrival_ms = -(2**63)
    for path in paths:
        try:
            parquet = pq.ParquetFile(path)
            columns = [c for c in (*REQUIRED, *_OPTIONAL) if c in parquet.schema_arrow.names]
            for batch in parquet.iter_batches(columns=columns):
                nones = [None] * batch.num_rows
                times = _ms(batch.column("ts"))
                arrivals = list(accumulate(times, max, initial=arrival_ms))[1:]
                arrival_ms = arrivals[-1] if arrivals else arrival_ms
                optional = [batch.column(c).to_pylist() if c in columns else nones for c in _OPTIONAL]
                yield from map(
                    Observation._make,
                    zip(batch.column("id").to_pylist(), batch.column("status").to_pylist(), times, arrivals, *optional),
                )
        except (OSError, ValueError, KeyError) as exc:
            raise at(path.name, None, f"not readable as the file sink's Parquet: {exc}") from None


def _ms(column: Any) -> list[int]:
    """A ts column in epoch ms: a timestamp of any unit, or integers (ms already)."""
    import pyarrow as pa

    if not pa.types.is_timestamp(column.type):
        return [int(t) for t in column.to_pylist()]
    per_ms = {"s": 1 / 1000, "ms": 1, "us": 1000, "ns": 1_000_000}[column.type.unit]
    values = column.cast(pa.int64()).to_pylist()
    return [v * 1000 for v in values] if per_ms < 1 else [v // per_ms for v in values]
