"""`manage.py ocpi_demo_data --locations N`: realistic, spec-valid demo sites, fast.

Sites are built by `locations.management.demo_data` and written through
`locations.bulk.locations_bulk_create`, one transaction per batch, so every Location
is validated like any other and gets its ChangeRecord (partners get the sites pushed).
"""

import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.models.functions import Upper

from locations.bulk import locations_bulk_create
from locations.management.demo_data import DemoSiteFactory
from locations.models import EVSE, Location
from versions.parties import primary_party


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


def _non_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(value)
    return number


def _analyze() -> None:
    """Refresh the planner statistics of the tables that just grew.

    After a bulk load the planner may otherwise believe the tables are (nearly) empty and
    pick sequential scans for the API's prefetch queries (seen on PostgreSQL with
    autovacuum off: ~25 ms per query instead of well under 1 ms). The whole database, so
    that the tables of the apps that recorded the changes (the push outbox) are included.
    Cheap: it samples.
    """
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


class Command(BaseCommand):
    help = (
        "Create N realistic demo Locations (with EVSEs and Connectors) for our primary CPO "
        "party (the first of OCPI_PARTIES, or OCPI_COUNTRY_CODE/OCPI_PARTY_ID). Deterministic "
        "per --seed; another seed adds other sites, the same seed twice is refused."
    )

    def add_arguments(self, parser):
        parser.add_argument("--locations", type=_positive, required=True, metavar="N")
        parser.add_argument("--evses-per-location", type=_positive, default=4)
        parser.add_argument("--connectors-per-evse", type=_positive, default=2)
        parser.add_argument("--seed", type=_non_negative, default=1)
        parser.add_argument(
            "--batch-size",
            type=_positive,
            default=500,
            help="Locations per transaction (default 500)",
        )

    def handle(self, *args, **options):
        count = options["locations"]
        party = primary_party()  # our first party (OCPI_PARTIES, or the one-party shorthand)
        factory = DemoSiteFactory(
            seed=options["seed"],
            country_code=party.country_code,
            party_id=party.party_id,
            operator_name=party.name,
            operator_website=party.website,
            evses_per_location=options["evses_per_location"],
            connectors_per_evse=options["connectors_per_evse"],
        )
        self._refuse_existing(factory)
        started = time.perf_counter()
        batch_size = options["batch_size"]
        created = 0
        for start in range(0, count, batch_size):
            sites = [factory.site(n) for n in range(start, min(start + batch_size, count))]
            try:
                created += locations_bulk_create(sites=sites)
            except ValidationError as exc:
                done = f" ({created} Locations of earlier batches were saved)" if created else ""
                raise CommandError(f"{' '.join(exc.messages)}{done}") from exc
            if options["verbosity"] > 1:
                self.stdout.write(f"  {created}/{count} Locations")
        if created:
            _analyze()
        elapsed = time.perf_counter() - started
        evses = created * options["evses_per_location"]
        connectors = evses * options["connectors_per_evse"]
        self.stdout.write(
            f"Created {created} Locations, {evses} EVSEs and {connectors} Connectors "
            f"for {factory.country_code}*{factory.party_id} (seed {factory.seed}) "
            f"in {elapsed:.1f} s."
        )

    def _refuse_existing(self, factory: DemoSiteFactory) -> None:
        """Refuse before writing anything when this seed's sites exist (all three checks are
        single queries); the database constraints still guard against anything else."""
        prefix = factory.id_prefix().upper()
        clashes = (
            Location.objects.annotate(key=Upper("id"))
            .filter(key__startswith=prefix)
            .values_list("id", flat=True),
            EVSE.objects.annotate(key=Upper("uid"))
            .filter(key__startswith=prefix)
            .values_list("uid", flat=True),
            EVSE.objects.annotate(key=Upper("evse_id"))
            .filter(key__startswith=factory.evse_id_prefix().upper())
            .exclude(status="REMOVED")
            .values_list("evse_id", flat=True),
        )
        for queryset in clashes:
            found = list(queryset[:3])
            if found:
                raise CommandError(
                    f"Demo data of seed {factory.seed} exists already (e.g. {', '.join(found)}); "
                    "nothing was created. Use another --seed to add more sites."
                )
