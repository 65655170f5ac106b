"""The OCPI response envelope (OCPI 2.2.1, Transport and format, Response format), rendered
with orjson."""

from datetime import datetime
from typing import Any

import orjson
from django.http import HttpResponse
from django.utils import timezone
from rest_framework.metadata import BaseMetadata
from rest_framework.renderers import BaseRenderer

from .datetimes import format_ocpi_datetime
from .status import OcpiStatus

_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_ocpi_datetime(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value: Any) -> bytes:
    """JSON bytes with every datetime as an OCPI DateTime."""
    return orjson.dumps(value, default=_default, option=_ORJSON_OPTIONS)


_NO_DATA = object()


def envelope(
    data: Any = _NO_DATA,
    *,
    status_code: OcpiStatus | int = OcpiStatus.SUCCESS,
    status_message: str | None = None,
) -> dict[str, Any]:
    status_code = OcpiStatus(status_code)
    body: dict[str, Any] = {}
    if data is not _NO_DATA:
        body["data"] = data
    body["status_code"] = int(status_code)
    body["status_message"] = status_message or status_code.default_message
    body["timestamp"] = timezone.now().replace(microsecond=0)
    return body


class OcpiResponse(HttpResponse):
    """An HTTP response whose body is the OCPI envelope around `data`."""

    def __init__(
        self,
        data: Any = _NO_DATA,
        *,
        status_code: OcpiStatus | int = OcpiStatus.SUCCESS,
        status_message: str | None = None,
        http_status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(
            content=dumps(envelope(data, status_code=status_code, status_message=status_message)),
            content_type="application/json",
            status=http_status,
            headers=headers,
        )


class OcpiJSONRenderer(BaseRenderer):
    """DRF renderer for the rare DRF Response objects (our views return OcpiResponse)."""

    media_type = "application/json"
    format = "json"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if data is None:
            return b""
        return dumps(data)


class OcpiMetadata(BaseMetadata):
    """OPTIONS: the envelope without data (the Allow header names the methods).

    DRF's default answer is its own metadata document, which is not an OCPI envelope.
    """

    def determine_metadata(self, request, view) -> dict[str, Any]:
        return envelope()
