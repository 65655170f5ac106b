"""`manage.py ocpi_quality [--profile P ...] [--format table|json] [--fail-on-error] [--store]`.

Checks every Location (with its EVSEs and Connectors) against the data-quality rules of
`locations.quality` and prints one line per rule: severity, count and example objects.
Read-only, except that `--store` records each Location's counts for the admin
(`locations.quality_store`); the Locations themselves are never changed.
"""

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from locations import quality_store
from locations.quality import PROFILES, BatchResults, Summary, quality_summary


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


def format_table(summary: Summary) -> str:
    lines = [
        f"Profiles: {', '.join(summary.profiles)}",
        f"Checked {summary.locations} Locations, {summary.locations_with_issues} with issues: "
        f"{summary.errors} errors, {summary.warnings} warnings.",
        "",
    ]
    rows = [("RULE", "SEVERITY", "COUNT", "FIELD", "EXAMPLES")] + [
        (
            rule.rule,
            rule.severity,
            str(rule.count),
            rule.field,
            ", ".join(rule.examples) + (", …" if rule.count > len(rule.examples) else ""),
        )
        for rule in summary.rules
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    for row in rows:
        cells = [
            row[0].ljust(widths[0]),
            row[1].ljust(widths[1]),
            row[2].rjust(widths[2]),
            row[3].ljust(widths[3]),
            row[4],
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


class Command(BaseCommand):
    help = (
        "Check every Location against data-quality profiles (what strict receivers, hubs "
        "and national access points refuse) and print a summary per rule."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--profile",
            action="extend",
            nargs="+",
            choices=list(PROFILES),
            dest="profiles",
            help="Check only these profiles (one or more, flag repeatable; default: all). "
            + "; ".join(f"{key}: {title}" for key, title in PROFILES.items()),
        )
        parser.add_argument("--format", choices=["table", "json"], default="table")
        parser.add_argument(
            "--fail-on-error",
            action="store_true",
            help="Exit with status 1 when any error (a value the specification forbids) exists.",
        )
        parser.add_argument("--batch-size", type=_positive, default=500, metavar="N")
        parser.add_argument(
            "--store",
            action="store_true",
            help="Also store each Location's errors and warnings for the admin's list filter, "
            "column and dashboard (every profile: not with --profile).",
        )

    def handle(self, *args, **options):
        on_batch = None
        if options["store"]:
            if options["profiles"]:
                raise CommandError(
                    "--store records the findings of every profile: leave out --profile."
                )
            # Before reading anything: a Location changed during the run is newer than its
            # check, so the beat task checks it again.
            started = timezone.now()

            def on_batch(results: BatchResults) -> None:
                quality_store.store(results, started)

        summary = quality_summary(
            profiles=options["profiles"], batch_size=options["batch_size"], on_batch=on_batch
        )
        if options["format"] == "json":
            self.stdout.write(json.dumps(summary.as_dict(), indent=2, ensure_ascii=False))
        else:
            self.stdout.write(format_table(summary), ending="")
        if options["fail_on_error"] and summary.errors:
            raise CommandError(f"{summary.errors} data-quality error(s) found.", returncode=1)
