from django.db import models


class ChangeRecord(models.Model):
    """One committed change of a Location, EVSE or Connector: the transactional outbox.

    Written by `locations.services` in the same transaction as the change itself, so a
    change exists exactly when its record does. It names the lowest level that changed and
    the OCPI message that level needs (PUT of a new/replaced object, PATCH of some fields);
    the payload is built at delivery time from the current state, so that a late delivery
    never carries stale data.
    """

    class Level(models.TextChoices):
        LOCATION = "location"
        EVSE = "evse"
        CONNECTOR = "connector"

    class Method(models.TextChoices):
        PUT = "PUT"
        PATCH = "PATCH"

    id = models.BigAutoField(primary_key=True)
    level = models.CharField(max_length=9, choices=Level.choices)
    method = models.CharField(max_length=5, choices=Method.choices)
    # Internal keys of the changed object and its parents (objects are never deleted, except
    # Connectors, whose change is recorded as a PUT of their EVSE).
    location = models.ForeignKey("locations.Location", on_delete=models.PROTECT, related_name="+")
    evse = models.ForeignKey(
        "locations.EVSE", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    connector = models.ForeignKey(
        "locations.Connector", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    fields = models.JSONField(default=list, blank=True, help_text="OCPI fields a PATCH carries.")
    last_updated = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"#{self.id} {self.method} {self.level} {', '.join(self.fields)}"
