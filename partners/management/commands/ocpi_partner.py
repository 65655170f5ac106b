from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError

from partners.management.token_input import add_token_arguments, read_token
from partners.models import Partner, Role
from partners.services import partner_create, partner_create_pending
from versions.authorization import authorization_header
from versions.base_url import base_url_warning
from versions.urls_util import public_reverse


def _printable_token(value: str) -> str:
    if not value or len(value) > 64 or not all("\x21" <= ch <= "\x7e" for ch in value):
        raise CommandError("--token must be 1-64 printable ASCII characters without spaces")
    return value


class Command(BaseCommand):
    help = "Manage OCPI partners. `create` makes a partner that may call the API right away."
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a registered partner and print its token")
        create.add_argument("--name", required=True)
        create.add_argument("--country-code", required=True)
        create.add_argument("--party-id", required=True)
        create.add_argument("--role", default=Role.EMSP, choices=Role.values)
        add_token_arguments(create, what="their token (default: a random one)", required=False)
        token_a = sub.add_parser(
            "token-a",
            help="create a pending partner with a one-time token A for it to register with us",
        )
        token_a.add_argument("--name", required=True)

    def handle(self, *args, **options):
        if options["action"] == "create":
            self._create(options)
        elif options["action"] == "token-a":
            self._token_a(options)
        # Both print our URL for someone to use: say when it does not answer.
        warning = base_url_warning()
        if warning:
            self.stderr.write(warning)

    def _token_a(self, options):
        if Partner.objects.filter(name=options["name"]).exists():
            raise CommandError(f"a partner named {options['name']!r} exists already")
        partner, token = partner_create_pending(name=options["name"])
        self.stdout.write(f"Created pending partner {partner.name}.")
        self.stdout.write("Send them, through a secure channel, our versions URL and token A")
        self.stdout.write("(shown once, only a hash is stored; it works until they register):")
        self.stdout.write(f"Versions URL: {public_reverse('ocpi-versions')}")
        self.stdout.write(f"Token A: {token}")

    def _token(self, options) -> str | None:
        token = read_token(options)
        return None if token is None else _printable_token(token)

    def _create(self, options):
        country_code, party_id = options["country_code"], options["party_id"]
        if len(country_code) != 2 or not country_code.isalpha():
            raise CommandError("--country-code must be 2 letters (ISO 3166-1 alpha-2)")
        if not 1 <= len(party_id) <= 3 or not party_id.isalnum():
            raise CommandError("--party-id must be 1-3 letters or digits")
        if Partner.objects.filter(name=options["name"]).exists():
            raise CommandError(f"a partner named {options['name']!r} exists already")
        try:
            partner, token = partner_create(
                name=options["name"],
                country_code=country_code,
                party_id=party_id,
                role=options["role"],
                token=self._token(options),
            )
        except IntegrityError as exc:
            raise CommandError(f"could not create the partner: {exc}") from exc
        self.stdout.write(
            f"Created partner {partner.name} ({country_code.upper()}*{party_id.upper()})."
        )
        self.stdout.write("Its token (shown once, only a hash is stored):")
        self.stdout.write(token)
        self.stdout.write("Try it:")
        self.stdout.write(
            f"  curl -H 'Authorization: {authorization_header(token)}' "
            f"{public_reverse('ocpi-versions')}"
        )
