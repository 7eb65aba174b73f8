"""``synthpay verify``: read a run's records back and check them against the run's summary.

The records are the run's Kafka topics, or the file sink's files. The manifest is what
``synthpay run --summary-json`` wrote: the run id, what each topic delivered and the run's
plan (the topic of every status, every workflow's schedule with exact offsets). Verify
checks the run as it was configured, whatever the configuration says today; only the
connection settings come from the usual configuration layers.

Records of other runs (the ``run_id`` header, or the file sink's run marker) are skipped. The work is in modules named
for their step: :mod:`~synthpay.verify.manifest` (the summary, as verify needs it),
:mod:`~synthpay.verify.consume` (the consumer and watermarks), :mod:`~synthpay.verify.files`
(the file sink's files and their labels), :mod:`~synthpay.verify.tally` (what each record
counts for), :mod:`~synthpay.verify.judge` (the checks over the tally,
with :mod:`~synthpay.verify.workflows` saying which workflow a payment is, and
:mod:`~synthpay.verify.scenario` and :mod:`~synthpay.verify.anomalies` the checks of
scenario and anomaly runs), :mod:`~synthpay.verify.report` (the outcome, as text or JSON),
:mod:`~synthpay.verify.run` (one verification, start to end).
"""

from synthpay.verify.errors import VerifyError
from synthpay.verify.manifest import load_manifest
from synthpay.verify.report import Report
from synthpay.verify.run import verify, verify_files

__all__ = ["Report", "VerifyError", "load_manifest", "verify", "verify_files"]
