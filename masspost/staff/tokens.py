"""REST API tokens (docs/api.md, "Tokens"): made and revoked by admins (services), looked up on every API
request (`token_scope`), and the per-token rate limit (`token_rate_take`).

A token is `mp_` and 43 characters of `secrets.token_urlsafe` (256 bits). It is shown once, when made; only its
SHA-256 is stored. It acts for its user with the user's clinics and role as they are at each request: there is
no copy of them to go stale, and disabling the user stops their tokens too.

Who may make a token for whom (`token_may_make`): an admin for themselves, and for the staff they manage whose
role is below theirs (preparers, senders) — never for another admin, who could then be acted as; the command
line (the operator) for anyone. A role raised later revokes the tokens others made for the user
(staff.services.staff_change), so a demotion, a token and a promotion cannot get round it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, FloatField, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from masspost.campaigns.audit import audit_record
from masspost.clinic.scope import ActorKind, Role, Scope
from masspost.content.header import header_problem
from masspost.errors import MasspostError, NotFoundError, PermissionDeniedError
from masspost.staff.models import ApiToken, StaffMember
from masspost.staff.selectors import staff_scope
from masspost.staff.services import _member

TOKEN_PREFIX = "mp_"
SHOWN_PREFIX = 10  # "mp_" and 7 characters: enough to tell tokens apart in a list, far too few to guess from
NAME_MAX = 100


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, kw_only=True, slots=True)
class NewToken:
    username: str
    name: str
    prefix: str
    secret: str  # the whole token: shown once, never stored


def _name(name: str) -> str:
    """A token's name as stored: runs of white space as one space, none at the ends."""
    return " ".join(name.split())


def token_may_make(*, scope: Scope, user_id: int, role: str) -> bool:
    """Whether `scope` may make a token for the user `user_id` whose role is `role` (the module's rule): for
    themselves, for a lower role, or from the command line. The admin must also manage the user (`_member`)."""
    return scope.may(Role.ADMIN) and (scope.kind is ActorKind.COMMAND_LINE or user_id == scope.user_id
                                      or Role(role).rank < scope.role.rank)


def token_create(*, scope: Scope, username: str, name: str = "") -> NewToken:
    """A new token for `username`, whom the admin must manage (another clinic's user is "not found") and may
    make one for (`token_may_make`; PermissionDeniedError otherwise). Names are unique among a user's live tokens;
    without one, the token is called "api", "api-2", …"""
    scope.require(Role.ADMIN)
    member = _member(username, scope)
    if not token_may_make(scope=scope, user_id=member.user_id, role=member.role):
        raise PermissionDeniedError(f"a token for {username!r} can be made only by them or at the command line: "
                                    f"an admin makes tokens for themselves and for staff of a lower role")
    if not member.user.is_active:
        raise MasspostError(f"user {username!r} is disabled: a token of theirs would be refused at every request")
    name = _name(name)
    if (problem := header_problem(name)) is not None:
        raise MasspostError(f"a token name is one line of printable characters: {problem[1]} at character "
                            f"{problem[0]}")
    if len(name) > NAME_MAX:
        raise MasspostError(f"a token name has at most {NAME_MAX} characters")
    live = set(ApiToken.objects.filter(user_id=member.user_id, revoked_at=None).values_list("name", flat=True))
    if not name:
        name = next(n for n in ("api", *(f"api-{i}" for i in range(2, len(live) + 3))) if n not in live)
    elif name in live:
        raise MasspostError(f"user {username!r} has a token named {name!r} already: revoke it or choose another name")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            ApiToken.objects.create(user_id=member.user_id, name=name, prefix=secret[:SHOWN_PREFIX],
                                    digest=_digest(secret), created_by=scope.who)
            audit_record(scope=scope, action="token_create",
                         detail={"user": username, "token": name, "prefix": secret[:SHOWN_PREFIX]})
    except IntegrityError:  # another admin made one of that name at the same moment
        raise MasspostError(f"user {username!r} has a token named {name!r} already") from None
    return NewToken(username=username, name=name, prefix=secret[:SHOWN_PREFIX], secret=secret)


