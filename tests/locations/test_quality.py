"""Data-quality rules (`locations.quality`) and `manage.py ocpi_quality`.

Bad values are written with `QuerySet.update()`, past the services' validation: that is how
such rows exist in real databases (data from before a rule, imports, direct SQL), and it
keeps these tests independent of how strict the forms and services are.
"""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from locations import enums
from locations.models import EVSE, Connector, Location
from locations.quality import location_issues, quality_summary, with_children
from locations.quality_rules import RULES, Issue
from tests.locations.conftest import create_site

LOC = "NL*EXA*LOC-FULL"
EVSE_LABEL = f"{LOC} / EVSE EVSE-FULL"
CONNECTOR = f"{EVSE_LABEL} / Connector 1"

pytestmark = pytest.mark.django_db


def reload(location: Location) -> Location:
    return with_children(Location.objects.filter(pk=location.pk)).get()


def spoil(site: Location, model: type, **values) -> Location:
    """Write `values` into the site's Location, EVSE or Connector row without validation."""
    rows = {
        Location: Location.objects.filter(pk=site.pk),
        EVSE: EVSE.objects.filter(location=site),
        Connector: Connector.objects.filter(evse__location=site),
    }[model]
    rows.update(**values)
    return reload(site)


# (rule, row to spoil, values, expected issues of that rule's profile)
VIOLATIONS = [
    (
        "ocpi.coordinates_range",
        Location,
        {"coordinates": {"latitude": "95.000000", "longitude": "200.000000"}},
        [
            Issue(
                LOC,
                "coordinates",
                "ocpi.coordinates_range",
                "error",
                "latitude: 95.000000 is outside −90…90; longitude: 200.000000 is outside −180…180",
            )
        ],
    ),
    (
        "ocpi.coordinates_range",
        EVSE,
        {"coordinates": {"latitude": "-90.000001", "longitude": "5.110290"}},
        [
            Issue(
                EVSE_LABEL,
                "coordinates",
                "ocpi.coordinates_range",
                "error",
                "latitude: -90.000001 is outside −90…90",
            )
        ],
    ),
    (
        "ocpi.coordinates_null_island",
        Location,
        {"coordinates": {"latitude": "0.000000", "longitude": "-0.00000"}},
        [
            Issue(
                LOC,
                "coordinates",
                "ocpi.coordinates_null_island",
                "warning",
                "0,0 (Null Island) is in the Gulf of Guinea: coordinates were probably not set",
            )
        ],
    ),
    (
        "ocpi.coordinates_country",
        Location,
        # Paris, for a Location in the Netherlands.
        {"coordinates": {"latitude": "48.856610", "longitude": "2.352220"}},
        [
            Issue(
                LOC,
                "coordinates",
                "ocpi.coordinates_country",
                "warning",
                "48.856610, 2.352220 is outside NLD: check the coordinates and the Location's "
                "country",
            )
        ],
    ),
    (
        "ocpi.coordinates_country",
        EVSE,
        {"coordinates": {"latitude": "5.110290", "longitude": "52.089450"}},
        [
            Issue(
                EVSE_LABEL,
                "coordinates",
                "ocpi.coordinates_country",
                "warning",
                "5.110290, 52.089450 is outside NLD: latitude and longitude look swapped",
            )
        ],
    ),
    (
        "ocpi.evse_id_format",
        EVSE,
        {"evse_id": "NL*EXA*E*1"},
        [
            Issue(
                EVSE_LABEL,
                "evse_id",
                "ocpi.evse_id_format",
                "error",
                "'NL*EXA*E*1' is not an eMI3 EVSE ID such as NL*ABC*E12345*1 "
                "(the power outlet id after E starts with a letter or digit)",
            )
        ],
    ),
    (
        "ocpi.max_voltage_zero",
        Connector,
        {"max_voltage": 0},
        [
            Issue(
                CONNECTOR,
                "max_voltage",
                "ocpi.max_voltage_zero",
                "error",
                "max_voltage is 0: a connector that delivers nothing",
            )
        ],
    ),
    (
        "ocpi.max_amperage_zero",
        Connector,
        {"max_amperage": 0},
        [
            Issue(
                CONNECTOR,
                "max_amperage",
                "ocpi.max_amperage_zero",
                "error",
                "max_amperage is 0: a connector that delivers nothing",
            )
        ],
    ),
    (
        "ocpi.max_electric_power_zero",
        Connector,
        {"max_electric_power": 0},
        [
            Issue(
                CONNECTOR,
                "max_electric_power",
                "ocpi.max_electric_power_zero",
                "error",
                "max_electric_power is 0: a connector that delivers nothing",
            )
        ],
    ),
    (
        "released.address_length",
        Location,
        {"address": "A" * 46},
        [
            Issue(
                LOC,
                "address",
                "released.address_length",
                "warning",
                "address has 46 characters: receivers built on the released 2.2.1 text "
                "refuse more than 45 (the corrected text allows 255)",
            )
        ],
    ),
    (
        "released.state_length",
        Location,
        {"state": "S" * 21},
        [
            Issue(
                LOC,
                "state",
                "released.state_length",
                "warning",
                "state has 21 characters: receivers built on the released 2.2.1 text "
                "refuse more than 20 (the corrected text allows 45)",
            )
        ],
    ),
    (
        "gireve.owner_name",
        Location,
        {"owner": None},
        [
            Issue(
                LOC,
                "owner.name",
                "gireve.owner_name",
                "warning",
                "owner.name is missing: Gireve requires it",
            )
        ],
    ),
    (
        "gireve.operator_name",
        Location,
        {"operator": {"website": "https://charging.example.com"}},
        [
            Issue(
                LOC,
                "operator.name",
                "gireve.operator_name",
                "warning",
                "operator.name is missing: Gireve requires it",
            )
        ],
    ),
    (
        "gireve.evse_capabilities",
        EVSE,
        {"capabilities": []},
        [
            Issue(
                EVSE_LABEL,
                "capabilities",
                "gireve.evse_capabilities",
                "warning",
                "capabilities is missing: Gireve requires it",
            )
        ],
    ),
    (
        "gireve.connector_tariff_ids",
        Connector,
        {"tariff_ids": []},
        [
            Issue(
                CONNECTOR,
                "tariff_ids",
                "gireve.connector_tariff_ids",
                "warning",
                "tariff_ids is missing: Gireve requires it",
            )
        ],
    ),
    (
        "afir.opening_times",
        Location,
        {"opening_times": None},
        [
            Issue(
                LOC,
                "opening_times",
                "afir.opening_times",
                "warning",
                "opening_times is missing: AFIR / NDW requires it",
            )
        ],
    ),
    (
        "afir.energy_mix",
        Location,
        {"energy_mix": None},
        [
            Issue(
                LOC,
                "energy_mix",
                "afir.energy_mix",
                "warning",
                "energy_mix is missing: AFIR / NDW requires it",
            )
        ],
    ),
    (
        "afir.parking_restrictions",
        EVSE,
        {"parking_restrictions": []},
        [
            Issue(
                EVSE_LABEL,
                "parking_restrictions",
                "afir.parking_restrictions",
                "warning",
                "parking_restrictions is missing: AFIR / NDW requires it",
            )
        ],
    ),
    (
        "afir.max_electric_power",
        Connector,
        {"max_electric_power": None},
        [
            Issue(
                CONNECTOR,
                "max_electric_power",
                "afir.max_electric_power",
                "warning",
                "max_electric_power is missing: AFIR / NDW requires it",
            )
        ],
    ),
    (
        "afir.tariff_ids",
        Connector,
        {"tariff_ids": []},
        [
            Issue(
                CONNECTOR,
                "tariff_ids",
                "afir.tariff_ids",
                "warning",
                "tariff_ids is missing: AFIR / NDW requires it",
            )
        ],
    ),
    (
        "hubject.power_consistency",
        Connector,
        {"max_electric_power": 50000},
        [
            Issue(
                CONNECTOR,
                "max_electric_power",
                "hubject.power_consistency",
                "warning",
                "max_electric_power 50000 W is more than 230 V × 32 A × 3 phases = 22080 W",
            )
        ],
    ),
    (
        "hubject.power_consistency",
        Connector,
        {"power_type": enums.PowerType.AC_1_PHASE, "max_amperage": 16, "max_electric_power": 11000},
        [
            Issue(
                CONNECTOR,
                "max_electric_power",
                "hubject.power_consistency",
                "warning",
                "max_electric_power 11000 W is more than 230 V × 16 A × 1 phase = 3680 W",
            )
        ],
    ),
    (
        "hubject.voltage_range",
        Connector,
        {"max_voltage": 2000},
        [
            Issue(
                CONNECTOR,
                "max_voltage",
                "hubject.voltage_range",
                "warning",
                "max_voltage 2000 V is outside the plausible 100–1500 V",
            )
        ],
    ),
    (
        "hubject.amperage_range",
        Connector,
        {"max_amperage": 1200},
        [
            Issue(
                CONNECTOR,
                "max_amperage",
                "hubject.amperage_range",
                "warning",
                "max_amperage 1200 A is outside the plausible 1–1000 A",
            )
        ],
    ),
    (
        "hubject.power_range",
        Connector,
        {"max_voltage": 1000, "max_amperage": 1000, "max_electric_power": 2_000_000},
        [
            Issue(
                CONNECTOR,
                "max_electric_power",
                "hubject.power_range",
                "warning",
                "max_electric_power 2000000 W is outside the plausible 1–1000000 W",
            )
        ],
    ),
    (
        "hubject.line_to_line_voltage",
        Connector,
        {"max_voltage": 400},
        [
            Issue(
                CONNECTOR,
                "max_voltage",
                "hubject.line_to_line_voltage",
                "warning",
                "max_voltage 400 V looks line to line: for AC_3_PHASE OCPI wants line to "
                "neutral (e.g. 230 V)",
            )
        ],
    ),
    (
        "hubject.standard_power_type",
        Connector,
        {"power_type": enums.PowerType.DC, "max_electric_power": 7000},
        [
            Issue(
                CONNECTOR,
                "power_type",
                "hubject.standard_power_type",
                "warning",
                "standard IEC_62196_T2 is an AC connector but power_type is DC",
            )
        ],
    ),
    (
        "hubject.standard_power_type",
        Connector,
        {"standard": enums.ConnectorType.IEC_62196_T2_COMBO},
        [
            Issue(
                CONNECTOR,
                "power_type",
                "hubject.standard_power_type",
                "warning",
                "standard IEC_62196_T2_COMBO is a DC connector but power_type is AC_3_PHASE",
            )
        ],
    ),
]


