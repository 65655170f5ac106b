from django.core.management.base import BaseCommand, CommandError

from partners.management.token_input import add_token_arguments, read_token
from partners.registration import RegistrationFailed, partner_register
from versions.base_url import base_url_warning


class Command(BaseCommand):
    help = (
        "Register with a partner (we are the Sender): fetch their versions with their token A, "
        "post our credentials, store their token C, roles and endpoints."
    )

    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("--versions-url", required=True, help="their versions URL")
        add_token_arguments(parser, what="the token A they gave us", required=True)
        parser.add_argument("--name", help="our name for the partner (default: their host)")
        parser.add_argument(
            "--raw-token",
            action="store_true",
            help="send the token unencoded (partners that expect the 2.1.1 habit)",
        )

    def handle(self, *args, **options):
        token_a = read_token(options)
        assert token_a is not None  # one of the token options is required
        # The partner fetches our versions while handling our POST: say up front when our
        # URL does not answer, which is otherwise only a generic error from their side.
        warning = base_url_warning()
        if warning:
            self.stderr.write(warning)
        try:
            report = partner_register(
                versions_url=options["versions_url"],
                token_a=token_a,
                name=options["name"],
                base64_token=not options["raw_token"],
            )
        except RegistrationFailed as exc:
            for step in exc.steps:
                self.stdout.write(f"  done: {step}")
            raise CommandError(f"Registration failed: {exc.message}") from None
        for step in report.steps:
            self.stdout.write(f"  done: {step}")
        self.stdout.write(f"Registered {report.partner.name} (OCPI {report.version}).")
        if report.locations_receiver_url:
            self.stdout.write(f"Locations Receiver: {report.locations_receiver_url}")
        else:
            self.stdout.write("No Locations Receiver: partner will only pull.")
