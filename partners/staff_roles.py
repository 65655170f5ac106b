"""The documented staff roles (docs/admin.md, "Staff roles"): Django groups with a fixed set
of permissions, made on every `migrate` and by `manage.py ocpi_staff_groups`.

The groups are managed: their permissions are set to exactly these lists each time, so an
edit in the admin does not last. Make a group of your own for anything else.
Permissions are named as "app_label.codename"; an app that is not installed is skipped.
"""

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission

_VIEW_EVERYTHING = [
    "locations.view_location",
    "locations.view_evse",
    "locations.view_connector",
    "locations.view_bulkchange",
    "partners.view_partner",
    "partners.view_partnerrole",
    "partners.view_partnerendpoint",
    "partners.view_issuedtoken",
    "pushers.view_partnerpushstate",
    "pushers.view_delivery",
    "pushers.view_fullsync",
]

STAFF_ROLES: dict[str, list[str]] = {
    # Field technicians and site managers: sites and statuses; partners and push, to look.
    "Operator": [
        *_VIEW_EVERYTHING,
        "locations.add_location",
        "locations.change_location",
        "locations.add_evse",
        "locations.change_evse",
        "locations.add_connector",
        "locations.change_connector",
        # Removing a connector row while editing a site (an EVSE keeps at least one).
        "locations.delete_connector",
    ],
    # Owns the partner connections: registration, tokens, suspension, and the push levers.
    "Roaming manager": [
        *_VIEW_EVERYTHING,
        "partners.add_partner",
        "partners.change_partner",
        "partners.manage_partner_tokens",
        "partners.add_partnerrole",
        "partners.change_partnerrole",
        "partners.delete_partnerrole",
        "partners.add_partnerendpoint",
        "partners.change_partnerendpoint",
        "partners.delete_partnerendpoint",
        "pushers.operate_push",
    ],
    # Support desk: reads everything, changes nothing.
    "Viewer": _VIEW_EVERYTHING,
}


def _permission(name: str) -> Permission | None:
    app_label, codename = name.split(".", 1)
    return Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()


def ensure_staff_groups() -> dict[str, int]:
    """Create or reset the groups; returns how many permissions each has."""
    labels = {name.split(".", 1)[0] for perms in STAFF_ROLES.values() for name in perms}
    for label in labels:
        # The permissions of models made by this very migrate run exist only once their
        # app's post_migrate has run, which may come after ours.
        if apps.is_installed(label):
            create_permissions(apps.get_app_config(label), verbosity=0)
    counts = {}
    for group_name, names in STAFF_ROLES.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        permissions = [p for p in (_permission(n) for n in names) if p is not None]
        group.permissions.set(permissions)
        counts[group_name] = len(permissions)
    return counts


def on_post_migrate(sender, using="default", **kwargs) -> None:
    if using != "default":
        return
    ensure_staff_groups()
