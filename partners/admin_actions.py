"""What an operator does to a partner from the admin: each operation calls one service, is
allowed to whoever has its permission, and applies only in some states. The irreversible
ones (new tokens, which cut the partner off from the old ones, and unregistering) ask for
confirmation on their own page first, like Django's delete confirmation; a new token is
shown once, on the page that answers the confirmation, never in a message or a cookie.
"""

from collections.abc import Callable
from dataclasses import dataclass

from .models import IssuedToken, Partner
from .services import (
    NotAllowedInThisState,
    partner_issue_token,
    partner_reinvite,
    partner_resume,
    partner_suspend,
)
from .unregistration import partner_unregister_by_us

State = Partner.State


@dataclass(frozen=True)
class Outcome:
    partner: Partner
    done: bool
    text: str
    token: str = ""


@dataclass(frozen=True)
class Operation:
    name: str
    label: str
    # The ModelAdmin permission it needs: "change" (partners.change_partner) or
    # "manage_tokens" (partners.manage_partner_tokens).
    permission: str
    states: tuple[str, ...]
    confirm: bool
    warning: str
    run: Callable[[Partner], tuple[str, str]]  # (what was done, new token or "")
    # Operations that call the partner (up to OCPI_HANDSHAKE_DEADLINE each) run for this
    # many partners per request at most, so that a selection stays within the web server's
    # request timeout.
    max_at_once: int | None = None


def _rotate_token_c(partner: Partner) -> tuple[str, str]:
    token = partner_issue_token(partner=partner, kind=IssuedToken.Kind.C)
    return f"New token C for {partner.name}; its earlier token C no longer works.", token


def _new_token_a(partner: Partner) -> tuple[str, str]:
    token = partner_reinvite(partner=partner)
    return f"{partner.name} is pending with a new token A; earlier tokens no longer work.", token


def _unregister(partner: Partner) -> tuple[str, str]:
    told = partner_unregister_by_us(partner=partner)
    return f"{partner.name} is unregistered; our tokens for it are revoked. Partner {told}.", ""


def _suspend(partner: Partner) -> tuple[str, str]:
    partner_suspend(partner=partner)
    return f"{partner.name} is suspended.", ""


def _resume(partner: Partner) -> tuple[str, str]:
    partner_resume(partner=partner)
    return f"{partner.name} is registered again; a full sync of the Locations is queued.", ""


OPERATIONS = {
    op.name: op
    for op in [
        Operation(
            name="rotate_token_c",
            label="Issue a new token C (shown once) and revoke the old one…",
            permission="manage_tokens",
            states=(State.REGISTERED, State.SUSPENDED),
            confirm=True,
            warning="The partner's current token C stops working at once: it gets HTTP 401 "
            "until it uses the new one, which you must send it through a secure channel.",
            run=_rotate_token_c,
        ),
        Operation(
            name="new_token_a",
            label="Invite again: a new token A (shown once)…",
            permission="manage_tokens",
            states=(State.PENDING, State.UNREGISTERED),
            confirm=True,
            warning="Every earlier token of the partner stops working; it registers again "
            "with the new token A (OCPI credentials POST).",
            run=_new_token_a,
        ),
        Operation(
            name="unregister",
            label="Unregister (OCPI credentials DELETE)…",
            permission="change",
            states=(State.REGISTERED, State.SUSPENDED),
            confirm=True,
            warning="We tell the partner with a DELETE on its credentials endpoint, revoke "
            "every token we issued for it and forget its token for us; pushes stop. This "
            "cannot be undone: to work together again, the partner registers anew.",
            run=_unregister,
            max_at_once=2,
        ),
        Operation(
            name="suspend",
            label="Suspend (refuse their calls, push nothing)",
            permission="change",
            states=(State.REGISTERED,),
            confirm=False,
            warning="",
            run=_suspend,
        ),
        Operation(
            name="resume",
            label="Resume a suspended partner (then a full sync)",
            permission="change",
            states=(State.SUSPENDED,),
            confirm=False,
            warning="",
            run=_resume,
        ),
    ]
}


def run_operation(operation: Operation, partners: list[Partner]) -> list[Outcome]:
    outcomes = []
    for partner in partners:
        if partner.state not in operation.states:
            outcomes.append(
                Outcome(partner, False, f"{partner.name} was left alone: it is {partner.state}.")
            )
            continue
        try:
            text, token = operation.run(partner)
        except NotAllowedInThisState as exc:  # changed meanwhile
            outcomes.append(Outcome(partner, False, f"{partner.name} was left alone: {exc}."))
        else:
            outcomes.append(Outcome(partner, True, text, token))
    return outcomes
