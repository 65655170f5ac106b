"""The postprocessing hook of the OpenAPI document (SPECTACULAR_SETTINGS), served at /api/schema/.

Each app describes its own operations next to its views (`versions/openapi.py`,
`partners/openapi.py`, `locations/openapi.py`, applied as decorators on the view classes)
and lists its components, written as JSON Schema once (`versions/schema_types.py`,
`locations/schemas.py`). This hook, the site's wiring, adds those components to the document.
"""

from locations.openapi import COMPONENTS as LOCATIONS_COMPONENTS
from partners.openapi import COMPONENTS as PARTNERS_COMPONENTS
from versions.openapi import COMPONENTS as VERSIONS_COMPONENTS


def add_ocpi_components(result, generator, request, public):
    """drf-spectacular postprocessing hook: the raw components referenced by the operations.

    It also writes each path as we publish it (versions details, `public_reverse`): without
    the trailing slash, which the URL patterns accept but do not need.
    """
    result["paths"] = {
        (path.rstrip("/") if path.startswith("/ocpi/") else path): item
        for path, item in result.get("paths", {}).items()
    }
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for components in (VERSIONS_COMPONENTS, PARTNERS_COMPONENTS, LOCATIONS_COMPONENTS):
        schemas.update(components)
    result["components"]["schemas"] = dict(sorted(schemas.items()))
    return result