def test_the_full_site_passes_every_rule_of_every_profile(full_site):
    assert location_issues(reload(full_site)) == []


@pytest.mark.parametrize(
    ("rule", "model", "values", "expected"),
    VIOLATIONS,
    ids=[f"{case[0]}-{case[1].__name__}-{n}" for n, case in enumerate(VIOLATIONS)],
)
def test_a_site_that_breaks_a_rule_gets_exactly_that_finding(
    full_site, rule, model, values, expected
):
    profile = next(candidate.profile for candidate in RULES if candidate.id == rule)

    spoiled = spoil(full_site, model, **values)

    assert location_issues(spoiled, profiles=[profile]) == expected


def test_every_rule_has_a_violation_test():
    assert {case[0] for case in VIOLATIONS} == {rule.id for rule in RULES}


@pytest.mark.parametrize(
    ("model", "values"),
    [
        (Location, {"address": "A" * 45, "state": "S" * 20}),
        # (In a country without a box, which is not checked, as the EVSE's coordinates.)
        (
            Location,
            {
                "country": "TUV",
                "coordinates": {"latitude": "-90.000000", "longitude": "180.000000"},
            },
        ),
        (
            Location,
            {"country": "TUV", "coordinates": {"latitude": "0.000000", "longitude": "5.110278"}},
        ),
        # Inside the box of the Dutch Caribbean (Bonaire), one of NLD's.
        (Location, {"coordinates": {"latitude": "12.150000", "longitude": "-68.270000"}}),
        # Inside the Netherlands' box, 0.1° around its land (a generalised outline).
        (Location, {"coordinates": {"latitude": "53.780000", "longitude": "7.300000"}}),
        (Location, {"owner": {"name": "City of Utrecht"}}),
        (EVSE, {"coordinates": None}),
        (EVSE, {"evse_id": ""}),
        (EVSE, {"evse_id": "nlexae0001"}),
        (EVSE, {"evse_id": "+49*810*000*438"}),
        # Within 5 % of 230 V × 32 A × 3 = 22,080 W.
        (Connector, {"max_electric_power": 23000}),
        # A capped DC unit: less than voltage × amperage is what the field is for.
        (
            Connector,
            {
                "standard": enums.ConnectorType.IEC_62196_T2_COMBO,
                "power_type": enums.PowerType.DC,
                "max_voltage": 920,
                "max_amperage": 400,
                "max_electric_power": 150000,
            },
        ),
        (Connector, {"max_voltage": 1500, "max_amperage": 1, "max_electric_power": 1500}),
        (Connector, {"power_type": enums.PowerType.AC_2_PHASE, "max_electric_power": 14720}),
    ],
)
def test_values_at_the_edges_of_the_rules_pass(full_site, model, values):
    assert location_issues(spoil(full_site, model, **values)) == []


