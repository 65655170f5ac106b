from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Upper

from versions.registry import InterfaceRole


class Role(models.TextChoices):
    """OCPI Role (OCPI 2.2.1, Types, Role enum)."""

    CPO = "CPO"
    EMSP = "EMSP"
    HUB = "HUB"
    NAP = "NAP"
    NSP = "NSP"
    OTHER = "OTHER"
    SCSP = "SCSP"


class Partner(models.Model):
    """A platform (eMSP, hub, ...) that talks OCPI with us."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending (token A issued, not registered yet)"
        REGISTERED = "registered", "Registered"
        SUSPENDED = "suspended", "Suspended"
        UNREGISTERED = "unregistered", "Unregistered"

    name = models.CharField(max_length=100, unique=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    versions_url = models.URLField(max_length=255, blank=True, help_text="Their versions URL.")
    version = models.CharField(max_length=10, blank=True, help_text="Negotiated OCPI version.")
    # The token *they* issued for us (their token B or C). We must send it in plain form,
    # so it cannot be hashed; it is never written to logs.
    outgoing_token = models.CharField(max_length=64, blank=True)
    outgoing_token_base64 = models.BooleanField(
        default=True,
        verbose_name="Base64-encode our token",
        help_text="OCPI 2.2.1 sends `Token base64(token)`; turn off for partners that expect "
        "the raw token (2.1.1 habit).",
    )
    incoming_raw_token_allowed = models.BooleanField(
        default=False,
        verbose_name="Accept their raw token",
        help_text="Also accept `Authorization: Token <raw token>` from this partner "
        "(2.1.1 habit) besides the Base64 form OCPI 2.2.1 requires.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    registered_at = models.DateTimeField(null=True, blank=True)
    unregistered_at = models.DateTimeField(null=True, blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    credentials_updated_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Last credentials exchange (registration or update) in either direction.",
    )
    registered_by = models.CharField(
        max_length=4,
        blank=True,
        choices=[("us", "We registered with them"), ("them", "They registered with us")],
        help_text="Who started the last credentials registration.",
    )
    initial_full_sync = models.BooleanField(
        default=True,
        verbose_name="Full sync on registration",
        help_text="Queue a PUT of every Location when this partner registers (either "
        "direction) with a Locations Receiver endpoint. Off for partners that prefer to pull.",
    )
    hub_accept_unannounced_parties = models.BooleanField(
        default=False,
        verbose_name="Hub: accept any party until it sends ClientInfo",
        help_text="For a hub (role HUB) that has not pushed any ClientInfo yet: accept "
        "requests it forwards for any OCPI-from party. Once it has sent ClientInfo, only the "
        "parties it announced are accepted.",
    )

    class Meta:
        ordering = ["name"]
        permissions = [
            # Issuing a token hands out access to our API, and rotating one cuts the partner
            # off until it has the new one: more than editing the partner's record.
            ("manage_partner_tokens", "Can issue and rotate partner tokens"),
        ]

    def __str__(self) -> str:
        return self.name


class PartnerRole(models.Model):
    """One CredentialsRole of a partner: who they are in OCPI terms."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(max_length=5, choices=Role.choices, default=Role.EMSP)
    country_code = models.CharField(max_length=2)
    party_id = models.CharField(max_length=3)
    business_details = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            # (role, country_code, party_id) identifies a party; CiStrings compare case-blind.
            models.UniqueConstraint(
                "role", Upper("country_code"), Upper("party_id"), name="unique_partner_role"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.country_code}*{self.party_id} ({self.role})"


