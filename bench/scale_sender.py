"""Issue 17, part 4 (Sender paging that stays flat), for bench/scale.py.

`measure(size, database_url, broker_url)` crawls the Locations Sender list over HTTP on a
database that bench/scale.py loaded (`size` demo Locations), reusing bench/locations_api.py
(servers, crawl, percentiles) and its baseline, bench/baseline_locations.py (psycopg +
orjson, COUNT + OFFSET per page). Ours runs under gunicorn (2 sync workers, DEBUG off) with
`CACHE_URL` = the Redis of `broker_url`, so that both workers share the paging cache
(locations/paging.py). Figures:

- crawl pages/s of ours and of the baseline (whole crawls, limit=100, alternated) and their
  ratio (target ≥ 0.67 at 25,000);
- p50 of the first 10 pages, of the last 10 pages as a crawl reaches them (the boundaries
  its previous pages left), of the last 10 pages asked for directly at offsets no page led
  to (the OFFSET walk of the ids), and of the first page with `date_from` set so that the
  newest 10 % of the Locations match (the issue's case: PostgreSQL walked the primary key
  past the other 90 %); the deepest and the `date_from` page against the first page
  (target ≤ 1.1);
- server RSS.

With `SCALE_SENDER_BEFORE=<dir>` (a tree of the code before, e.g.
`git archive 93c78bf | tar -x -C <dir>`), the same is measured first for that code on its
own schema (`migrate locations 0004`, then back to the latest), each against the baseline
in the same run: the before/after of docs/benchmarks.md, "Scale: Sender paging".
"""

import base64
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import locations_api as api

ROOT = api.ROOT
LIMIT = api.LIMIT