@pytest.mark.parametrize(
    "evse_id", ["NL*EXA*E*1", "NL*EXA*1234", "NL*EXA*", "NLEXA", "+49*810**1", "N1*EXA*E1"]
)
def test_evse_ids_that_are_not_emi3_are_errors(full_site, evse_id):
    issues = location_issues(spoil(full_site, EVSE, evse_id=evse_id), profiles=["ocpi"])

    assert [(issue.rule, issue.severity) for issue in issues] == [("ocpi.evse_id_format", "error")]


@pytest.mark.parametrize(
    ("coordinates", "message"),
    [
        (
            {"latitude": "NaN", "longitude": "east"},
            "latitude: 'NaN' is not a number of degrees; "
            "longitude: 'east' is not a number of degrees",
        ),
        ({"latitude": "52.089444"}, "longitude: is missing"),
        (
            ["52.089444", "5.110278"],
            "latitude: is missing; longitude: is missing",
        ),
    ],
)
def test_coordinates_that_are_not_numbers_are_errors_not_crashes(full_site, coordinates, message):
    spoiled = spoil(full_site, Location, coordinates=coordinates)

    assert location_issues(spoiled, profiles=["ocpi"]) == [
        Issue(LOC, "coordinates", "ocpi.coordinates_range", "error", message)
    ]


