"""llama-telemetry: a local observability stack for Llama Stack apps."""

__version__ = "0.1.0"
