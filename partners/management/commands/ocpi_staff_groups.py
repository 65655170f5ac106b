from django.core.management.base import BaseCommand

from partners.staff_roles import STAFF_ROLES, ensure_staff_groups


class Command(BaseCommand):
    help = (
        "Create the staff groups Operator, Roaming manager and Viewer, or reset their "
        "permissions to the documented ones (docs/admin.md, Staff roles). Safe to run again."
    )

    def handle(self, *args, **options):
        counts = ensure_staff_groups()
        for name in STAFF_ROLES:
            self.stdout.write(f"{name}: {counts[name]} permissions")
        self.stdout.write("Add a user to a group on its page in the admin (Users → Groups).")
