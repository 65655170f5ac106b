"""Migration locations 0002 makes Location ids unique on the whole platform: existing
duplicates are listed in full and the migration stops, instead of failing on a bare
IntegrityError or silently (OCPI 2.2.1, Locations module, Location object: id)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("locations", "0001_initial")]
AFTER = [("locations", "0002_platform_unique_url_safe_ids")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def old_schema():
    apps = migrate(BEFORE)
    yield apps
    # Back to the latest schema of every app (later migrations build on 0002), emptied with
    # the model of the schema the test left.
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    now = [(app, name) for app, name in executor.loader.applied_migrations if app == "locations"]
    state = executor.loader.project_state(max(now, key=lambda key: key[1]))
    state.apps.get_model("locations", "Location").objects.all().delete()
    migrate(executor.loader.graph.leaf_nodes())


def _location(apps, row_id: int, country_code: str, party_id: str, location_id: str):
    return apps.get_model("locations", "Location").objects.create(
        row_id=row_id,
        country_code=country_code,
        party_id=party_id,
        id=location_id,
        address="Street 1",
        city="Town",
        country="NLD",
        coordinates={"latitude": "52.0", "longitude": "4.0"},
        time_zone="Europe/Amsterdam",
        last_updated="2024-03-01T10:00:00Z",
    )


def test_duplicate_ids_stop_the_migration_with_a_list_of_them(old_schema):
    _location(old_schema, 1, "NL", "EXA", "SHARED")
    _location(old_schema, 2, "NL", "SUB", "shared")
    _location(old_schema, 3, "NL", "EXA", "ALONE")
    _location(old_schema, 4, "BE", "WL1", "Twice")
    _location(old_schema, 5, "NL", "EXA", "TWICE")

    with pytest.raises(RuntimeError) as stopped:
        migrate(AFTER)

    assert str(stopped.value) == (
        "Location ids must be unique on the whole platform (OCPI 2.2.1, Locations module, "
        "Location object: id), but 2 id(s) are used more than once:\n"
        "  SHARED: NL*EXA*SHARED (row 1), NL*SUB*shared (row 2)\n"
        "  TWICE: BE*WL1*Twice (row 4), NL*EXA*TWICE (row 5)\n"
        "Give these Locations distinct ids (e.g. in the admin), then run migrate again."
    )


def test_without_duplicates_the_migration_adds_the_constraint(old_schema):
    _location(old_schema, 1, "NL", "EXA", "ONE")
    _location(old_schema, 2, "NL", "SUB", "TWO")

    apps = migrate(AFTER)

    constraints = {c.name for c in apps.get_model("locations", "Location")._meta.constraints}
    assert "location_unique_id" in constraints
    assert "location_unique_id_per_party" not in constraints
