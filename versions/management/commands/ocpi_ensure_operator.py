import os
import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Make sure an operator can log in to the admin: when no superuser exists, create one "
        "(DJANGO_SUPERUSER_USERNAME, default 'admin') with DJANGO_SUPERUSER_PASSWORD or a "
        "random password that is printed once. A chosen password must pass the password "
        "validators (AUTH_PASSWORD_VALIDATORS)."
    )

    def handle(self, *args, **options):
        users = get_user_model()
        if users.objects.filter(is_superuser=True).exists():
            self.stdout.write("Admin: log in with your existing superuser.")
            return
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME", "admin")
        chosen = os.environ.get("DJANGO_SUPERUSER_PASSWORD")
        password = chosen or secrets.token_urlsafe(12)
        try:
            # The same rules as the admin's password forms (an admin/admin superuser on a
            # server reachable from the internet is the first thing tried).
            validate_password(password, user=users(username=username))
        except ValidationError as exc:
            raise CommandError(
                "DJANGO_SUPERUSER_PASSWORD is refused: "
                + " ".join(exc.messages)
                + " Choose another, or leave it unset for a random one."
            ) from None
        users.objects.create_superuser(username=username, email="", password=password)
        self.stdout.write(self.style.WARNING("=" * 60))
        self.stdout.write(self.style.WARNING(f"Admin user created: {username}"))
        if chosen:
            self.stdout.write(
                self.style.WARNING("Password: the value of DJANGO_SUPERUSER_PASSWORD")
            )
        else:
            self.stdout.write(self.style.WARNING(f"Password (shown once): {password}"))
        self.stdout.write(
            self.style.WARNING(f"Change it with: python manage.py changepassword {username}")
        )
        self.stdout.write(self.style.WARNING("=" * 60))
