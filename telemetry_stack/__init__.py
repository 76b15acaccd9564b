"""llama-telemetry: a local observability stack for OGX (formerly Llama Stack) apps."""

from importlib.metadata import PackageNotFoundError, version

try:  # one home for the version: pyproject.toml, as the installed package's metadata carries it
    __version__ = version("llama-telemetry")
except PackageNotFoundError:  # run from a checkout that was never installed
    __version__ = "0+unknown"
