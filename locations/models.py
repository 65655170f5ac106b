"""Location, EVSE and Connector with every OCPI 2.2.1 field (OCPI 2.2.1, Locations module,
8.3 Object description).

Model field names equal the OCPI property names. Scalar fields are columns; sub-objects
(GeoLocation, Hours, BusinessDetails, ...) are JSON columns validated against the spec's
classes in `validators.py`. The integer `row_id` primary keys are internal: OCPI's `id`
fields are CiStrings that are unique only within their parent (Connector) or per CPO.

Writes go through `services.py`, which sets `last_updated` and records changes for push.

`version` (not an OCPI field) counts the changes of an object's own fields: an admin form
carries the version it was rendered with, and the services refuse a save from a form older
than the stored object (docs/admin.md, "Concurrent edits").
"""

from django.core.validators import MinLengthValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper

from . import enums, validators


class Location(models.Model):
    row_id = models.BigAutoField(primary_key=True)
    country_code = models.CharField(
        max_length=2,
        validators=[validators.validate_country_code],
        help_text="ISO 3166-1 alpha-2 country code of the CPO that owns this Location.",
    )
    party_id = models.CharField(
        max_length=3,
        validators=[validators.validate_party_id],
        help_text="Party id of the CPO that owns this Location.",
    )
    id = models.CharField(
        max_length=36,
        validators=[
            validators.validate_cistring,
            validators.validate_no_spaces,
            validators.validate_url_safe_id,
        ],
        verbose_name="location id",
        help_text="Unique on the whole platform (all our parties), case-insensitive, never "
        "changes. Letters, digits and - . _ ~ ! $ & ' ( ) * + , = : @ only.",
    )
    publish = models.BooleanField(
        default=True, help_text="May be shown to the public in apps and websites."
    )
    publish_allowed_to = models.JSONField(
        default=list,
        blank=True,
        validators=[validators.validate_publish_allowed_to],
        help_text="Only with publish off: tokens whose owners may see this Location.",
    )
    name = models.CharField(max_length=255, blank=True, validators=[validators.validate_printable])
    address = models.CharField(
        max_length=255,
        validators=[validators.validate_printable],
        help_text="Street and house number.",
    )
    city = models.CharField(max_length=45, validators=[validators.validate_printable])
    postal_code = models.CharField(
        max_length=10, blank=True, validators=[validators.validate_printable]
    )
    state = models.CharField(max_length=45, blank=True, validators=[validators.validate_printable])
    country = models.CharField(
        max_length=3,
        validators=[MinLengthValidator(3), validators.validate_country],
        help_text="ISO 3166-1 alpha-3 country of the site, e.g. NLD.",
    )
    coordinates = models.JSONField(validators=[validators.validate_coordinates])
    related_locations = models.JSONField(
        default=list, blank=True, validators=[validators.validate_related_locations]
    )
    parking_type = models.CharField(max_length=20, blank=True, choices=enums.ParkingType.choices)
    directions = models.JSONField(
        default=list, blank=True, validators=[validators.validate_directions]
    )
    operator = models.JSONField(null=True, blank=True, validators=[validators.validate_operator])
    suboperator = models.JSONField(
        null=True, blank=True, validators=[validators.validate_suboperator]
    )
    owner = models.JSONField(null=True, blank=True, validators=[validators.validate_owner])
    facilities = models.JSONField(
        default=list, blank=True, validators=[validators.validate_facilities]
    )
    time_zone = models.CharField(
        max_length=255,
        validators=[validators.validate_time_zone],
        help_text="IANA time zone, e.g. Europe/Amsterdam.",
    )
    opening_times = models.JSONField(
        null=True,
        blank=True,
        validators=[validators.validate_opening_times],
        help_text="Empty means no opening times are published (usually read as always open).",
    )
    charging_when_closed = models.BooleanField(
        null=True,
        blank=True,
        help_text="Charging goes on outside opening hours. Empty means the OCPI default (yes).",
    )
    images = models.JSONField(default=list, blank=True, validators=[validators.validate_images])
    energy_mix = models.JSONField(
        null=True, blank=True, validators=[validators.validate_energy_mix]
    )
    last_updated = models.DateTimeField(editable=False)
    version = models.PositiveIntegerField(
        default=1,
        editable=False,
        help_text="Counts the changes of this object's own fields (stale-form check).",
    )
    # Roaming agreements (not an OCPI field; `locations.sharing`): every partner receives and
    # may pull this Location, or only those it has a LocationShare with.
    shared_with_all = models.BooleanField(
        default=True,
        verbose_name="shared with all partners",
        help_text="Off: only the partners chosen under Roaming agreements receive and may pull "
        "this Location.",
    )

    class Meta:
        # Oldest first, so that pages stay stable while a partner crawls (OCPI 2.2.1,
        # Transport and format, Pagination: Paginated Response).
        ordering = ["row_id"]
        constraints = [
            # Unique within the CPO's platform, across its parties (OCPI 2.2.1, Locations
            # module, Location object: `id`); the Sender interface finds a Location by its
            # id alone. Migration 0002 lists existing duplicates before adding it.
            models.UniqueConstraint(
                Upper("id"),
                name="location_unique_id",
                violation_error_message="A Location with this id exists already "
                "(ids are unique on the whole platform, case-insensitive).",
            ),
            models.CheckConstraint(
                condition=Q(publish=False) | Q(publish_allowed_to=[]),
                name="location_publish_allowed_to_only_unpublished",
                violation_error_message="publish_allowed_to is only allowed when publish is off.",
            ),
        ]
        indexes = [
            # GET list (locations/paging.py). Its order is creation order, `row_id`: OCPI
            # 2.2.1, Transport and format, Pagination asks that the same query give the same
            # objects in the same order, oldest first so that new ones land on the last page;
            # ordered by `last_updated`, a Location changed during a crawl would jump to the
            # end and be sent twice. One B-tree cannot serve both a `last_updated` range and
            # the `row_id` order, so the list has one index in its order that also holds
            # what the filters read: a page walks it from where the last page ended (keyset)
            # and tests the date window and the visibility (`sharing.visible_to`) on the
            # index entry, without visiting the rows it skips (index-only, for the page's
            # ids and for counts). PostgreSQL picks it when most Locations match.
            models.Index(
                fields=["row_id", "last_updated", "shared_with_all"], name="location_list_idx"
            ),
            # ... and this one when few do (an incremental `date_from` crawl): the window's
            # entries only, then the page's ids sorted (cost: the window, not the table).
            # `shared_with_all` included so that counting a window is index-only too.
            models.Index(
                fields=["last_updated", "row_id"],
                include=["shared_with_all"],
                name="location_last_updated_idx",
            ),
            # GET object: /locations/{location_id} matched case-insensitively.
            models.Index(Upper("id"), name="location_upper_id_idx"),
            # Admin list (locations/admin_scale.py): the country and city filters' choices,
            # read with one probe per value, and their filtered pages in list order. The
            # search indexes are PostgreSQL's own (migration 0009_admin_search_indexes).
            models.Index(fields=["country", "row_id"], name="location_country_idx"),
            models.Index(fields=["city", "row_id"], name="location_city_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.id} – {self.name or self.address}"

    def clean(self) -> None:
        super().clean()
        validators.validate_our_party(self.country_code, self.party_id)


class EVSE(models.Model):
    row_id = models.BigAutoField(primary_key=True)
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="evses")
    uid = models.CharField(
        max_length=36,
        validators=[
            validators.validate_cistring,
            validators.validate_no_spaces,
            validators.validate_url_safe_id,
        ],
        verbose_name="EVSE uid",
        help_text="Technical id, unique on the whole platform, never changes.",
    )
    evse_id = models.CharField(
        max_length=48,
        blank=True,
        validators=[validators.validate_evse_id],
        verbose_name="EVSE ID",
        help_text="eMI3 EVSE ID shown to drivers, e.g. NL*ABC*E12345*1.",
    )
    status = models.CharField(
        max_length=12, choices=enums.Status.choices, default=enums.Status.UNKNOWN
    )
    status_schedule = models.JSONField(
        default=list, blank=True, validators=[validators.validate_status_schedule]
    )
    capabilities = models.JSONField(
        default=list, blank=True, validators=[validators.validate_capabilities]
    )
    floor_level = models.CharField(
        max_length=4, blank=True, validators=[validators.validate_printable]
    )
    coordinates = models.JSONField(
        null=True, blank=True, validators=[validators.validate_coordinates]
    )
    physical_reference = models.CharField(
        max_length=16, blank=True, validators=[validators.validate_printable]
    )
    directions = models.JSONField(
        default=list, blank=True, validators=[validators.validate_directions]
    )
    parking_restrictions = models.JSONField(
        default=list, blank=True, validators=[validators.validate_parking_restrictions]
    )
    images = models.JSONField(default=list, blank=True, validators=[validators.validate_images])
    last_updated = models.DateTimeField(editable=False)
    version = models.PositiveIntegerField(
        default=1,
        editable=False,
        help_text="Counts the changes of this object's own fields (stale-form check).",
    )

    class Meta:
        verbose_name = "EVSE"
        verbose_name_plural = "EVSEs"
        ordering = ["row_id"]
        constraints = [
            models.UniqueConstraint(
                Upper("uid"),
                name="evse_unique_uid",
                violation_error_message="An EVSE with this uid exists already.",
            ),
            # An EVSE ID may be reused once its old EVSE is REMOVED (OCPI 2.2.1, Locations
            # module, 8.3.2 EVSE Object: `evse_id`).
            models.UniqueConstraint(
                Upper("evse_id"),
                condition=~Q(status=enums.Status.REMOVED) & ~Q(evse_id=""),
                name="evse_unique_active_evse_id",
                violation_error_message="Another EVSE that is not removed has this EVSE ID.",
            ),
        ]
        indexes = [
            # The dashboard's count per status (GROUP BY status from the index alone) and
            # the admin's EVSE list filtered by status, in list order (locations/admin_scale.py).
            models.Index(fields=["status", "row_id"], name="evse_status_idx"),
        ]

    def __str__(self) -> str:
        return self.evse_id or self.uid


class Connector(models.Model):
    row_id = models.BigAutoField(primary_key=True)
    evse = models.ForeignKey(EVSE, on_delete=models.CASCADE, related_name="connectors")
    id = models.CharField(
        max_length=36,
        validators=[
            validators.validate_cistring,
            validators.validate_no_spaces,
            validators.validate_url_safe_id,
        ],
        verbose_name="connector id",
        help_text="Unique within its EVSE, e.g. 1.",
    )
    standard = models.CharField(max_length=24, choices=enums.ConnectorType.choices)
    format = models.CharField(max_length=6, choices=enums.ConnectorFormat.choices)
    power_type = models.CharField(max_length=16, choices=enums.PowerType.choices)
    max_voltage = models.PositiveIntegerField(help_text="Volts (line to neutral for 3 phases).")
    max_amperage = models.PositiveIntegerField(help_text="Amperes.")
    max_electric_power = models.PositiveIntegerField(
        null=True, blank=True, help_text="Watts; set it when lower than voltage × amperage."
    )
    tariff_ids = models.JSONField(
        default=list, blank=True, validators=[validators.validate_tariff_ids]
    )
    terms_and_conditions = models.URLField(max_length=255, blank=True)
    last_updated = models.DateTimeField(editable=False)
    version = models.PositiveIntegerField(
        default=1,
        editable=False,
        help_text="Counts the changes of this object's own fields (stale-form check).",
    )

    class Meta:
        ordering = ["row_id"]
        constraints = [
            models.UniqueConstraint(
                "evse",
                Upper("id"),
                name="connector_unique_id_per_evse",
                violation_error_message="This EVSE has a connector with this id already.",
            ),
        ]
        indexes = [
            # Admin list (locations/admin_scale.py): filtered by power type, in list order.
            models.Index(fields=["power_type", "row_id"], name="connector_power_type_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.evse} / {self.id}"


# OCPI property names of each object, in the spec's order (OCPI 2.2.1, Locations module,
# 8.3 Object description). `evses` and `connectors` are children, not columns.
LOCATION_FIELDS = (
    "country_code", "party_id", "id", "publish", "publish_allowed_to", "name", "address",
    "city", "postal_code", "state", "country", "coordinates", "related_locations",
    "parking_type", "evses", "directions", "operator", "suboperator", "owner", "facilities",
    "time_zone", "opening_times", "charging_when_closed", "images", "energy_mix",
    "last_updated",
)  # fmt: skip
EVSE_FIELDS = (
    "uid", "evse_id", "status", "status_schedule", "capabilities", "connectors",
    "floor_level", "coordinates", "physical_reference", "directions", "parking_restrictions",
    "images", "last_updated",
)  # fmt: skip
CONNECTOR_FIELDS = (
    "id", "standard", "format", "power_type", "max_voltage", "max_amperage",
    "max_electric_power", "tariff_ids", "terms_and_conditions", "last_updated",
)  # fmt: skip

# Their stored OCPI columns: what a save compares and an import reads (children and
# `last_updated`, which the services set, are not among them).
LOCATION_COLUMNS = tuple(f for f in LOCATION_FIELDS if f not in {"evses", "last_updated"})
EVSE_COLUMNS = tuple(f for f in EVSE_FIELDS if f not in {"connectors", "last_updated"})
CONNECTOR_COLUMNS = tuple(f for f in CONNECTOR_FIELDS if f != "last_updated")


class LocationQuality(models.Model):
    """The stored data-quality result of one Location with its EVSEs and Connectors, every
    profile (`locations.quality_store`): what the admin's list filter, list column and
    dashboard read, so that they never run the rules per row."""

    location = models.OneToOneField(
        Location, on_delete=models.CASCADE, primary_key=True, related_name="quality"
    )
    errors = models.PositiveIntegerField(default=0)
    warnings = models.PositiveIntegerField(default=0)
    checked_at = models.DateTimeField(help_text="When the rules read the Location.")

    class Meta:
        verbose_name = "Location data quality"
        verbose_name_plural = "Location data quality"
        indexes = [
            # The dashboard's worst Locations (ORDER BY errors DESC, warnings DESC LIMIT 10).
            models.Index(fields=["errors", "warnings"], name="location_quality_worst_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.location_id}: {self.errors} errors, {self.warnings} warnings"


class LocationShare(models.Model):
    """A roaming agreement: while its Location is not shared with all partners, only the
    partners it has a LocationShare with receive it and may pull it (`locations.sharing`)."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="shares")
    partner = models.ForeignKey("partners.Partner", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Its index serves the Sender API's visibility filter (partner first).
            models.UniqueConstraint(fields=["partner", "location"], name="unique_location_share"),
        ]

    def __str__(self) -> str:
        return f"{self.location_id} shared with partner {self.partner_id}"


class BulkChange(models.Model):
    """A bulk change too large for a web request ("Set status …", "Mark removed", publish
    of thousands of rows): queued for a worker, which applies it a batch per transaction
    (`locations.bulk_jobs`) and counts here how far it got; the admin shows the progress."""

    class Kind(models.TextChoices):
        EVSE_STATUS = "evse_status", "EVSE status"
        LOCATION_PUBLISH = "location_publish", "Location publish"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    value = models.CharField(max_length=12, help_text="The new status, or true/false.")
    # The selected rows' ids, in the order the batches take them (their Locations' order).
    ids = models.JSONField(default=list)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0, help_text="Rows handled so far.")
    changed = models.PositiveIntegerField(default=0)
    already = models.PositiveIntegerField(default=0, help_text="Had the value already.")
    refused = models.PositiveIntegerField(
        default=0, help_text="Left alone by a rule (removed EVSEs, publish_allowed_to)."
    )
    refused_ids = models.JSONField(default=list, help_text="The first refused (OCPI ids).")
    requested_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["finished_at", "updated_at"], name="bulkchange_open_idx")]

    def __str__(self) -> str:
        return f"bulk change #{self.pk}"
