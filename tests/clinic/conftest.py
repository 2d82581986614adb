"""Fixtures of the import tests (the clinics and patient factories are in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from masspost.clinic.importer import import_file
from masspost.clinic.models import Clinic
from tests.clinic.importing import patient_row, patients_file


@pytest.fixture
def helsinki(db: Any) -> Clinic:
    return Clinic.objects.create(code="HEL", name="Hammas Helsinki", country="FI", time_zone="Europe/Helsinki",
                                 default_language="fi")


@pytest.fixture
def two_patients(tmp_path: Path, clinic: Clinic, other_clinic: Clinic) -> None:
    import_file(kind="patients", path=patients_file(tmp_path, [patient_row("P1"), patient_row("P2", clinic="TRT")],
                                                    "seed-patients.csv"))
