"""llama-telemetry: a local observability stack for OGX (formerly Llama Stack) apps."""

__version__ = "0.1.0"
