"""Issue 17's acceptance at scale: every part measured at two (or more) sizes, side by side.

    .venv/bin/python bench/scale.py [--sizes 2500,25000] [--parts sender,admin,bulk,sync]
                                    [--db-prefix ocpi_scale] [--broker redis://127.0.0.1:6379/N]
                                    [--load-only] [--drop SIZE]

PostgreSQL + Redis. For each size N it makes sure a database `<prefix>_<N>` holds exactly
what `manage.py ocpi_demo_data --locations N --seed 1` makes (N Locations × 4 EVSEs × 2
Connectors): a database that already carries the marker of a finished load of N (a comment
on the database, written only after the load and a `VACUUM ANALYZE` finished) and holds N
Locations is reused; anything else is dropped and loaded again. Autovacuum may be off on the
server, so the load ends with `VACUUM ANALYZE`: statistics and the visibility map as
autovacuum keeps them in service (index-only scans need the latter).

Then it calls `measure(size, database_url, broker_url) -> list[dict]` of each part module
that exists (each dict: `name` (or `figure`), `value`, `unit`, optional `target` and
`note`):

| part | module | written for |
| --- | --- | --- |
| sender | bench/scale_sender.py | Sender paging (issue 17, part 4) |
| admin | bench/scale_admin.py | admin lists, searches, filters (part 1) |
| bulk | bench/scale_bulk.py | set-based writes (part 2) |
| sync | bench/scale_sync.py | full sync (part 3) |

and prints one table per part: the figure at each size, the growth factor between the two
smallest sizes (25k ÷ 2.5k with the defaults) and PASS/FAIL against the target. A target is
`"<= 300"` / `">= 0.67"` (checked at the largest size measured, or at `at` when the dict
has one, e.g. `"at": 25000`), and `growth_target` (e.g. `"<= 1.5"`) checks the growth
factor. A part module that is missing is named, not fatal. Nothing here is a test.
"""

import argparse
import importlib
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
PYTHON = str(ROOT / ".venv" / "bin" / "python")
PARTS = {
    "sender": "scale_sender",
    "admin": "scale_admin",
    "bulk": "scale_bulk",
    "sync": "scale_sync",
}
MARKER = "ocpi-scale: ocpi_demo_data --locations {n} --seed 1 (4 EVSEs, 2 Connectors)"


def _admin_dsn(host: str, user: str) -> str:
    return f"postgresql://{user}@{host}:5432/postgres"


def database_url(prefix: str, size: int, host: str, user: str) -> str:
    return f"postgres://{user}@{host}:5432/{prefix}_{size}"


def _marker(host: str, user: str, name: str) -> str | None:
    with psycopg.connect(_admin_dsn(host, user), autocommit=True) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            [name],
        ).fetchone()
    return None if row is None else (row[0] or "")


def manage_env(url: str, broker: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": broker,
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-secret-key",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
    }


def _manage(env: dict, *args: str) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def _size_mb(host: str, user: str, name: str) -> float:
    with psycopg.connect(_admin_dsn(host, user), autocommit=True) as conn:
        return conn.execute("SELECT pg_database_size(%s)", [name]).fetchone()[0] / 1e6


