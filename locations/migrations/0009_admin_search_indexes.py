"""Indexes for the admin lists at scale (locations/admin_scale.py, docs/admin.md "Large lists").

On every database: the filters' columns in list order (status, power type, country, city).

On PostgreSQL only (SQLite falls back to a scan, fine at its sizes): the admin search's
lookups, matched exactly as Django writes them (`UPPER("col"::text) LIKE UPPER(%s)`):
- ids by prefix (`^` search fields: `istartswith`): btree `text_pattern_ops`, which serves
  `LIKE 'X%'` in any collation;
- words anywhere (`icontains`): trigram GIN indexes (`pg_trgm`, a trusted extension).
They are not in the models' Meta (that would be every database); `makemigrations` does not
see them.
"""

from django.db import migrations, models

PATTERN = {  # index name: (table, column)
    "location_id_prefix_idx": ("locations_location", "id"),
    "location_postal_code_prefix_idx": ("locations_location", "postal_code"),
    "evse_uid_prefix_idx": ("locations_evse", "uid"),
    "evse_evse_id_prefix_idx": ("locations_evse", "evse_id"),
}
TRIGRAM = {
    "location_name_trgm_idx": ("locations_location", "name"),
    "location_address_trgm_idx": ("locations_location", "address"),
    "location_city_trgm_idx": ("locations_location", "city"),
}


def create_search_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
    # Not django.contrib.postgres's TrigramExtension: its backwards step queries
    # pg_extension on SQLite too. Migrating back leaves the extension (harmless, maybe
    # used by others).
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, (table, column) in PATTERN.items():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" '
            f'(UPPER("{column}"::text) text_pattern_ops)'
        )
    for name, (table, column) in TRIGRAM.items():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" '
            f'USING gin (UPPER("{column}"::text) gin_trgm_ops)'
        )


def drop_search_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in (*PATTERN, *TRIGRAM):
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [
        ("locations", "0008_list_paging_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="connector",
            index=models.Index(fields=["power_type", "row_id"], name="connector_power_type_idx"),
        ),
        migrations.AddIndex(
            model_name="location",
            index=models.Index(fields=["country", "row_id"], name="location_country_idx"),
        ),
        migrations.AddIndex(
            model_name="location",
            index=models.Index(fields=["city", "row_id"], name="location_city_idx"),
        ),
        migrations.RunPython(create_search_indexes, drop_search_indexes, elidable=False),
    ]
