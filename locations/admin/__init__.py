"""The operator admin of Locations, EVSEs and Connectors (docs/admin.md).

Django's autodiscovery imports this package; importing the modules below registers their
ModelAdmins:
- `location`: the Location page, with its EVSEs and their Connectors inline; publish actions,
- `evse`: the EVSE page, with its Connectors inline; status actions,
- `connector`: a read-only, searchable list of Connectors,
- `bulk_changes`: the bulk actions queued for a worker, with their progress,
- `inlines`: the EVSE and Connector inlines of those pages,
- `saving`: how a submit is saved through `locations.services` and how a refused save is
  shown to the operator.
"""

from . import bulk_changes, connector, evse, location  # noqa: F401  (registers the ModelAdmins)