def test_an_owner_without_an_object_is_a_missing_name(full_site):
    spoiled = spoil(full_site, Location, owner="City of Utrecht")

    assert [issue.rule for issue in location_issues(spoiled)] == ["gireve.owner_name"]


def test_a_prefetched_location_is_checked_without_a_query(full_site, django_assert_num_queries):
    prefetched = reload(full_site)
    spoil(full_site, Connector, max_voltage=0)
    spoiled = reload(full_site)

    with django_assert_num_queries(0):
        assert location_issues(prefetched) == []
        assert len(location_issues(spoiled)) == 1


def test_a_location_without_prefetch_gets_the_same_findings(full_site):
    spoil(full_site, EVSE, capabilities=[])

    plain = Location.objects.get(pk=full_site.pk)

    assert location_issues(plain) == location_issues(reload(full_site))
    assert [issue.rule for issue in location_issues(plain)] == ["gireve.evse_capabilities"]


def test_a_removed_evse_is_not_checked(full_site):
    spoiled = spoil(full_site, EVSE, status=enums.Status.REMOVED, evse_id="NL*EXA*E*1")

    assert location_issues(spoiled) == []


def test_errors_come_first_then_warnings_in_page_order(full_site):
    spoil(full_site, Location, opening_times=None)
    spoil(full_site, EVSE, capabilities=[])
    spoiled = spoil(full_site, Connector, max_voltage=0)

    assert [(issue.rule, issue.object) for issue in location_issues(spoiled)] == [
        ("ocpi.max_voltage_zero", CONNECTOR),
        ("afir.opening_times", LOC),
        ("gireve.evse_capabilities", EVSE_LABEL),
    ]


def test_an_unknown_profile_is_refused(full_site):
    with pytest.raises(ValueError, match="Unknown profile"):
        location_issues(full_site, profiles=["ocpi", "nope"])


# --- the summary over all Locations ---


@pytest.mark.parametrize("sites", [3, 9])
def test_the_summary_runs_three_queries_per_batch_whatever_the_size(
    sites, django_assert_num_queries
):
    for _ in range(sites):
        create_site(evses=3, connectors_per_evse=2)

    with django_assert_num_queries(3):  # Locations, EVSEs, Connectors
        summary = quality_summary(batch_size=10)

    assert summary.locations == sites


@pytest.mark.parametrize(("sites", "batches"), [(5, 3), (6, 3)])
def test_every_batch_costs_the_same_three_queries(sites, batches, django_assert_num_queries):
    for _ in range(sites):
        create_site(evses=2, connectors_per_evse=2)

    # A last batch that comes back full needs one more (empty) Location query to know.
    extra = 1 if sites % 2 == 0 else 0
    with django_assert_num_queries(3 * batches + extra):
        summary = quality_summary(batch_size=2)

    assert summary.locations == sites


