"""Fixtures shared by the API tests (the backends, app and world live in the root conftest)."""

import pytest


@pytest.fixture
def admin(world) -> dict:
    """The sysadmin's credential headers."""
    return world["sysadmin"].headers


@pytest.fixture
def example_id(world) -> int:
    """The id of example.edu, the demo institution of the member personas."""
    return world.institutions["example.edu"]
