"""OCPI status codes (OCPI 2.2.1, Status codes) and the messages we send with them."""

from enum import IntEnum


class OcpiStatus(IntEnum):
    SUCCESS = 1000
    CLIENT_ERROR = 2000
    INVALID_PARAMETERS = 2001
    NOT_ENOUGH_INFORMATION = 2002
    UNKNOWN_LOCATION = 2003
    UNKNOWN_TOKEN = 2004
    SERVER_ERROR = 3000
    UNABLE_TO_USE_CLIENT_API = 3001
    UNSUPPORTED_VERSION = 3002
    NO_MATCHING_ENDPOINTS = 3003
    HUB_ERROR = 4000
    UNKNOWN_RECEIVER = 4001
    TIMEOUT_ON_FORWARDED_REQUEST = 4002
    CONNECTION_PROBLEM = 4003

    @property
    def default_message(self) -> str:
        return _MESSAGES[self]


_MESSAGES = {
    OcpiStatus.SUCCESS: "Success",
    OcpiStatus.CLIENT_ERROR: "Client error",
    OcpiStatus.INVALID_PARAMETERS: "Invalid or missing parameters",
    OcpiStatus.NOT_ENOUGH_INFORMATION: "Not enough information",
    OcpiStatus.UNKNOWN_LOCATION: "Unknown location",
    OcpiStatus.UNKNOWN_TOKEN: "Unknown token",
    OcpiStatus.SERVER_ERROR: "Server error",
    OcpiStatus.UNABLE_TO_USE_CLIENT_API: "Unable to use the client's API",
    OcpiStatus.UNSUPPORTED_VERSION: "Unsupported version",
    OcpiStatus.NO_MATCHING_ENDPOINTS: "No matching endpoints or expected endpoints missing",
    OcpiStatus.HUB_ERROR: "Hub error",
    OcpiStatus.UNKNOWN_RECEIVER: "Unknown receiver",
    OcpiStatus.TIMEOUT_ON_FORWARDED_REQUEST: "Timeout on forwarded request",
    OcpiStatus.CONNECTION_PROBLEM: "Connection problem",
}
