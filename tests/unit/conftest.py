"""Unit tests run the CLI in this process (tests/unit/inprocess.py): the same entry point as the installed
command, a millisecond instead of a third of a second. The engine tests, and the few unit tests that are about
the installed command itself, run it as a subprocess (`tests.conftest.run_cli`)."""

from __future__ import annotations

import pytest


@pytest.fixture
def cli():
    from tests.unit.inprocess import invoke

    return invoke