class PartnerEndpoint(models.Model):
    """An endpoint discovered in the partner's version details."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="endpoints")
    identifier = models.CharField(max_length=32)
    role = models.CharField(max_length=8, choices=InterfaceRole.choices)
    url = models.URLField(max_length=255)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "identifier", "role"], name="unique_partner_endpoint"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.identifier} {self.role}: {self.url}"


class IssuedToken(models.Model):
    """A credentials token we issued for a partner to call us. Only its hash is stored."""

    class Kind(models.TextChoices):
        A = "A", "Token A (registration only)"
        C = "C", "Token C (full access)"

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="issued_tokens")
    kind = models.CharField(max_length=1, choices=Kind.choices)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    hint = models.CharField(
        max_length=8, editable=False, help_text="The first characters, to tell tokens apart."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"token {self.kind} {self.hint}… of {self.partner}"

    def save(self, *args, **kwargs) -> None:
        # Revocation is final: a revoked token that came back to life would reopen our API
        # to whoever still holds it. Every save path (admin, services, shell) passes here.
        if (
            self.pk is not None
            and self.revoked_at is None
            and IssuedToken.objects.filter(pk=self.pk, revoked_at__isnull=False).exists()
        ):
            raise ValidationError({"revoked_at": "A revoked token cannot be brought back."})
        super().save(*args, **kwargs)

    # What the token opens (versions.auth.CallerToken; OCPI 2.2.1, Credentials module).

    def opens_functional_modules(self) -> bool:
        return self.kind == self.Kind.C and self.partner.state == Partner.State.REGISTERED

    def opens_configuration_modules(self) -> bool:
        if self.kind == self.Kind.A:
            return self.partner.state == Partner.State.PENDING
        # Token C of a registered partner, or our token B while we register with a pending one.
        return self.partner.state in (Partner.State.REGISTERED, Partner.State.PENDING)

    def parties(self) -> set[tuple[str, str]]:
        return {(r.country_code.upper(), r.party_id.upper()) for r in self.partner.roles.all()}

    def refusal_as(self, country_code: str, party_id: str) -> str | None:
        """None when a request with this token may carry OCPI-from `country_code`/
        `party_id`: one of the partner's own CredentialsRoles, or, for a hub, a party it
        forwards for (`hub_forwards_for`). Else the reason, for the caller."""
        party = (country_code.upper(), party_id.upper())
        mine = self.parties()
        if party in mine or hub_forwards_for(self.partner, *party):
            return None
        roles = ", ".join(f"{c}*{p}" for c, p in sorted(mine)) or "none"
        reason = f"OCPI-from {party[0]}*{party[1]} is not one of your roles ({roles})"
        if any(r.role == Role.HUB for r in self.partner.roles.all()):
            reason += " nor a party you announced in a ClientInfo (HubClientInfo module)"
        return reason


class ConnectionStatus(models.TextChoices):
    """ConnectionStatus of a ClientInfo (OCPI 2.2.1, HubClientInfo module, ConnectionStatus
    enum)."""

    CONNECTED = "CONNECTED"
    OFFLINE = "OFFLINE"
    PLANNED = "PLANNED"
    SUSPENDED = "SUSPENDED"


class HubClientInfo(models.Model):
    """One ClientInfo a hub pushed to us: a party reachable through that hub and its
    connection status (OCPI 2.2.1, HubClientInfo module, ClientInfo object). The hub owns
    it; ClientInfo objects are never deleted, a hub sets them SUSPENDED instead."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="hub_clients")
    country_code = models.CharField(max_length=2)
    party_id = models.CharField(max_length=3)
    role = models.CharField(max_length=5, choices=Role.choices)
    status = models.CharField(max_length=9, choices=ConnectionStatus.choices)
    last_updated = models.DateTimeField(help_text="The hub's last_updated of this ClientInfo.")
    received_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "hub client (ClientInfo)"
        verbose_name_plural = "hub clients (ClientInfo)"
        ordering = ["country_code", "party_id"]
        constraints = [
            # One ClientInfo per party and hub; CiStrings compare case-blind.
            models.UniqueConstraint(
                "partner", Upper("country_code"), Upper("party_id"), name="unique_hub_client"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.country_code}*{self.party_id} ({self.role}, {self.status})"


# A hub forwards requests of the parties it announced, whatever their connection status
# except SUSPENDED ("no longer active, will never connect anymore"; OCPI 2.2.1, HubClientInfo
# module, ConnectionStatus enum). OFFLINE and PLANNED describe the hub's link to that party
# as the hub last saw it; a request that does arrive from it is served.
_FORWARDABLE = (ConnectionStatus.CONNECTED, ConnectionStatus.OFFLINE, ConnectionStatus.PLANNED)


def hub_forwards_for(partner: Partner, country_code: str, party_id: str) -> bool:
    """Does `partner`, as a hub, forward requests of party `country_code`/`party_id`?

    Only partners with role HUB forward (OCPI 2.2.1, Transport and format, Message Routing:
    "Via hub" requests carry the requesting party in OCPI-from-*). The party must be one
    the hub announced in a ClientInfo (not SUSPENDED); before the hub sent any ClientInfo,
    its `hub_accept_unannounced_parties` switch decides.
    """
    if not any(r.role == Role.HUB for r in partner.roles.all()):
        return False
    clients = HubClientInfo.objects.filter(partner=partner)
    announced = clients.filter(
        country_code__iexact=country_code, party_id__iexact=party_id, status__in=_FORWARDABLE
    )
    if announced.exists():
        return True
    return partner.hub_accept_unannounced_parties and not clients.exists()
