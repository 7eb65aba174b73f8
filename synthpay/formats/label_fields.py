"""The labels as fields of a record: how JSON lines and Parquet files carry what Kafka writes as headers.

A file holds no headers and no record timestamps, so each record of a ``jsonl`` or
``parquet`` file carries them as fields after the schema's own, under names that begin
with ``_`` (no field of ``avro/*.avsc`` does, and Avro names cannot):

- ``_run_id``: the run's id, on every record (the ``run_id`` header);
- ``_phase``: with phases, the phase the payment started in, ``""`` outside every phase,
  null on a bank (the ``phase`` header);
- ``_anomaly``: when the run can inject anomalies, the record's label, null on a clean
  record (the ``anomaly`` header);
- ``_emitted_ts``: when the run can inject anomalies, when the record was emitted (the Kafka
  record timestamp): after its ``ts`` for a late or swapped record, equal to it otherwise.

Which fields a run writes is fixed when it starts (:func:`names`, from the run's
:class:`~synthpay.model.events.Labels`), so every record of a run has the same ones; a run
without phases or anomalies writes ``_run_id`` alone, as its Kafka records carry no other
header.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from synthpay.model.events import Labels

RUN_ID: Final = "_run_id"
PHASE: Final = "_phase"
ANOMALY: Final = "_anomaly"
EMITTED: Final = "_emitted_ts"
#: Every label field, in the order a record carries those it has.
ALL: Final = (RUN_ID, PHASE, ANOMALY, EMITTED)


def names(labels: Labels) -> tuple[str, ...]:
    """The label fields every record of a run with ``labels`` carries after the schema's, in order."""
    return (RUN_ID, *((PHASE,) if labels.phased else ()), *((ANOMALY, EMITTED) if labels.anomalies else ()))
