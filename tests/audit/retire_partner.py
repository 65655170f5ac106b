"""A management command of the tests' own (run with `call_command(Command(), ...)`): the
audit trail must name any command that writes, without the command's help."""

from django.core.management.base import BaseCommand

from partners.models import Partner
from partners.services import partner_unregister


class Command(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("name")

    def handle(self, *args, **options):
        partner_unregister(partner=Partner.objects.get(name=options["name"]))
