"""The enums of the Locations module: OCPI values kept, every value with a hand-written label."""

import ast
import inspect

import pytest
from django.db import models

from locations import enums, schemas

ENUMS = [
    cls
    for _, cls in inspect.getmembers(enums, inspect.isclass)
    if issubclass(cls, models.TextChoices) and cls.__module__ == enums.__name__
]


def written_members(cls) -> dict[str, ast.expr]:
    """The class body's `NAME = ...` assignments as written in locations/enums.py."""
    [node] = ast.parse(inspect.getsource(cls)).body
    assert isinstance(node, ast.ClassDef)
    return {
        statement.targets[0].id: statement.value
        for statement in node.body
        if isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name)
    }


def test_the_twelve_enums_of_the_schema_are_the_ones_checked_here():
    assert len(ENUMS) == 12
    assert {tuple(cls.values) for cls in ENUMS} == {
        tuple(schema["enum"]) for schema in schemas.ENUMS.values()
    }


@pytest.mark.parametrize("cls", ENUMS, ids=lambda cls: cls.__name__)
def test_every_value_has_a_label_written_by_hand_not_the_generated_one(cls):
    """Django makes "Outoforder" or "Iec 62196 T2" of a member without a label: each member
    must be written `NAME = "VALUE", "Label"`, its value the member's own name."""
    written = written_members(cls)
    assert set(written) == set(cls.names)
    for name, value in written.items():
        assert isinstance(value, ast.Tuple), f"{cls.__name__}.{name} has no label"
        ocpi_value, label = (element.value for element in value.elts)  # type: ignore[attr-defined]
        assert ocpi_value == name == cls[name].value
        assert label == cls[name].label
        assert label.strip() == label and label


@pytest.mark.parametrize("cls", ENUMS, ids=lambda cls: cls.__name__)
def test_labels_of_one_enum_are_all_different(cls):
    assert len(set(cls.labels)) == len(cls.labels)


@pytest.mark.parametrize(
    ("member", "label"),
    [
        (enums.Status.OUTOFORDER, "Out of order"),
        (enums.ConnectorType.IEC_62196_T2, "IEC 62196 Type 2"),
        (enums.ConnectorType.IEC_62196_T2_COMBO, "IEC 62196 Type 2 Combo (CCS2)"),
        (enums.ConnectorType.IEC_60309_2_single_16, "IEC 60309-2 industrial, 1-phase 16 A (blue)"),
        (enums.PowerType.AC_3_PHASE, "AC 3-phase"),
        (enums.Capability.RFID_READER, "RFID reader"),
        (enums.ParkingRestriction.EV_ONLY, "EV only"),
        (enums.Facility.WIFI, "Wi-Fi"),
    ],
)
def test_labels_read_as_an_operator_says_them_while_the_value_stays_the_ocpi_one(member, label):
    assert member.label == label
    assert str(member) == member.value == member.name
