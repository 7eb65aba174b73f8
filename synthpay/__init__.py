"""synthpay: synthetic payment-workflow events for Kafka pipelines."""

__version__ = "0.1.0"