# --- manage.py ocpi_quality ---


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("ocpi_quality", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def two_sites(full_site) -> None:
    """The clean full site and one with an error and three warnings."""
    bad = create_site(
        evses=2, id="LOC-BAD", owner={"name": "City"}, operator={"name": "Example Charging"}
    )
    first, second = EVSE.objects.filter(location=bad).order_by("row_id")
    EVSE.objects.filter(pk=first.pk).update(
        uid="EVSE-7", evse_id="NL*EXA*E*7", capabilities=["RFID_READER"]
    )
    EVSE.objects.filter(pk=second.pk).update(
        uid="EVSE-8", evse_id="NL*EXA*E8", capabilities=["RFID_READER"]
    )
    Connector.objects.filter(evse__location=bad).update(tariff_ids=[], max_voltage=230)


def test_the_command_prints_a_table_with_one_line_per_rule(two_sites):
    assert run("--profile", "ocpi", "--profile", "gireve") == (
        "Profiles: OCPI 2.2.1 (specification), Gireve\n"
        "Checked 2 Locations, 1 with issues: 1 errors, 2 warnings.\n"
        "\n"
        "RULE                          SEVERITY  COUNT  FIELD               EXAMPLES\n"
        "ocpi.coordinates_range        error         0  coordinates\n"
        "ocpi.coordinates_null_island  warning       0  coordinates\n"
        "ocpi.coordinates_country      warning       0  coordinates\n"
        "ocpi.evse_id_format           error         1  evse_id             "
        "NL*EXA*LOC-BAD / EVSE EVSE-7\n"
        "ocpi.max_voltage_zero         error         0  max_voltage\n"
        "ocpi.max_amperage_zero        error         0  max_amperage\n"
        "ocpi.max_electric_power_zero  error         0  max_electric_power\n"
        "gireve.owner_name             warning       0  owner.name\n"
        "gireve.operator_name          warning       0  operator.name\n"
        "gireve.evse_capabilities      warning       0  capabilities\n"
        "gireve.connector_tariff_ids   warning       2  tariff_ids          "
        "NL*EXA*LOC-BAD / EVSE EVSE-7 / Connector 1, "
        "NL*EXA*LOC-BAD / EVSE EVSE-8 / Connector 1\n"
    )


def test_the_command_prints_json_with_every_selected_rule(two_sites):
    output = run("--profile", "afir", "ocpi-released", "--format", "json")

    def rule(rule_id: str, profile: str, field: str, examples: list[str]) -> dict:
        return {
            "rule": rule_id,
            "profile": profile,
            "severity": "warning",
            "field": field,
            "source": sources[profile],
            "count": len(examples),
            "examples": examples,
        }

    released, afir = "OCPI 2.2.1 (released lengths)", "AFIR / NDW"
    sources = {
        released: "OCPI 2.2.1, Locations module, 8.3.1 Location Object, as released "
        "(tags 2.2.1 and 2.2.1-d2): address string(45), state string(20)",
        afir: "EU AFIR (Regulation 2023/1804) data for national access points, e.g. NDW",
    }
    evses = ["NL*EXA*LOC-BAD / EVSE EVSE-7", "NL*EXA*LOC-BAD / EVSE EVSE-8"]
    connectors = [f"{evse} / Connector 1" for evse in evses]
    assert json.loads(output) == {
        "profiles": [released, afir],
        "locations": 2,
        "locations_with_issues": 1,
        "errors": 0,
        "warnings": 8,
        "rules": [
            rule("released.address_length", released, "address", []),
            rule("released.state_length", released, "state", []),
            rule("afir.opening_times", afir, "opening_times", ["NL*EXA*LOC-BAD"]),
            rule("afir.energy_mix", afir, "energy_mix", ["NL*EXA*LOC-BAD"]),
            rule("afir.parking_restrictions", afir, "parking_restrictions", evses),
            rule("afir.max_electric_power", afir, "max_electric_power", connectors),
            rule("afir.tariff_ids", afir, "tariff_ids", connectors),
        ],
    }


def test_the_table_shows_at_most_three_examples_per_rule(full_site):
    create_site(evses=5, id="LOC-MANY")

    table = run("--profile", "afir")

    line = next(line for line in table.splitlines() if line.startswith("afir.tariff_ids"))
    assert line.count("NL*EXA*LOC-MANY / EVSE") == 3
    assert line.endswith(", …")
    assert " 5  tariff_ids " in line


def test_fail_on_error_exits_with_status_1_when_errors_exist(two_sites):
    with pytest.raises(CommandError, match="1 data-quality error") as raised:
        run("--profile", "ocpi", "--fail-on-error")

    assert raised.value.returncode == 1


def test_fail_on_error_passes_with_warnings_only(two_sites):
    output = run("--profile", "afir", "--fail-on-error")

    assert "0 errors, 8 warnings" in output
