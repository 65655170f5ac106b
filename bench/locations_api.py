"""Benchmark: crawl the Locations Sender API (GET list) over HTTP, against an SQL baseline.

    .venv/bin/python bench/locations_api.py [--locations 25000] [--workers 2] [--repeat 5]

On PostgreSQL (database `bench_api` on 127.0.0.1 by default; created, migrated and filled
with `manage.py ocpi_demo_data` when it is empty), with 25,000 Locations × 4 EVSEs × 2
Connectors, it starts two gunicorn servers with the same settings on free ports:

- ours: `ocpi_site.wsgi` (Django, DEBUG off), authenticated with a partner token made by
  `manage.py ocpi_partner create`;
- baseline: `bench/baseline_locations.py`, the same JSON built straight from SQL with
  psycopg and orjson (see its docstring).

For each it crawls the full list with limit=100 following the Link headers (`--rounds`
times, alternating ours/baseline), then fetches the first 10 and the last 10 pages
`--repeat` times each, and reads the servers' memory from /proc. It prints pages per
second, p50/p99 page latency, first- vs last-page p50, RSS (master + workers), and the
ratios ours / baseline, with the targets. It also checks that both servers return the same
Locations (identical `data` for the first and last page). Not part of `make test`.

With `--visibility` a second phase measures roaming agreements (`locations.sharing`): ours
only, crawled alternately with every Location shared with all partners and with half of
them hidden from the bench partner (every even row id shared with another partner only;
of the visible half, every second one shared with the bench partner explicitly, so that
both ways of seeing a Location are read). Sharing is set with SQL between the crawls
(followed by VACUUM FULL, then VACUUM ANALYZE: the same compact table in both phases, its
visibility map and statistics set, as autovacuum keeps them in service), so that nothing
but the read path is measured. It prints pages/s and p50 page latency of both, their
ratio, and checks that the half-hidden crawl returns exactly the Locations shared with the
bench partner. `--only-visibility` runs this phase alone (no baseline crawls).
"""

