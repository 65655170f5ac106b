import logging

from django.db import connection

from partners.models import Partner


def test_sql_with_a_partner_token_is_not_logged_even_at_debug_level(db, caplog):
    caplog.set_level(logging.DEBUG)  # the root logger, as LOG_LEVEL=DEBUG would set it
    caplog.set_level(logging.DEBUG, logger="django")  # someone debugging Django itself
    connection.force_debug_cursor = True  # what DEBUG=true does to every query
    try:
        Partner.objects.create(name="Logged?", outgoing_token="their-secret-token-c")
    finally:
        connection.force_debug_cursor = False

    assert "their-secret-token-c" not in caplog.text
