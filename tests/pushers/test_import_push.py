"""An `ocpi_import` is pushed like any other change: a new Location as one PUT, a changed
one as PATCHes, a dry run not at all."""

import io
import json

import pytest
from django.core.management import call_command

from locations.models import Location

from .conftest import ours, theirs

pytestmark = pytest.mark.usefixtures("eager")


def _site(location_id: str, **changes) -> dict:
    data = {
        "country_code": "NL",
        "party_id": "EXA",
        "id": location_id,
        "publish": True,
        "name": "Imported site",
        "address": "Importweg 1",
        "city": "Utrecht",
        "country": "NLD",
        "coordinates": {"latitude": "52.10000", "longitude": "5.10000"},
        "evses": [
            {
                "uid": f"{location_id}-E1",
                "status": "AVAILABLE",
                "connectors": [
                    {
                        "id": "1",
                        "standard": "IEC_62196_T2",
                        "format": "SOCKET",
                        "power_type": "AC_3_PHASE",
                        "max_voltage": 230,
                        "max_amperage": 32,
                    }
                ],
            }
        ],
        "time_zone": "Europe/Amsterdam",
    }
    data.update(changes)
    return data


def _import(tmp_path, saved, sites, *extra):
    path = tmp_path / "import.json"
    path.write_text(json.dumps(sites))
    out = io.StringIO()
    saved(lambda: call_command("ocpi_import", str(path), *extra, stdout=out, stderr=io.StringIO()))
    return out.getvalue()


def test_an_import_is_pushed_to_the_partner(push_partner, receiver, saved, tmp_path):
    _import(tmp_path, saved, [_site("IMP-1"), _site("IMP-2")])

    assert [(r.method, r.path.rsplit("/", 1)[-1]) for r in receiver.pushes()] == [
        ("PUT", "IMP-1"),
        ("PUT", "IMP-2"),
    ]
    for location in Location.objects.all():
        assert theirs(receiver, location) == ours(location)


def test_an_update_by_import_is_pushed_and_a_dry_run_is_not(
    push_partner, receiver, saved, tmp_path
):
    _import(tmp_path, saved, [_site("IMP-1")])
    receiver.requests.clear()

    _import(tmp_path, saved, [_site("IMP-1", name="Renamed")], "--dry-run")
    assert receiver.pushes() == []

    _import(tmp_path, saved, [_site("IMP-1", name="Renamed")])
    assert [r.method for r in receiver.pushes()] == ["PATCH"]
    location = Location.objects.get()
    assert theirs(receiver, location) == ours(location)
    assert theirs(receiver, location)["name"] == "Renamed"