def token_revoke(*, scope: Scope, name: str, username: str = "", user_id: int | None = None) -> None:
    """The token stops working at once (its next request is 401). It stays listed as revoked. The user by name,
    or by id (the staff page: a name stored before staff.names may not survive a form)."""
    scope.require(Role.ADMIN)
    member = _member(username, scope, user_id=user_id)
    username = member.user.get_username()
    if header_problem(name) is not None:  # no token has such a name (token_create), and PostgreSQL takes no NUL
        raise NotFoundError(f"user {username!r} has no live token of that name")
    with transaction.atomic():
        revoked = ApiToken.objects.filter(user_id=member.user_id, name=_name(name), revoked_at=None).update(
            revoked_at=timezone.now())
        if not revoked:
            raise NotFoundError(f"user {username!r} has no live token named {name!r}")
        audit_record(scope=scope, action="token_revoke", detail={"user": username, "token": _name(name)})


@dataclass(frozen=True, kw_only=True, slots=True)
class TokenRow:
    user_id: int
    username: str
    name: str
    prefix: str
    created_at: dt.datetime
    created_by: str
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


def token_list(*, scope: Scope, revoked: bool = False) -> list[TokenRow]:
    """The tokens of the staff an admin manages (as on the staff page), by user and name; live ones only unless
    `revoked`."""
    scope.require(Role.ADMIN)
    managed = StaffMember.objects.prefetch_related("clinics")
    user_ids = [m.user_id for m in managed
                if scope.clinic_ids is None or {c.id for c in m.clinics.all()} <= scope.clinic_ids]
    tokens = ApiToken.objects.filter(user_id__in=user_ids).select_related("user").order_by(
        "user__username", F("revoked_at").asc(nulls_first=True), "name", "id")  # live ones first, on either database
    if not revoked:
        tokens = tokens.filter(revoked_at=None)
    return [TokenRow(user_id=t.user_id, username=t.user.get_username(), name=t.name, prefix=t.prefix,
                     created_at=t.created_at, created_by=t.created_by, last_used_at=t.last_used_at,
                     revoked_at=t.revoked_at) for t in tokens]


@dataclass(frozen=True, kw_only=True, slots=True)
class TokenScope:
    scope: Scope
    token_id: int
    name: str


def token_scope(*, secret: str, address: str = "") -> TokenScope | None:
    """What a bearer token reaches: its user's Scope (from staff_scope, the one place it is built), marked
    `via="api:NAME"` for the audit log. None for anything that is not a live token of an active member of
    staff — the API answers all of those alike (401)."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    token = ApiToken.objects.select_related("user").filter(digest=_digest(secret), revoked_at=None).first()
    if token is None:
        return None
    scope = staff_scope(user=token.user, address=address)
    if scope is None:
        return None
    return TokenScope(scope=dataclasses.replace(scope, via=f"api:{token.name}"), token_id=token.id,
                      name=token.name)


def token_rate_take(*, token_id: int, now: float | None = None) -> float:
    """Take one request from the token's allowance: 0.0 when it may go ahead, else the seconds until it may
    (Retry-After). GCRA (a token bucket in one number): MASSPOST_API_RATE requests a second, bursts of up to
    MASSPOST_API_BURST. One UPDATE, in the database, so the limit holds across workers and machines; it also
    stamps the token's last use."""
    rate, burst = settings.MASSPOST_API_RATE, settings.MASSPOST_API_BURST
    now = time.time() if now is None else now
    stamp = timezone.now()
    if rate <= 0:
        ApiToken.objects.filter(id=token_id).update(last_used_at=stamp)
        return 0.0
    interval = 1.0 / rate
    tolerance = interval * max(burst - 1, 0)
    taken = ApiToken.objects.filter(id=token_id, rate_tat__lte=now + tolerance).update(
        rate_tat=Greatest(F("rate_tat"), Value(now, output_field=FloatField())) + interval, last_used_at=stamp)
    if taken:
        return 0.0
    tat = ApiToken.objects.filter(id=token_id).values_list("rate_tat", flat=True).first() or now
    return max(tat - tolerance - now, 0.001)
