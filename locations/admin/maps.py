"""The admin's maps (docs/admin.md, "Maps").

- `CoordinatesMapOnPage`: the page's own coordinates input gets the map widget (the EVSE
  inlines of the Location page keep plain inputs: one map per page);
- `LocationMap`: the map of all Locations coloured by availability, linked from the
  Location list: the page (`map/`) and its JSON (`map/data/?bbox=west,south,east,north`,
  `locations.map_data`). Both need the permission to view Locations.
"""

import copy

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.template.response import TemplateResponse
from django.urls import path

from .. import map_data
from ..form_fields import CoordinatesWidget


class CoordinatesMapOnPage(admin.ModelAdmin):
    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        field = form.base_fields.get("coordinates")
        if field is not None:
            # A copy: the field object is shared with the form class it came from.
            field = copy.deepcopy(field)
            field.widget = CoordinatesWidget(with_map=True)
            form.base_fields["coordinates"] = field
        return form


class LocationMap(CoordinatesMapOnPage):
    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("map/", view(self.map_view), name="locations_location_map"),
            path("map/data/", view(self.map_data_view), name="locations_location_map_data"),
            *super().get_urls(),
        ]

    def _check_view_permission(self, request) -> None:
        if not self.has_view_permission(request):
            raise PermissionDenied

    def map_view(self, request):
        self._check_view_permission(request)
        box = map_data.extent()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Map of all Locations",
            "extent": None if box is None else [[box.south, box.west], [box.north, box.east]],
            "limit": map_data.LIMIT,
            "tiles_url": settings.OCPI_MAP_TILES_URL,
            "tiles_attribution": settings.OCPI_MAP_TILES_ATTRIBUTION,
        }
        return TemplateResponse(request, "admin/locations/location/map.html", context)

    def map_data_view(self, request):
        self._check_view_permission(request)
        try:
            bounds = map_data.parse_bounds(request.GET.get("bbox", "-180,-90,180,90"))
        except ValueError as exc:
            return JsonResponse({"error": str(exc)}, status=400)
        return JsonResponse(map_data.locations_in(bounds))
