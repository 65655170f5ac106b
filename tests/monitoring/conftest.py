import os

from django.db import connections

# The heartbeat tests run a real worker and beat in other processes, which must see the test
# database: SQLite's default test database lives in memory, so it gets a file (as in
# tests/pushers/conftest.py; set at import, before pytest-django creates the database).
_default = connections["default"].settings_dict
if _default["ENGINE"] == "django.db.backends.sqlite3" and not _default["TEST"].get("NAME"):
    from django.conf import settings as _settings

    _default["TEST"]["NAME"] = str(_settings.VAR_DIR / f"test-push-{os.getpid()}.sqlite3")
