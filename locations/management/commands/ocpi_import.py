"""`manage.py ocpi_import FILE|URL [--format json|csv] [--dry-run]`: create or update
Locations from OCPI JSON, or from the CSV of `ocpi_export --format csv`.

The work is `locations.importing` (streamed, one transaction per Location, through the
services so that changes are pushed). This command prints one line per Location on stdout,
progress on stderr (a bar redrawn in place on a terminal; otherwise a `done/total` line at
most once a second) and a summary; it exits with 1 when any Location was refused, or when
the input as a whole could not be read (nothing saved).
"""

import time

from django.core.management.base import BaseCommand, CommandError

from locations.import_files import ImportFileError, input_format, open_source
from locations.importing import Outcome, import_stream


def _positive_float(value: str) -> float:
    number = float(value)
    if not number > 0:
        raise ValueError(value)
    return number


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


class Progress:
    """Progress on stderr, at most once a second and once at the end: on a terminal a bar
    redrawn in place (`[#####.....]  50%  1200/2400 Locations`), otherwise (a log, a pipe)
    one `done/total Locations` line each time."""

    WIDTH = 30

    def __init__(self, stream, clock=time.monotonic, tty: bool | None = None) -> None:
        self.stream, self.clock = stream, clock
        self.shown_at = clock()
        isatty = getattr(stream, "isatty", lambda: False)
        self.tty = isatty() if tty is None else tty

    def __call__(self, done: int, total: int) -> None:
        now = self.clock()
        if not (now - self.shown_at >= 1.0 or done == total):
            return
        self.shown_at = now
        if not self.tty:
            self.stream.write(f"{done}/{total} Locations\n")
            return
        filled = self.WIDTH * done // total if total else self.WIDTH
        bar = "#" * filled + "." * (self.WIDTH - filled)
        percent = 100 * done // total if total else 100
        end = "\n" if done == total else ""
        self.stream.write(f"\r[{bar}] {percent:3d}%  {done}/{total} Locations{end}")
        self.stream.flush()


class Command(BaseCommand):
    help = (
        "Create or update Locations (with EVSEs and Connectors) from OCPI 2.2.1 Locations "
        "JSON: a list of Locations or an OCPI envelope, from a file or an http(s) URL. Each "
        "Location replaces the stored one, as an OCPI PUT would; changes are pushed to "
        "partners. --dry-run reports what would change and saves nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("source", metavar="FILE|URL")
        parser.add_argument(
            "--format",
            choices=["json", "csv"],
            help="json (OCPI Locations) or csv (the columns of ocpi_export --format csv); "
            "by default csv for a name ending in .csv, else json",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="report what would change, save nothing"
        )
        parser.add_argument(
            "--max-bytes",
            type=_positive_int,
            default=2 * 1024**3,
            help="largest download accepted from a URL (default 2 GiB)",
        )
        parser.add_argument(
            "--deadline",
            type=_positive_float,
            default=600.0,
            help="seconds a URL's whole download may take (default 600)",
        )

    def handle(self, *args, **options):
        dry_run = options["dry_run"]
        try:
            stream = open_source(
                options["source"], max_bytes=options["max_bytes"], deadline=options["deadline"]
            )
        except ImportFileError as exc:
            raise CommandError(str(exc)) from exc
        if dry_run:
            self.stdout.write("Dry run: nothing is saved.")

        def report(outcome: Outcome) -> None:
            line = outcome.describe()
            if outcome.action == "refused":
                self.stdout.write(self.style.ERROR(line))
            else:
                self.stdout.write(line)

        try:
            with stream:
                totals = import_stream(
                    stream,
                    dry_run=dry_run,
                    on_outcome=report,
                    on_progress=Progress(self.stderr._out),  # raw: the bar ends no line
                    format=input_format(options["source"], options["format"]),
                )
        except ImportFileError as exc:
            raise CommandError(str(exc)) from exc
        would = "would be " if dry_run else ""
        self.stdout.write(
            f"{totals.created} {would}created, {totals.updated} {would}updated, "
            f"{totals.unchanged} unchanged, {totals.refused} refused."
            + (" Dry run: nothing was saved." if dry_run else "")
        )
        if totals.refused:
            raise CommandError(f"{totals.refused} Location(s) refused; the others were "
                               f"{'checked' if dry_run else 'imported'}.")  # fmt: skip
