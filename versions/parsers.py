"""Request body parsing: JSON whose failures are all client errors (HTTP 400), never a 500."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class OcpiJSONParser(JSONParser):
    """DRF's JSONParser, plus: JSON nested too deeply to decode is a parse error.

    Python's json module gives up on deep nesting (`[[[[...` a few thousand levels down) with
    a RecursionError, which DRF does not catch (it only maps ValueError), so such a body was
    answered HTTP 500.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply") from None
