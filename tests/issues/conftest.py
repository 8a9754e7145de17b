"""Fixtures of the rights-per-scope tests: two plants, SZ1 and XA2, and the people in both."""

from __future__ import annotations

import pytest

from issues.models import Role
from tests.conftest import make_person
from tests.issues.mixed_roles import qe_of_xa2_leading_sz1_a1, two_plants


@pytest.fixture
def plants(db):
    sz1, xa2 = two_plants()
    return {"sz1": sz1, "xa2": xa2}


@pytest.fixture
def dual(plants):
    """A quality engineer of XA2 who is also team leader of SZ1 line a1."""
    return qe_of_xa2_leading_sz1_a1(plants["sz1"], plants["xa2"])


@pytest.fixture
def leaders(plants):
    """A team leader of line a1 in each plant: reports the problems, owns them."""
    return {
        code: make_person(f"{code}-leader", Role.TEAM_LEADER, plant=world.plant, line=world.line_a1)
        for code, world in plants.items()
    }