def _manage(env: dict, *args: str) -> str:
    result = subprocess.run(
        [api.PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def _env(database_url: str, broker_url: str, port: int, base_port: int) -> dict:
    dsn = database_url.replace("postgres://", "postgresql://")
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "CACHE_URL": broker_url,
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-secret-key",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "OCPI_BASE_URL": f"http://127.0.0.1:{port}",
        "OCPI_MAX_PAGE_SIZE": str(LIMIT),
        "LOG_LEVEL": "WARNING",
        "OCPI_VAR_DIR": str(Path(tempfile.gettempdir()) / "ocpi-bench-scale-sender-var"),
        "BASELINE_DSN": dsn,
        "BASELINE_BASE_URL": f"http://127.0.0.1:{base_port}",
        "BASELINE_MAX_PAGE": str(LIMIT),
    }


def _ensure_partner(env: dict, dsn: str) -> None:
    with psycopg.connect(dsn) as conn:
        found = conn.execute("SELECT 1 FROM partners_partner WHERE name = 'bench'").fetchone()
    if not found:
        _manage(
            env, "ocpi_partner", "create", "--name", "bench", "--country-code", "DE",
            "--party-id", "BEN", "--token", api.TOKEN,
        )  # fmt: skip


def _newest_tenth_from(dsn: str) -> str:
    """An OCPI DateTime such that the newest 10 % of the Locations have last_updated ≥ it."""
    with psycopg.connect(dsn) as conn:
        value = conn.execute(
            "SELECT last_updated FROM locations_location ORDER BY last_updated DESC"
            " OFFSET (SELECT count(*) / 10 - 1 FROM locations_location) LIMIT 1"
        ).fetchone()[0]
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _p50(client: httpx.Client, urls: list[str], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        for url in urls:
            samples.append(api._get(client, url)[1])
    return statistics.median(samples) * 1000


def _measure_server(name: str, client, base: str, baseline: str, total: int, args) -> dict:
    """Crawls of `base` alternated with crawls of the baseline, then page latencies."""
    pages = -(-total // LIMIT)
    for offset in range(0, 10 * LIMIT, LIMIT):  # warm both servers' workers
        api._get(client, f"{base}{api.PATH}?offset={offset}&limit={LIMIT}")
        api._get(client, f"{baseline}{api.PATH}?offset={offset}&limit={LIMIT}")
    crawls: dict[str, dict] = {
        name: {"pages": 0, "wall": 0.0},
        "baseline": {"pages": 0, "wall": 0.0},
    }
    for _ in range(args["rounds"]):
        for who, url in ((name, base), ("baseline", baseline)):
            run = api.crawl(client, url)
            crawls[who]["pages"] += run["pages"]
            crawls[who]["wall"] += run["wall"]
    last_offsets = [i * LIMIT for i in range(max(0, pages - 10), pages)]
    jumped = [max(0, total - LIMIT - 1 - i) for i in range(10)]  # no page led there
    date_from = args["date_from"]
    repeat = args["repeat"]
    figures = {
        "pages/s": crawls[name]["pages"] / crawls[name]["wall"],
        "baseline pages/s": crawls["baseline"]["pages"] / crawls["baseline"]["wall"],
        "first": _p50(client, [f"{base}{api.PATH}?offset={i * LIMIT}&limit={LIMIT}"
                               for i in range(10)], repeat),
        "deepest": _p50(client, [f"{base}{api.PATH}?offset={o}&limit={LIMIT}"
                                 for o in last_offsets], repeat),
        "jumped": _p50(client, [f"{base}{api.PATH}?offset={o}&limit={LIMIT}" for o in jumped],
                       repeat),
        "date_from": _p50(client, [f"{base}{api.PATH}?limit={LIMIT}&date_from={date_from}"] * 10,
                          repeat),
    }  # fmt: skip
    return figures


def _run(which: str, tree: Path, env: dict, ports: tuple[int, int], total: int, args) -> dict:
    port, base_port = ports
    headers = {"Authorization": "Token " + base64.b64encode(api.TOKEN.encode()).decode()}
    with ExitStack() as stack:
        server = stack.enter_context(api.gunicorn("ocpi_site.wsgi", port, env, 2, tree))
        stack.enter_context(
            api.gunicorn("baseline_locations:application", base_port, env, 2, ROOT / "bench")
        )
        client = stack.enter_context(httpx.Client(headers=headers, timeout=120))
        load = os.getloadavg()[0]
        figures = _measure_server(
            which, client, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{base_port}", total,
            args,
        )  # fmt: skip
        figures["rss"] = api.server_memory(server.pid)["rss"]
        figures["load"] = (load + os.getloadavg()[0]) / 2
    return figures


def _figures(label: str, f: dict, size: int, note: str) -> list[dict]:
    at = {"at": 25_000} if size >= 25_000 else {}
    return [
        {"name": f"{label}crawl pages/s", "value": f["pages/s"], "unit": "pages/s", "note": note},
        {"name": f"{label}baseline crawl pages/s", "value": f["baseline pages/s"],
         "unit": "pages/s"},
        {"name": f"{label}crawl ÷ baseline", "value": f["pages/s"] / f["baseline pages/s"],
         "unit": "×", "target": ">= 0.67", **at},
        {"name": f"{label}first 10 pages p50", "value": f["first"], "unit": "ms"},
        {"name": f"{label}last 10 pages p50 (crawled)", "value": f["deepest"], "unit": "ms"},
        {"name": f"{label}last pages p50 (jumped to)", "value": f["jumped"], "unit": "ms"},
        {"name": f"{label}first date_from page p50", "value": f["date_from"], "unit": "ms"},
        {"name": f"{label}deepest ÷ first", "value": f["deepest"] / f["first"], "unit": "×",
         "target": "<= 1.1"},
        {"name": f"{label}jumped ÷ first", "value": f["jumped"] / f["first"], "unit": "×"},
        {"name": f"{label}date_from ÷ first", "value": f["date_from"] / f["first"], "unit": "×",
         "target": "<= 1.1"},
        {"name": f"{label}server RSS", "value": f["rss"], "unit": "MB"},
        {"name": f"{label}load average", "value": f["load"], "unit": ""},
    ]  # fmt: skip


# --- The page's SQL alone, server-side (EXPLAIN ANALYZE execution time) -----------------------
# What grows with the table is SQL; on a shared host the HTTP figures also carry everyone
# else's load, so the SQL of one page is measured alone too: the statements the code
# before ran (on its schema: `migrate locations 0004`) and those it runs now.

_VIS = (
    "(shared_with_all OR row_id IN (SELECT location_id FROM locations_locationshare"
    " WHERE partner_id = %(p)s))"
)


def _execution_ms(conn, sql: str, params: dict, repeat: int = 7) -> float:
    samples = []
    for _ in range(repeat):
        plan = conn.execute("EXPLAIN (ANALYZE, TIMING OFF) " + sql, params).fetchall()
        line = next(row[0] for row in plan if row[0].startswith("Execution Time"))
        samples.append(float(line.split()[2]))
    return statistics.median(samples)


def _sql_before(dsn: str, total: int, date_from: str, partner: int) -> dict:
    import baseline_locations as base

    page = f"SELECT {base.LOCATION_COLUMNS} FROM locations_location WHERE {_VIS}"  # noqa: S608
    count = f"SELECT count(*) FROM locations_location WHERE {_VIS}"  # noqa: S608
    p = {"p": partner, "d": date_from, "o": max(0, total - LIMIT)}
    with psycopg.connect(dsn, autocommit=True) as conn:
        return {
            "count": _execution_ms(conn, count, p),
            "first": _execution_ms(conn, page + " ORDER BY row_id LIMIT 100", p),
            "deepest": _execution_ms(conn, page + " ORDER BY row_id LIMIT 100 OFFSET %(o)s", p),
            "date_from": _execution_ms(
                conn, page + " AND last_updated >= %(d)s ORDER BY row_id LIMIT 100", p
            ),
        }  # fmt: skip


def _sql_after(dsn: str, total: int, date_from: str, partner: int) -> dict:
    import baseline_locations as base

    def page(where: str) -> str:
        return (
            f"SELECT {base.LOCATION_COLUMNS} FROM locations_location WHERE row_id = ANY(ARRAY("  # noqa: S608
            f"SELECT row_id FROM locations_location WHERE {_VIS} AND {where}"
            " ORDER BY row_id LIMIT 100 OFFSET %(skip)s)) ORDER BY row_id"
        )

    with psycopg.connect(dsn, autocommit=True) as conn:
        first, last = conn.execute(
            "SELECT min(row_id), max(row_id) FROM locations_location"
        ).fetchone()
        after_deepest = conn.execute(
            "SELECT row_id FROM locations_location ORDER BY row_id OFFSET %s LIMIT 1",
            [max(0, total - LIMIT - 1)],
        ).fetchone()[0]
        d_first, d_last = conn.execute(
            "SELECT min(row_id), max(row_id) FROM locations_location WHERE last_updated >= %s",
            [date_from],
        ).fetchone()
        window = "row_id > %(after)s AND row_id <= %(last)s"
        p = {"p": partner, "after": first - 1, "last": last, "skip": 0, "d": date_from}
        return {
            "version": _execution_ms(
                conn, "SELECT max(row_id), max(last_updated) FROM locations_location", p
            ),
            "first": _execution_ms(conn, page(window), p),
            "deepest": _execution_ms(conn, page(window), {**p, "after": after_deepest}),
            "jumped": _execution_ms(conn, page(window), {**p, "skip": max(0, total - LIMIT - 1)}),
            "date_from": _execution_ms(
                conn, page(window + " AND last_updated >= %(d)s"),
                {**p, "after": d_first - 1, "last": d_last},
            ),
        }  # fmt: skip


def _sql_figures(before: dict, after: dict) -> list[dict]:
    return [
        {"name": "SQL before: COUNT per page", "value": before["count"], "unit": "ms"},
        {"name": "SQL before: first page", "value": before["first"], "unit": "ms"},
        {"name": "SQL before: deepest page (OFFSET)", "value": before["deepest"], "unit": "ms"},
        {"name": "SQL before: first date_from page", "value": before["date_from"], "unit": "ms"},
        {"name": "SQL after: data version per page", "value": after["version"], "unit": "ms"},
        {"name": "SQL after: first page", "value": after["first"], "unit": "ms"},
        {"name": "SQL after: deepest page (keyset)", "value": after["deepest"], "unit": "ms"},
        {"name": "SQL after: deepest page (jumped)", "value": after["jumped"], "unit": "ms"},
        {"name": "SQL after: first date_from page", "value": after["date_from"], "unit": "ms"},
    ]


def measure(size: int, database_url: str, broker_url: str) -> list[dict]:
    dsn = database_url.replace("postgres://", "postgresql://")
    ports = (api._free_port(), api._free_port())
    env = _env(database_url, broker_url, *ports)
    _ensure_partner(env, dsn)
    with psycopg.connect(dsn) as conn:
        total = conn.execute("SELECT count(*) FROM locations_location").fetchone()[0]
    args = {
        "rounds": 2 if size < 25_000 else 1,
        "repeat": 5 if size < 25_000 else 3,
        "date_from": _newest_tenth_from(dsn),
    }
    note = f"{total} Locations, date_from {args['date_from']}, rounds {args['rounds']}"
    with psycopg.connect(dsn) as conn:
        partner = conn.execute("SELECT id FROM partners_partner WHERE name = 'bench'").fetchone()[0]
    _manage(env, "migrate", "locations", "0004", "--noinput", "-v0")
    try:
        sql_before = _sql_before(dsn, total, args["date_from"], partner)
    finally:
        _manage(env, "migrate", "--noinput", "-v0")
    results = _sql_figures(sql_before, _sql_after(dsn, total, args["date_from"], partner))
    if os.environ.get("SCALE_SENDER_HTTP", "1") == "0":
        return results
    before = os.environ.get("SCALE_SENDER_BEFORE")
    if before:
        started = time.perf_counter()
        _manage(env, "migrate", "locations", "0004", "--noinput", "-v0")
        try:
            f = _run("before", Path(before), env, ports, total, args)
        finally:
            _manage(env, "migrate", "--noinput", "-v0")
        results += _figures("before: ", f, size, f"{note}; {time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    f = _run("ours", ROOT, env, ports, total, args)
    results += _figures("", f, size, f"{note}; {time.perf_counter() - started:.0f} s")
    return results