def ensure_database(size: int, args) -> str:
    """The URL of a database loaded with `size` demo Locations (loaded now if needed)."""
    name = f"{args.db_prefix}_{size}"
    url = database_url(args.db_prefix, size, args.host, args.user)
    env = manage_env(url, args.broker)
    marker = MARKER.format(n=size)
    if _marker(args.host, args.user, name) == marker:
        with psycopg.connect(url.replace("postgres://", "postgresql://")) as conn:
            count = conn.execute("SELECT count(*) FROM locations_location").fetchone()[0]
        if count == size:
            _manage(env, "migrate", "--noinput", "-v0")  # this branch's indexes, if new
            print(f"[{size}] reusing {name} ({_size_mb(args.host, args.user, name):.0f} MB)")
            return url
        print(f"[{size}] {name} holds {count} Locations, not {size}: loading again")
    with psycopg.connect(_admin_dsn(args.host, args.user), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    started = time.perf_counter()
    _manage(env, "migrate", "--noinput", "-v0")
    print(f"[{size}] loading {name}: ocpi_demo_data --locations {size} ...", flush=True)
    out = _manage(env, "ocpi_demo_data", "--locations", str(size), "--seed", "1")
    loaded = time.perf_counter() - started
    with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    with psycopg.connect(_admin_dsn(args.host, args.user), autocommit=True) as conn:
        conn.execute(f"COMMENT ON DATABASE \"{name}\" IS '{marker}'")
    print(
        f"[{size}] {out.strip()} Load {loaded:.0f} s, with VACUUM ANALYZE "
        f"{time.perf_counter() - started:.0f} s; {_size_mb(args.host, args.user, name):.0f} MB "
        f"on disk.",
        flush=True,
    )
    return url


def _parse_target(text: str) -> tuple[str, float] | None:
    """`"<= 300"` / `">= 0.67"` (also `≤`/`≥`, `<`/`>`); None when it is neither."""
    text = str(text).strip().replace("≤", "<=").replace("≥", ">=")
    for op in ("<=", ">=", "<", ">"):
        if text.startswith(op):
            try:
                return op, float(text[len(op) :].strip().split()[0])
            except (ValueError, IndexError):
                return None
    return None


def _meets(value, target: str) -> bool | None:
    parsed = _parse_target(target)
    if parsed is None or not isinstance(value, int | float):
        return None
    op, limit = parsed
    return {"<=": value <= limit, ">=": value >= limit, "<": value < limit, ">": value > limit}[op]


def _verdict(ok: bool | None) -> str:
    return "?" if ok is None else ("PASS" if ok else "FAIL")


def _cell(figure: dict | None) -> str:
    if figure is None or not isinstance(figure.get("value"), int | float):
        return f"{'–':>12}"
    return f"{figure['value']:12.2f}"


def report(part: str, sizes: list[int], results: dict[int, list[dict]]) -> list[str]:
    """Print one part's table; returns the FAIL lines."""
    names: list[str] = []
    for size in sizes:
        for figure in results.get(size, []):
            if figure["name"] not in names:
                names.append(figure["name"])
    by = {size: {figure["name"]: figure for figure in results.get(size, [])} for size in sizes}
    growth_of = sizes[:2] if len(sizes) >= 2 else []
    heads = [f"{s:,}" for s in sizes]
    growth_head = f"{growth_of[1] // 1000}k÷{growth_of[0] / 1000:g}k" if growth_of else ""
    print()
    print(f"== {part} ==")
    print(f"{'':46}" + "".join(f"{h:>12}" for h in heads) + f"{growth_head:>11}  target")
    failures = []
    for name in names:
        figures = [by[s].get(name) for s in sizes]
        some = next(f for f in reversed(figures) if f is not None)
        unit = some.get("unit") or ""
        cells = "".join(_cell(f) for f in figures)
        growth = ""
        if growth_of and all(_cell(by[s].get(name)).strip() != "–" for s in growth_of):
            low, high = by[growth_of[0]][name]["value"], by[growth_of[1]][name]["value"]
            growth = f"{high / low:11.2f}" if low else f"{'–':>11}"
        else:
            growth = f"{'':11}"
        verdicts = []
        target = some.get("target")
        if target:
            at = some.get("at")
            checked = [s for s in sizes if by[s].get(name)]
            at_size = at if at in checked else checked[-1]
            ok = _meets(by[at_size][name].get("value"), target)
            verdicts.append(f"{target} at {at_size:,}: {_verdict(ok)}")
            if ok is False:
                failures.append(f"{part}: {name} {target} at {at_size:,}")
        growth_target = some.get("growth_target")
        if growth_target and growth.strip() not in ("", "–"):
            ok = _meets(float(growth), growth_target)
            verdicts.append(f"growth {growth_target}: {_verdict(ok)}")
            if ok is False:
                failures.append(f"{part}: {name} growth {growth_target}")
        label = f"{name} ({unit})" if unit else name
        print(f"{label[:46]:46}{cells}{growth}  {'; '.join(verdicts)}")
    for size in sizes:
        for figure in results.get(size, []):
            if figure.get("note"):
                print(f"  [{size:,}] {figure['name']}: {figure['note']}")
    return failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="2500,25000", help="comma-separated Location counts")
    parser.add_argument("--parts", default=",".join(PARTS), help="comma-separated parts")
    parser.add_argument("--db-prefix", default="ocpi_scale")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--user", default="postgres")
    parser.add_argument(
        "--broker",
        default=os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/7"),
        help="Redis URL (a db of your own)",
    )
    parser.add_argument("--load-only", action="store_true", help="load the databases, no measure")
    parser.add_argument("--drop", action="store_true", help="drop the databases at the end")
    args = parser.parse_args()
    sizes = sorted(int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip())
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        sys.exit(f"unknown parts: {', '.join(unknown)} (known: {', '.join(PARTS)})")

    modules = {}
    for part in parts:
        try:
            modules[part] = importlib.import_module(PARTS[part])
        except ModuleNotFoundError as exc:
            if exc.name != PARTS[part]:
                raise
            print(f"MISSING: bench/{PARTS[part]}.py ({part}) is not there; not measured.")
    print(f"Host: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start")

    results: dict[str, dict[int, list[dict]]] = {part: {} for part in modules}
    urls = {}
    for size in sizes:
        urls[size] = ensure_database(size, args)
        if args.load_only:
            continue
        for part, module in modules.items():
            load = os.getloadavg()[0]
            started = time.perf_counter()
            print(f"[{size}] measuring {part} (load average {load:.2f}) ...", flush=True)
            figures = [
                {**f, "name": str(f.get("name") or f.get("figure") or "?")}  # either key
                for f in module.measure(size, urls[size], args.broker)
            ]
            figures.append(
                {"name": "load average at start", "value": load, "unit": "",
                 "note": f"{part} took {time.perf_counter() - started:.0f} s"}
            )  # fmt: skip
            results[part][size] = figures
    failures: list[str] = []
    for part in modules:
        if results[part]:
            failures += report(part, sizes, results[part])
    if args.drop:
        with psycopg.connect(_admin_dsn(args.host, args.user), autocommit=True) as conn:
            for size in sizes:
                conn.execute(f'DROP DATABASE IF EXISTS "{args.db_prefix}_{size}" WITH (FORCE)')
                print(f"dropped {args.db_prefix}_{size}")
    if not args.load_only:
        print()
        print("FAIL:\n  " + "\n  ".join(failures) if failures else "Every target met.")


if __name__ == "__main__":
    main()