import argparse
import base64
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import orjson
import psycopg

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
PATH = "/ocpi/cpo/2.2.1/locations"
TOKEN = "bench-locations-token-0123456789"  # noqa: S105 - a fixed bench token
LIMIT = 100


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _manage(env: dict, *args: str, check: bool = True) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        if not check:
            return "FAILED: " + (result.stderr.strip().splitlines() or ["?"])[-1]
        sys.exit(f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def prepare_database(args, env: dict) -> None:
    """Create, migrate and fill the dedicated database when needed; make the partner."""
    subprocess.run(
        ["createdb", "-h", args.host, "-U", args.user, args.db], capture_output=True, check=False
    )
    migrated = _manage(env, "migrate", "--noinput", "-v0", check=False)
    if migrated.startswith("FAILED"):
        # Only the locations and partners tables are read; a migration of another app that
        # does not apply (e.g. work in progress in a shared tree) need not stop the bench.
        print(f"NOTE: migrate {migrated}; going on with the tables as they are.")
    with psycopg.connect(args.dsn, autocommit=True) as conn:
        count = conn.execute("SELECT count(*) FROM locations_location").fetchone()[0]
        evses = conn.execute("SELECT count(*) FROM locations_evse").fetchone()[0]
        connectors = conn.execute("SELECT count(*) FROM locations_connector").fetchone()[0]
        has_partner = conn.execute("SELECT 1 FROM partners_partner WHERE name = 'bench'").fetchone()
    if count == 0:
        print(f"Filling {args.db} with {args.locations} demo Locations ...", flush=True)
        started = time.perf_counter()
        out = _manage(env, "ocpi_demo_data", "--locations", str(args.locations), "--seed", "1")
        print(f"  {out.strip()} (wall {time.perf_counter() - started:.1f} s)")
        count, evses, connectors = args.locations, args.locations * 4, args.locations * 8
    elif count != args.locations:
        print(f"NOTE: {args.db} holds {count} Locations, not {args.locations}; measuring those.")
    print(f"Data: {count} Locations, {evses} EVSEs, {connectors} Connectors in {args.db}")
    if not has_partner:
        _manage(
            env, "ocpi_partner", "create", "--name", "bench", "--country-code", "DE",
            "--party-id", "BEN", "--token", TOKEN,
        )  # fmt: skip


@contextmanager
def gunicorn(app: str, port: int, env: dict, workers: int, chdir: Path):
    command = [
        GUNICORN, app, "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
        "--chdir", str(chdir), "--log-level", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"gunicorn {app} did not start")
                time.sleep(0.1)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def _pss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def server_memory(pid: int) -> dict:
    """RSS, peak RSS and PSS in MB, summed over the gunicorn master and its workers."""
    pids = [pid, *_children(pid)]
    return {
        "processes": len(pids),
        "rss": sum(_status_kb(p, "VmRSS") for p in pids) / 1024,
        "peak_rss": sum(_status_kb(p, "VmHWM") for p in pids) / 1024,
        "pss": sum(_pss_kb(p) for p in pids) / 1024,
    }


def _next_url(response: httpx.Response) -> str | None:
    link = response.headers.get("link")
    if not link:
        return None
    return link.split(";")[0].strip().strip("<>")


def _get(client: httpx.Client, url: str) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        sys.exit(f"GET {url}: HTTP {response.status_code} {response.text[:300]}")
    return response, elapsed


def crawl(client: httpx.Client, base: str) -> dict:
    """Follow the Link headers from the first page to the last."""
    url: str | None = f"{base}{PATH}?limit={LIMIT}"
    latencies, seen, total, size = [], 0, None, 0
    started = time.perf_counter()
    while url:
        response, elapsed = _get(client, url)
        latencies.append(elapsed)
        total = int(response.headers["x-total-count"])
        size += len(response.content)
        seen += len(orjson.loads(response.content)["data"])
        url = _next_url(response)
    wall = time.perf_counter() - started
    if seen != total:
        sys.exit(f"crawl of {base} returned {seen} Locations, X-Total-Count said {total}")
    return {"latencies": latencies, "wall": wall, "pages": len(latencies), "bytes": size}


def first_and_last(client: httpx.Client, base: str, total: int, repeat: int) -> dict:
    pages = -(-total // LIMIT)
    first = [i * LIMIT for i in range(min(10, pages))]
    last = [i * LIMIT for i in range(max(0, pages - 10), pages)]
    samples: dict[str, list[float]] = {"first": [], "last": []}
    for _ in range(repeat):
        for name, offsets in (("first", first), ("last", last)):
            for offset in offsets:
                _, elapsed = _get(client, f"{base}{PATH}?offset={offset}&limit={LIMIT}")
                samples[name].append(elapsed)
    return samples


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _data(client: httpx.Client, url: str) -> list:
    return orjson.loads(_get(client, url)[0].content)["data"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--locations", type=int, default=25_000)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2 cores)")
    parser.add_argument("--rounds", type=int, default=2, help="full crawls per server")
    parser.add_argument("--repeat", type=int, default=5, help="repeats of first/last pages")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--db", default="bench_api")
    parser.add_argument(
        "--visibility",
        action="store_true",
        help="then compare ours with half of the Locations hidden from the bench partner",
    )
    parser.add_argument(
        "--only-visibility",
        action="store_true",
        help="only that comparison (no baseline crawls)",
    )
    args = parser.parse_args()
    args.dsn = f"postgresql://{args.user}@{args.host}:5432/{args.db}"

    ours_port, base_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": args.dsn.replace("postgresql://", "postgres://"),
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-secret-key",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "OCPI_BASE_URL": f"http://127.0.0.1:{ours_port}",
        "OCPI_MAX_PAGE_SIZE": str(LIMIT),
        "LOG_LEVEL": "WARNING",
        # Own var dir, hence own filesystem broker: the push tasks that filling the bench
        # database queues must not reach a worker of another database.
        "OCPI_VAR_DIR": str(Path(tempfile.gettempdir()) / "ocpi-bench-locations-var"),
        "BASELINE_DSN": args.dsn,
        "BASELINE_BASE_URL": f"http://127.0.0.1:{base_port}",
        "BASELINE_MAX_PAGE": str(LIMIT),
    }
    prepare_database(args, env)
    headers = {"Authorization": "Token " + base64.b64encode(TOKEN.encode()).decode()}
    print(f"Servers: gunicorn, {args.workers} sync workers each, {os.cpu_count()} CPUs")

    ours_url, base_url = f"http://127.0.0.1:{ours_port}", f"http://127.0.0.1:{base_port}"
    with (
        gunicorn("ocpi_site.wsgi", ours_port, env, args.workers, ROOT) as ours_proc,
        gunicorn("baseline_locations:application", base_port, env, args.workers,
                 ROOT / "bench") as base_proc,
        httpx.Client(headers=headers, timeout=60) as client,
    ):  # fmt: skip
        servers = {"ours": ours_url, "baseline": base_url}
        # Same answers? (Same Locations, same fields; envelope timestamps differ.)
        total = int(_get(client, f"{ours_url}{PATH}?limit=1")[0].headers["x-total-count"])
        last_offset = (total - 1) // LIMIT * LIMIT
        for offset in (0, last_offset):
            suffix = f"{PATH}?offset={offset}&limit={LIMIT}"
            same = _data(client, ours_url + suffix) == _data(client, base_url + suffix)
            print(f"Page offset={offset}: identical data from both servers: {same}")
        # Warm up every worker's connection and caches.
        for base in servers.values():
            for offset in range(0, 20 * LIMIT, LIMIT):
                _get(client, f"{base}{PATH}?offset={offset}&limit={LIMIT}")

        if args.only_visibility:
            report_visibility(
                interleaved_phase(client, ours_url, args, env),
                args,
                "two partners in turns, one sees all, half hidden from the other",
            )
            report_visibility(
                visibility_phase(client, ours_url, args, env),
                args,
                "one partner, all shared with all vs half hidden, crawls alternated",
            )
            return
        results = {name: {"latencies": [], "wall": 0.0, "pages": 0} for name in servers}
        for _ in range(args.rounds):
            for name, base in servers.items():
                run = crawl(client, base)
                results[name]["latencies"] += run["latencies"]
                results[name]["wall"] += run["wall"]
                results[name]["pages"] += run["pages"]
                results[name]["bytes"] = run["bytes"]
        for name, base in servers.items():
            results[name].update(first_and_last(client, base, total, args.repeat))
        results["ours"]["memory"] = server_memory(ours_proc.pid)
        results["baseline"]["memory"] = server_memory(base_proc.pid)
        report(results, args)
        if args.visibility:
            report_visibility(
                interleaved_phase(client, ours_url, args, env),
                args,
                "two partners in turns, one sees all, half hidden from the other",
            )
            report_visibility(
                visibility_phase(client, ours_url, args, env),
                args,
                "one partner, all shared with all vs half hidden, crawls alternated",
            )


OTHER = ("bench-other", "FR", "OTH", "bench-other-token-0123456789")


def _set_visibility(args, *, half: bool) -> int:
    """All Locations shared with all partners, or half of them hidden from the bench
    partner (see the module docstring); returns how many the bench partner may see."""
    with psycopg.connect(args.dsn, autocommit=True) as conn:
        if half:
            conn.execute(
                "UPDATE locations_location SET shared_with_all = (row_id % 4 = 3) "
                "WHERE shared_with_all <> (row_id % 4 = 3)"
            )
        else:
            conn.execute(
                "UPDATE locations_location SET shared_with_all = true WHERE NOT shared_with_all"
            )
        # Rewritten compact after every flip, so that both phases read the same layout (the
        # UPDATEs would otherwise leave the table growing from phase to phase).
        conn.execute("VACUUM FULL locations_location")
        # VACUUM FULL leaves the visibility map empty: without this plain VACUUM the counts
        # could not be answered from the indexes alone (as autovacuum lets them in service).
        conn.execute("VACUUM ANALYZE locations_location")
        conn.execute("VACUUM ANALYZE locations_locationshare")
        return conn.execute(
            "SELECT count(*) FROM locations_location l WHERE l.shared_with_all OR EXISTS "
            "(SELECT 1 FROM locations_locationshare s JOIN partners_partner p "
            "ON p.id = s.partner_id WHERE s.location_id = l.row_id AND p.name = 'bench')"
        ).fetchone()[0]


def _prepare_shares(args, env: dict) -> None:
    """The second partner and the share rows (once): even row ids shared with the other
    partner only, row ids 1 mod 4 with both."""
    name, country, party, token = OTHER
    with psycopg.connect(args.dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM partners_partner WHERE name = %s", [name]).fetchone()
    if not exists:
        _manage(
            env, "ocpi_partner", "create", "--name", name, "--country-code", country,
            "--party-id", party, "--token", token,
        )  # fmt: skip
    with psycopg.connect(args.dsn, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM locations_locationshare LIMIT 1").fetchone():
            return
        select = (
            "INSERT INTO locations_locationshare (location_id, partner_id, created_at) "
            "SELECT l.row_id, p.id, now() FROM locations_location l, partners_partner p "
            "WHERE p.name = %s AND "
        )
        conn.execute(select + "(l.row_id %% 2 = 0 OR l.row_id %% 4 = 1)", [name])
        conn.execute(select + "l.row_id %% 4 = 1", ["bench"])


def visibility_phase(client: httpx.Client, base: str, args, env: dict) -> dict:
    """Ours, all visible vs half hidden, crawled alternately (`--rounds` times each)."""
    _prepare_shares(args, env)
    results: dict = {}
    for _ in range(args.rounds):
        for phase in ("all visible", "half hidden"):
            expected = _set_visibility(args, half=phase == "half hidden")
            for offset in range(0, 10 * LIMIT, LIMIT):  # warm the plans of this phase
                _get(client, f"{base}{PATH}?offset={offset}&limit={LIMIT}")
            run = crawl(client, base)
            seen = int(_get(client, f"{base}{PATH}?limit=1")[0].headers["x-total-count"])
            if seen != expected:
                sys.exit(f"{phase}: X-Total-Count {seen}, {expected} shared with the bench partner")
            r = results.setdefault(phase, {"latencies": [], "wall": 0.0, "pages": 0})
            r["latencies"] += run["latencies"]
            r["wall"] += run["wall"]
            r["pages"] += run["pages"]
            r["locations"] = expected
    for phase in results:
        expected = _set_visibility(args, half=phase == "half hidden")
        samples = first_and_last(client, base, expected, args.repeat)
        results[phase].update(samples)
    _set_visibility(args, half=False)  # leave the bench database as it was filled
    return results


SEES_ALL = ("bench-all", "FR", "ALL", "bench-all-token-0123456789")


def _prepare_sees_all(args, env: dict) -> None:
    """A partner that sees every Location while half are hidden from the bench partner:
    shared with all, or through a share of its own (row ids not 3 mod 4)."""
    name, country, party, token = SEES_ALL
    with psycopg.connect(args.dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM partners_partner WHERE name = %s", [name]).fetchone()
    if exists:
        return
    _manage(
        env, "ocpi_partner", "create", "--name", name, "--country-code", country,
        "--party-id", party, "--token", token,
    )  # fmt: skip
    with psycopg.connect(args.dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO locations_locationshare (location_id, partner_id, created_at) "
            "SELECT l.row_id, p.id, now() FROM locations_location l, partners_partner p "
            "WHERE p.name = %s AND l.row_id %% 4 <> 3",
            [name],
        )


def interleaved_phase(client: httpx.Client, base: str, args, env: dict) -> dict:
    """One database state (half hidden from the bench partner), two partners crawling in
    turns, page by page: the bench partner (half hidden) and one that sees all (two of its
    pages per page of the bench partner's, so both crawls end together). The host's load
    changes over minutes; this way both series see the same load."""
    _prepare_shares(args, env)
    _prepare_sees_all(args, env)
    half_total = _set_visibility(args, half=True)
    token = SEES_ALL[3]
    sees_all = httpx.Client(
        headers={"Authorization": "Token " + base64.b64encode(token.encode()).decode()},
        timeout=60,
    )
    clients = {"all visible": sees_all, "half hidden": client}
    totals = {"all visible": 0, "half hidden": half_total}
    steps = {"all visible": 2, "half hidden": 1}
    results = {p: {"latencies": [], "wall": 0.0, "pages": 0, "first": [], "last": []}
               for p in clients}  # fmt: skip
    with sees_all:
        totals["all visible"] = int(
            _get(sees_all, f"{base}{PATH}?limit=1")[0].headers["x-total-count"]
        )
        for c in clients.values():  # warm up
            for offset in range(0, 10 * LIMIT, LIMIT):
                _get(c, f"{base}{PATH}?offset={offset}&limit={LIMIT}")
        for _ in range(args.rounds):
            urls: dict[str, str | None] = dict.fromkeys(clients, f"{base}{PATH}?limit={LIMIT}")
            while any(urls.values()):
                for phase, c in clients.items():
                    for _ in range(steps[phase]):
                        url = urls[phase]
                        if url is None:
                            break
                        response, elapsed = _get(c, url)
                        if int(response.headers["x-total-count"]) != totals[phase]:
                            sys.exit(f"{phase}: X-Total-Count changed")
                        results[phase]["latencies"].append(elapsed)
                        results[phase]["wall"] += elapsed
                        results[phase]["pages"] += 1
                        urls[phase] = _next_url(response)
        for _ in range(args.repeat):
            for which in ("first", "last"):
                for i in range(10):
                    for phase, c in clients.items():
                        pages = -(-totals[phase] // LIMIT)
                        offset = i if which == "first" else pages - 10 + i
                        _, elapsed = _get(c, f"{base}{PATH}?offset={offset * LIMIT}&limit={LIMIT}")
                        results[phase][which].append(elapsed)
    for phase in results:
        results[phase]["locations"] = totals[phase]
    _set_visibility(args, half=False)
    return results


def report_visibility(results: dict, args, title: str) -> None:
    print()
    print(f"Roaming agreements: {title}")
    print(f"{'':28}{'all visible':>14}{'half hidden':>14}{'hidden/all':>12}")
    rows = {}
    for phase, r in results.items():
        rows[phase] = {
            "Locations listed": r["locations"],
            "pages/s": r["pages"] / r["wall"],
            "p50 page ms": statistics.median(r["latencies"]) * 1000,
            "p99 page ms": _pct(r["latencies"], 0.99) * 1000,
            "first 10 pages p50 ms": statistics.median(r["first"]) * 1000,
            "last 10 pages p50 ms": statistics.median(r["last"]) * 1000,
        }
    for key in rows["all visible"]:
        a, h = rows["all visible"][key], rows["half hidden"][key]
        print(f"{key:28}{a:14.1f}{h:14.1f}{h / a:12.2f}")
    print("Targets (half hidden within 10 % of all visible):")
    _target(
        "pages/s: all visible ÷ half hidden",
        rows["all visible"]["pages/s"] / rows["half hidden"]["pages/s"],
        1.10,
    )
    _target(
        "p50 page latency: half hidden ÷ all visible",
        rows["half hidden"]["p50 page ms"] / rows["all visible"]["p50 page ms"],
        1.10,
    )


def report(results: dict, args) -> None:
    print()
    print(f"{'':28}{'ours':>12}{'baseline':>12}{'ours/base':>12}")
    rows = {}
    for name, r in results.items():
        rows[name] = {
            "pages/s": r["pages"] / r["wall"],
            "p50 page ms": statistics.median(r["latencies"]) * 1000,
            "p99 page ms": _pct(r["latencies"], 0.99) * 1000,
            "first 10 pages p50 ms": statistics.median(r["first"]) * 1000,
            "last 10 pages p50 ms": statistics.median(r["last"]) * 1000,
            "RSS MB (master+workers)": r["memory"]["rss"],
            "peak RSS MB": r["memory"]["peak_rss"],
            "PSS MB": r["memory"]["pss"],
            "MB per full crawl": r["bytes"] / 1e6,
        }
    for key in rows["ours"]:
        ours, base = rows["ours"][key], rows["baseline"][key]
        print(f"{key:28}{ours:12.1f}{base:12.1f}{ours / base:12.2f}")
    ours = rows["ours"]
    throughput_ratio = rows["baseline"]["pages/s"] / ours["pages/s"]  # time ratio
    p50_ratio = ours["p50 page ms"] / rows["baseline"]["p50 page ms"]
    drift = ours["last 10 pages p50 ms"] / ours["first 10 pages p50 ms"]
    print()
    print(f"Pages per crawl: {results['ours']['pages'] // args.rounds}, rounds: {args.rounds}")
    print("Targets:")
    _target("throughput: baseline pages/s ÷ ours (ours is N× slower)", throughput_ratio, 2.0)
    _target("p50 page latency ours ÷ baseline", p50_ratio, 2.0)
    _target("ours: last-page p50 ÷ first-page p50", drift, 1.5)
    _target("ours: server RSS MB", ours["RSS MB (master+workers)"], 300)


def _target(label: str, value: float, limit: float) -> None:
    verdict = "OK" if value <= limit else "MISSED"
    print(f"  {label:58} {value:8.2f}  (≤ {limit:g})  {verdict}")


if __name__ == "__main__":
    main()
