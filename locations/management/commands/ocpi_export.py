"""`manage.py ocpi_export [--format json|csv] [-o FILE]`: the current Locations as OCPI JSON
(what the Sender serves; `ocpi_import` reads it back) or as CSV, one row per Connector.

Written as it is read (`locations.exporting`), to stdout or to FILE.
"""

from django.core.management.base import BaseCommand

from locations.exporting import write_csv, write_json


class Command(BaseCommand):
    help = (
        "Export the current Locations as OCPI 2.2.1 JSON (a list, as the Sender serves it) "
        "or as CSV with one row per Connector."
    )

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=["json", "csv"], default="json")
        parser.add_argument("-o", "--output", metavar="FILE", help="write here, not to stdout")

    def handle(self, *args, **options):
        path = options["output"]
        if options["format"] == "json":
            if path:
                with open(path, "wb") as out:
                    count = write_json(out)
            else:
                count = write_json(self._binary_stdout())
        elif path:
            with open(path, "w", newline="", encoding="utf-8") as text:
                count = write_csv(text)
        else:
            count = write_csv(self.stdout._out)  # type: ignore[arg-type]
        self.stderr.write(f"Exported {count} Locations.")

    def _binary_stdout(self):
        # Django's OutputWrapper is text; JSON is written as bytes (orjson). A test passes
        # a stdout with a `buffer` (io.TextIOWrapper) or none (StringIO: decoded here).
        target = getattr(self.stdout._out, "buffer", None)
        if target is not None:
            self.stdout.flush()
            return target
        return _TextBytes(self.stdout._out)


class _TextBytes:
    def __init__(self, text) -> None:
        self.text = text

    def write(self, data: bytes) -> None:
        self.text.write(data.decode())
