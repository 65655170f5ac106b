"""The credentials object (OCPI 2.2.1, Credentials module, Credentials object): validation
and our own object."""

from rest_framework import serializers

from versions.parties import our_parties
from versions.urls_util import public_reverse

from .models import Role

_PRINTABLE_TOKEN = r"^[\x21-\x7e]{1,64}$"  # noqa: S105 - a pattern, not a secret


class BusinessDetailsSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    website = serializers.URLField(max_length=255, required=False, allow_null=True)
    logo = serializers.DictField(required=False, allow_null=True)


class CredentialsRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.values)
    business_details = BusinessDetailsSerializer()
    party_id = serializers.RegexField(r"^[A-Za-z0-9]{1,3}$", max_length=3)
    country_code = serializers.RegexField(r"^[A-Za-z]{2}$", max_length=2)


class CredentialsSerializer(serializers.Serializer):
    token = serializers.RegexField(
        _PRINTABLE_TOKEN,
        error_messages={"invalid": "1-64 printable ASCII characters without spaces"},
    )
    url = serializers.URLField(max_length=255)
    roles = CredentialsRoleSerializer(many=True, allow_empty=False)

    def validate_roles(self, roles):
        seen = set()
        for role in roles:
            key = (role["role"], role["country_code"].upper(), role["party_id"].upper())
            if key in seen:
                raise serializers.ValidationError(
                    f"role {key[0]} {key[1]}*{key[2]} is listed twice; "
                    "(role, country_code, party_id) must be unique"
                )
            seen.add(key)
        return roles


def parse_credentials(data) -> tuple[dict | None, dict | list | None]:
    """(valid credentials, None) or (None, errors) for a credentials object from a partner."""
    if not isinstance(data, dict):
        return None, {"non_field_errors": ["a credentials object (JSON object) is required"]}
    serializer = CredentialsSerializer(data=data)
    if not serializer.is_valid():
        return None, serializer.errors
    return serializer.validated_data, None


def our_roles() -> list[dict]:
    """One CPO CredentialsRole per party of ours (`versions.parties`), each with its own
    business details (OCPI 2.2.1, Credentials module, CredentialsRole class)."""
    roles = []
    for party in our_parties():
        business = {"name": party.name}
        if party.website:
            business["website"] = party.website
        roles.append(
            {
                "role": Role.CPO.value,
                "party_id": party.party_id,
                "country_code": party.country_code,
                "business_details": business,
            }
        )
    return roles


def our_credentials(token: str) -> dict:
    """Our credentials object: the token the partner must use to call us, our versions URL."""
    return {"token": token, "url": public_reverse("ocpi-versions"), "roles": our_roles()}
