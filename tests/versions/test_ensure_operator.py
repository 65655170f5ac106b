from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command
from django.test import RequestFactory


def _login(username: str, password: str):
    # The login protection (django-axes) needs the request, as the admin's login form has.
    return authenticate(
        RequestFactory().post("/admin/login/"), username=username, password=password
    )


def test_creates_an_admin_with_a_random_password_printed_once(db):
    out = StringIO()

    call_command("ocpi_ensure_operator", stdout=out)

    password_line = next(line for line in out.getvalue().splitlines() if "Password" in line)
    password = password_line.rsplit(": ", 1)[1]
    assert len(password) >= 12
    user = _login("admin", password)
    assert user is not None and user.is_superuser and user.is_staff


def test_leaves_an_existing_superuser_alone(db):
    get_user_model().objects.create_superuser("boss", "", "a-long-password-1")
    out = StringIO()

    call_command("ocpi_ensure_operator", stdout=out)

    assert get_user_model().objects.count() == 1
    assert "existing superuser" in out.getvalue()


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("admin", "This password is too short. It must contain at least 8 characters."),
        ("password123", "This password is too common."),
        ("8216403957", "This password is entirely numeric."),
    ],
)
def test_refuses_a_weak_chosen_password_and_creates_nobody(db, monkeypatch, password, reason):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", password)

    with pytest.raises(CommandError) as refused:
        call_command("ocpi_ensure_operator", stdout=StringIO())

    assert str(refused.value).startswith("DJANGO_SUPERUSER_PASSWORD is refused: ")
    assert reason in str(refused.value)
    assert not get_user_model().objects.exists()


def test_a_strong_chosen_password_is_used_and_not_printed(db, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "chief")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "correct-horse-battery-42")
    out = StringIO()

    call_command("ocpi_ensure_operator", stdout=out)

    assert "correct-horse-battery-42" not in out.getvalue()
    assert _login("chief", "correct-horse-battery-42").is_superuser
