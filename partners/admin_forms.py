"""The forms of the partner admin (`partners.admin`): registering with a partner, inviting
one (token A), the partner's record (its token for us is write-only) and its tokens
(revocation is final)."""

from functools import partial

from django import forms
from django.utils import timezone

from .models import IssuedToken, Partner


class RegisterPartnerForm(forms.Form):
    versions_url = forms.URLField(max_length=255, label="Their versions URL", assume_scheme="https")
    token_a = forms.CharField(
        max_length=64,
        label="Their token A",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    name = forms.CharField(
        max_length=100, required=False, help_text="Default: the host of the versions URL."
    )
    raw_token = forms.BooleanField(
        required=False,
        label="Send the token unencoded",
        help_text="Only for partners that expect the raw token (2.1.1 habit).",
    )

    def clean_token_a(self):
        token = self.cleaned_data["token_a"]
        if not all("\x21" <= ch <= "\x7e" for ch in token):
            raise forms.ValidationError("Printable ASCII characters without spaces only.")
        return token


class TokenAForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Our name for the new partner.")

    def clean_name(self):
        name = self.cleaned_data["name"]
        if Partner.objects.filter(name=name).exists():
            raise forms.ValidationError("A partner with this name exists already.")
        return name


class PartnerForm(forms.ModelForm):
    """The partner's record; their token for us can be replaced, never read back."""

    new_outgoing_token = forms.CharField(
        max_length=64,
        required=False,
        label="Set a new outgoing token",
        help_text="The token the partner gave us to call it (normally stored by the "
        "credentials handshake). Leave empty to keep the current one.",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )

    class Meta:
        model = Partner
        fields = [
            "name",
            "versions_url",
            "version",
            "outgoing_token_base64",
            "incoming_raw_token_allowed",
        ]
        # A URL typed without a scheme means https (Django 6.0's default, adopted now).
        field_classes = {"versions_url": partial(forms.URLField, assume_scheme="https")}

    def clean_new_outgoing_token(self):
        token = self.cleaned_data["new_outgoing_token"]
        if token and not all("\x21" <= ch <= "\x7e" for ch in token):
            raise forms.ValidationError("Printable ASCII characters without spaces only.")
        return token


class IssuedTokenForm(forms.ModelForm):
    revoke = forms.BooleanField(
        required=False, help_text="Final: a revoked token never works again."
    )

    class Meta:
        model = IssuedToken
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.revoked_at is not None:
            self.fields["revoke"].initial = True
            self.fields["revoke"].disabled = True

    def save(self, commit=True):
        if self.cleaned_data.get("revoke") and self.instance.revoked_at is None:
            self.instance.revoked_at = timezone.now()
        return super().save(commit)
