from io import StringIO

from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command


def test_creates_an_admin_with_a_random_password_printed_once(db):
    out = StringIO()

    call_command("ocpi_ensure_operator", stdout=out)

    password_line = next(line for line in out.getvalue().splitlines() if "Password" in line)
    password = password_line.rsplit(": ", 1)[1]
    assert len(password) >= 12
    user = authenticate(username="admin", password=password)
    assert user is not None and user.is_superuser and user.is_staff


def test_leaves_an_existing_superuser_alone(db):
    get_user_model().objects.create_superuser("boss", "", "a-long-password-1")
    out = StringIO()

    call_command("ocpi_ensure_operator", stdout=out)

    assert get_user_model().objects.count() == 1
    assert "existing superuser" in out.getvalue()
