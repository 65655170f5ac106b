"""The process definitions (Procfile for `make run`, deploy/ systemd units for production)
consume every Celery queue, run exactly one beat, and are valid systemd units."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
UNITS = sorted((ROOT / "deploy").glob("ocpi-*.service"))


def exec_start(unit: Path) -> str:
    text = unit.read_text().replace("\\\n", " ")
    return re.search(r"^ExecStart=(.*)$", text, re.MULTILINE).group(1)


def queues_of(command: str) -> list[str]:
    return re.findall(r"-Q (\S+)", command)


def test_the_units_consume_every_queue_and_run_exactly_one_beat():
    commands = {unit.name: exec_start(unit) for unit in UNITS}

    assert sorted(q for c in commands.values() for q in queues_of(c)) == sorted(
        queue.name for queue in settings.CELERY_TASK_QUEUES
    )
    assert [name for name, c in commands.items() if " beat" in c] == ["ocpi-beat.service"]
    assert all(
        "KillMode=mixed" in unit.read_text() for unit in UNITS if "worker " in exec_start(unit)
    )


def test_the_procfile_consumes_every_queue_and_runs_exactly_one_beat():
    lines = dict(
        line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )

    assert sorted(q for c in lines.values() for q in queues_of(c)) == sorted(
        queue.name for queue in settings.CELERY_TASK_QUEUES
    )
    assert [name for name, c in lines.items() if " beat" in c] == ["beat"]
    # Celery's default concurrency (one pool process per core) unless the variable is set.
    assert "--concurrency=$WORKER_CONCURRENCY}" in lines["worker"]
    assert "--concurrency=$SENDER_CONCURRENCY}" in lines["sender"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not here")
def test_systemd_analyze_verify_reports_nothing(tmp_path):
    # /opt/ocpi pointed at this checkout, so that the commands exist (as .ci/run does).
    for unit in [*UNITS, ROOT / "deploy" / "ocpi.target"]:
        (tmp_path / unit.name).write_text(unit.read_text().replace("/opt/ocpi", str(ROOT)))

    result = subprocess.run(
        ["systemd-analyze", "verify", *sorted(str(p) for p in tmp_path.iterdir())],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert (result.returncode, result.stdout + result.stderr) == (0, "")
