import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Make sure an operator can log in to the admin: when no superuser exists, create one "
        "(DJANGO_SUPERUSER_USERNAME, default 'admin') with DJANGO_SUPERUSER_PASSWORD or a "
        "random password that is printed once."
    )

    def handle(self, *args, **options):
        users = get_user_model()
        if users.objects.filter(is_superuser=True).exists():
            self.stdout.write("Admin: log in with your existing superuser.")
            return
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME", "admin")
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD") or secrets.token_urlsafe(12)
        users.objects.create_superuser(username=username, email="", password=password)
        self.stdout.write(self.style.WARNING("=" * 60))
        self.stdout.write(self.style.WARNING(f"Admin user created: {username}"))
        if "DJANGO_SUPERUSER_PASSWORD" in os.environ:
            self.stdout.write(
                self.style.WARNING("Password: the value of DJANGO_SUPERUSER_PASSWORD")
            )
        else:
            self.stdout.write(self.style.WARNING(f"Password (shown once): {password}"))
        self.stdout.write(
            self.style.WARNING(f"Change it with: python manage.py changepassword {username}")
        )
        self.stdout.write(self.style.WARNING("=" * 60))
