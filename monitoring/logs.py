"""LOG_FORMAT=json: one JSON object per line, with the ids of what was being done.

Fields: time (UTC, ISO 8601), level, logger, message; request_id and correlation_id while
a request is handled (the X-Request-ID / X-Correlation-ID we answer with); task_id and the
push ids (partner_id, lane_id, delivery_id, change_ids) while a Celery task runs; exc_info
as text. Loaded by the logging configuration before the apps: imports no models.
"""

import json
import logging
from datetime import UTC, datetime

from versions.logcontext import current_log_ids
from versions.middleware import current_correlation_id, current_request_id


def _task_id() -> str | None:
    from celery import current_task

    task = current_task
    request = getattr(task, "request", None) if task else None
    return getattr(request, "id", None) if request is not None else None


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        # Django logs a request's 4xx/5xx after the middleware has returned, with the
        # request attached to the record.
        request = getattr(record, "request", None)
        request_id = getattr(request, "ocpi_request_id", None) or current_request_id.get()
        if request_id is not None:
            line["request_id"] = request_id
            line["correlation_id"] = (
                getattr(request, "ocpi_correlation_id", None) or current_correlation_id.get()
            )
        if (task_id := _task_id()) is not None:
            line["task_id"] = task_id
        line.update(current_log_ids.get())
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)
