"""Import/export benchmark (issue 15, part 5): `ocpi_import` of one OCPI JSON file of N
Locations (4 EVSEs of 2 Connectors each) on PostgreSQL; time and peak memory (RSS).

    .venv/bin/python bench/import_export.py [--sizes 2500 25000] [--db h15qi]
                                            [--skip-generate] [--csv]

Method, per size N:
1. the file: `ocpi_demo_data --locations N` into the source database `<db>_src` (dropped and
   created), then `ocpi_export -o var/bench-import/locations-N.json` (kept for a rerun with
   `--skip-generate`). With `--replicate-from M` the file of N is instead made from that of M
   (made first if missing) by copying its lines N/M times with the ids of other seeds
   (`DEMO-1-…` → `DEMO-2-…`, EVSE IDs `…*E1D…` → `…*E2D…`), as `ocpi_demo_data --seed K`
   would name them: the same sites, so the same work per Location, in minutes less on a
   loaded host;
2. the target database `<db>` is dropped, created and migrated; then, each as a process of
   its own under GNU time (`/usr/bin/time -f "%e %M %U %S"`: wall seconds, peak RSS in
   KiB, CPU seconds of the command):
   - `ocpi_import FILE --dry-run` (every Location checked and rolled back),
   - `ocpi_import FILE` (every Location created, one recorded PUT each),
   - `ocpi_import FILE` again (every Location unchanged),
   - `ocpi_export -o /dev/null` as JSON and as CSV,
   - with `--csv`, also the CSV export imported into a fresh target.
DEBUG is off (with DEBUG on Django keeps the last 9,000 SQL statements), the push tasks go to
a filesystem broker in a temporary folder (no worker: pushing is not measured here). The load
average (`uptime`) is printed before each run: the machine is shared.
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
FILES = ROOT / "var" / "bench-import"


def _psql(sql: str) -> None:
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "template1", "-qc", sql],
        check=True,
    )


def _fresh_database(name: str, env: dict) -> None:
    _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _psql(f'CREATE DATABASE "{name}"')
    _manage(env, "migrate", "--noinput", "-v0")


def _manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return done.stdout


def _load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.split("load")[-1]


def replicate(small: Path, factor: int, target: Path) -> None:
    """Write `target` as `factor` copies of the Locations of `small` (an `ocpi_export` file:
    one Location per line), each copy with the ids of another demo seed. Streamed."""
    with target.open("w") as out:
        out.write("[")
        first = True
        for copy in range(1, factor + 1):
            with small.open() as lines:
                for line in lines:
                    line = line.strip().rstrip(",")
                    if not line.startswith("{"):
                        continue
                    line = line.replace('"DEMO-1-', f'"DEMO-{copy}-').replace("*E1D", f"*E{copy}D")
                    out.write(("\n" if first else ",\n") + line)
                    first = False
        out.write("\n]\n")


def timed(env: dict, *args: str) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MB, last line of stdout) of one manage.py command; the
    CPU seconds (user + system) are printed too: on a loaded host they say more."""
    load = _load().strip()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "TIME %e %M %U %S", PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    stats = [line for line in done.stderr.splitlines() if line.startswith("TIME ")][-1]
    seconds, kib, user, system = stats.split()[1:]
    last = (done.stdout.strip().splitlines() or [""])[-1]
    if done.returncode != 0:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
    mb = int(kib) / 1024
    cpu = float(user) + float(system)
    print(f"  {' '.join(args)[:60]:60s} {float(seconds):7.1f} s  CPU {cpu:6.1f} s  {mb:4.0f} MB")
    print(f"    load before: {load}")
    print(f"    {last}")
    return float(seconds), mb, last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2500, 25000])
    parser.add_argument("--db", default="h15qi")
    parser.add_argument("--skip-generate", action="store_true")
    parser.add_argument("--csv", action="store_true", help="also import the CSV export")
    parser.add_argument("--replicate-from", type=int, metavar="M")
    parser.add_argument("--skip-dry-run", action="store_true")
    args = parser.parse_args()
    var = tempfile.mkdtemp(prefix="ocpi-bench-import-var-")
    base = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-secret-key",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "OCPI_BASE_URL": "http://127.0.0.1:9",
        "OCPI_COUNTRY_CODE": "NL",
        "OCPI_PARTY_ID": "EXA",
        "LOG_LEVEL": "WARNING",
        "OCPI_VAR_DIR": var,
    }
    base.pop("CELERY_BROKER_URL", None)
    source = {**base, "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{args.db}_src"}
    target = {**base, "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{args.db}"}
    FILES.mkdir(parents=True, exist_ok=True)
    print(f"{os.cpu_count()} CPUs; PostgreSQL; DEBUG off")
    for size in args.sizes:
        path = FILES / f"locations-{size}.json"
        small = FILES / f"locations-{args.replicate_from}.json"
        if args.replicate_from and size % args.replicate_from == 0 and small.exists():
            replicate(small, size // args.replicate_from, path)
        elif not (args.skip_generate and path.exists()):
            _fresh_database(f"{args.db}_src", source)
            _manage(source, "ocpi_demo_data", "--locations", str(size))
            _manage(source, "ocpi_export", "-o", str(path))
        print(f"\n{size} Locations: {path.stat().st_size / 1e6:.1f} MB of JSON")
        _fresh_database(args.db, target)
        if not args.skip_dry_run:
            timed(target, "ocpi_import", str(path), "--dry-run")
        timed(target, "ocpi_import", str(path))
        timed(target, "ocpi_import", str(path))
        timed(target, "ocpi_export", "-o", "/dev/null")
        csv_path = FILES / f"locations-{size}.csv"
        timed(target, "ocpi_export", "--format", "csv", "-o", str(csv_path))
        if args.csv:
            print(f"  CSV: {csv_path.stat().st_size / 1e6:.1f} MB")
            _fresh_database(args.db, target)
            timed(target, "ocpi_import", str(csv_path))
    _psql(f'DROP DATABASE IF EXISTS "{args.db}_src" WITH (FORCE)')


if __name__ == "__main__":
    main()
