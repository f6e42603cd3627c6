"""Users, passwords, password-reset links and API tokens.

Passwords are hashed with argon2id (argon2-cffi's defaults, rehashed on sign-in when those
change). A reset link is signed with the secret key and names the user's `session_epoch`, so it
works once: setting the password bumps the epoch, which also ends every open session."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from distribute.contacts.addresses import normalise
from distribute.errors import Conflict, NotFound, UserError
from distribute.models import ApiToken, User, utcnow
from distribute.services import audit
from distribute.services.actor import ADMIN, MANAGE, ROLES, Actor, check_role, require

MIN_PASSWORD, MAX_PASSWORD = 10, 1024
RESET_VALID_SECONDS = 3 * 24 * 3600
TOKEN_PREFIX = "dst_"

_hasher = PasswordHasher()
# Verified against when the email is unknown, so that a sign-in takes as long either way.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def user_dict(user: User) -> dict[str, Any]:
    return {"id": user.id, "email": user.email, "name": user.name, "role": user.role, "active": user.active,
            "has_password": user.password_hash is not None, "created_at": user.created_at.isoformat(),
            "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None}


def actor_for(user: User, via: str) -> Actor:
    return Actor(user.email, user.role, user.id, via)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password is too short: at least {MIN_PASSWORD} characters", field="password")
    if len(password) > MAX_PASSWORD:
        raise UserError(f"the password is too long: at most {MAX_PASSWORD} characters", field="password")


def _email(raw: str) -> str:
    return normalise(raw)[1]


def find_user(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == _email(email)))
    if user is None:
        raise NotFound(f"no user {email.strip()!r}", field="email")
    return user


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


def list_users(session: Session, actor: Actor) -> list[dict]:
    require(actor, MANAGE)
    return [user_dict(u) for u in session.scalars(select(User).order_by(User.email))]


def add_user(session: Session, actor: Actor, email: str, *, role: str, name: str = "",
             password: str | None = None) -> dict:
    require(actor, MANAGE)
    check_role(role)
    key = _email(email)
    if session.scalar(select(User.id).where(User.email == key)) is not None:
        raise Conflict(f"a user {key} already exists", field="email")
    if password is not None:
        _check_password(password)
    user = User(email=key, name=name.strip(), role=role,
                password_hash=_hasher.hash(password) if password is not None else None)
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.add", f"user:{user.id}", {"email": key, "role": role})
    return user_dict(user)


def _active_admins(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User).where(User.role == ADMIN, User.active))


def set_role(session: Session, actor: Actor, email: str, role: str) -> dict:
    require(actor, MANAGE)
    check_role(role)
    user = find_user(session, email)
    if user.role == ADMIN and role != ADMIN and user.active and _active_admins(session) == 1:
        raise Conflict("this is the last admin: make another user admin first", field="role")
    before, user.role = user.role, role
    # A role lowered is lowered everywhere at once: open sessions end, tokens above it are revoked.
    user.session_epoch += 1
    for token in session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))):
        if ROLES.index(token.role) > ROLES.index(role):
            token.revoked_at = utcnow()
    audit.record(session, actor, "user.role", f"user:{user.id}", {"email": user.email, "from": before, "to": role})
    return user_dict(user)


def deactivate(session: Session, actor: Actor, email: str) -> dict:
    """A user who leaves is deactivated, not deleted: the audit log keeps naming them."""
    require(actor, MANAGE)
    user = find_user(session, email)
    if user.role == ADMIN and user.active and _active_admins(session) == 1:
        raise Conflict("this is the last admin: make another user admin first")
    user.active = False
    user.session_epoch += 1
    now = utcnow()
    for token in session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))):
        token.revoked_at = now
    audit.record(session, actor, "user.deactivate", f"user:{user.id}", {"email": user.email})
    return user_dict(user)


# --- signing in --------------------------------------------------------------------------------
def authenticate(session: Session, email: str, password: str, *, via: str = "web") -> Actor | None:
    """The actor for a good email and password, or None (the caller says only "wrong email or
    password", whichever it was)."""
    try:
        key = _email(email)
    except UserError:
        key = None
    user = session.scalar(select(User).where(User.email == key)) if key else None
    if user is None or not user.active or user.password_hash is None:
        _verify(_DUMMY_HASH, password)
        return None
    if not _verify(user.password_hash, password):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    return actor_for(user, via)


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password[:MAX_PASSWORD])
    except (VerificationError, InvalidHashError):
        return False


def session_is_current(session: Session, user_id: int, epoch: int) -> Actor | None:
    """The actor of a web session opened at `epoch`, or None once it has ended (signed out
    everywhere, password changed, role changed, user deactivated)."""
    user = session.get(User, user_id)
    if user is None or not user.active or user.session_epoch != epoch:
        return None
    return actor_for(user, "web")


def epoch_of(session: Session, user_id: int) -> int:
    return get_user(session, user_id).session_epoch


def end_sessions(session: Session, actor: Actor) -> None:
    """Sign the actor out everywhere."""
    user = get_user(session, actor.user_id)
    user.session_epoch += 1
    audit.record(session, actor, "user.sign_out_everywhere", f"user:{user.id}")


def change_password(session: Session, actor: Actor, current: str, new: str) -> None:
    user = get_user(session, actor.user_id)
    if user.password_hash is None or not _verify(user.password_hash, current):
        raise UserError("the current password is wrong", field="current_password")
    _set_password(user, new)
    audit.record(session, actor, "user.password", f"user:{user.id}")


def _set_password(user: User, password: str) -> None:
    _check_password(password)
    user.password_hash = _hasher.hash(password)
    user.session_epoch += 1


# --- reset links -------------------------------------------------------------------------------
def _reset_serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="distribute.password-reset")


def reset_token(session: Session, actor: Actor, email: str, secret: str) -> str:
    """A token for a link the admin hands over; it works once, for RESET_VALID_SECONDS."""
    require(actor, MANAGE)
    user = find_user(session, email)
    if not user.active:
        raise Conflict(f"{user.email} is deactivated")
    audit.record(session, actor, "user.reset_link", f"user:{user.id}", {"email": user.email})
    return _reset_serializer(secret).dumps([user.id, user.session_epoch])


def invite(session: Session, actor: Actor, email: str, *, role: str, name: str, secret: str) -> tuple[dict, str]:
    """A new user with no password yet, and the reset token of the link where they set one."""
    user = add_user(session, actor, email, role=role, name=name)
    return user, reset_token(session, actor, user["email"], secret)


def user_for_reset(session: Session, token: str, secret: str) -> User:
    try:
        user_id, epoch = _reset_serializer(secret).loads(token, max_age=RESET_VALID_SECONDS)
    except SignatureExpired:
        raise UserError("this link has expired: ask an admin for a new one", code="expired") from None
    except (BadSignature, ValueError, TypeError):
        raise UserError("this link is not valid: ask an admin for a new one", code="invalid_link") from None
    user = session.get(User, user_id)
    if user is None or not user.active or user.session_epoch != epoch:
        raise UserError("this link has been used or replaced: ask an admin for a new one", code="invalid_link")
    return user


def reset_password(session: Session, token: str, password: str, secret: str) -> dict:
    user = user_for_reset(session, token, secret)
    _set_password(user, password)
    audit.record(session, actor_for(user, "web"), "user.password_reset", f"user:{user.id}")
    return user_dict(user)


# --- API tokens --------------------------------------------------------------------------------
def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_dict(token: ApiToken, email: str) -> dict[str, Any]:
    return {"id": token.id, "user": email, "name": token.name, "role": token.role, "prefix": token.prefix,
            "created_at": token.created_at.isoformat(),
            "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
            "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None}


def create_token(session: Session, actor: Actor, email: str, name: str, role: str | None = None) -> tuple[str, dict]:
    """(the token, shown once; its record). Its role defaults to the user's and is never above it."""
    require(actor, MANAGE)
    user = find_user(session, email)
    role = check_role(role or user.role)
    if not user.active:
        raise Conflict(f"{user.email} is deactivated")
    if ROLES.index(role) > ROLES.index(user.role):
        raise UserError(f"a token cannot have more than its user's role ({user.role})", field="role")
    if not name.strip():
        raise UserError("a token needs a name saying what uses it", field="name")
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name.strip()[:200], role=role, prefix=plain[:12], digest=_digest(plain))
    session.add(token)
    session.flush()
    audit.record(session, actor, "token.create", f"token:{token.id}", {"user": user.email, "name": token.name, "role": role})
    return plain, token_dict(token, user.email)


def list_tokens(session: Session, actor: Actor) -> list[dict]:
    require(actor, MANAGE)
    rows = session.execute(select(ApiToken, User.email).join(User).order_by(ApiToken.id)).all()
    return [token_dict(token, email) for token, email in rows]


def revoke_token(session: Session, actor: Actor, token_id: int) -> dict:
    require(actor, MANAGE)
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"no API token {token_id}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(session, actor, "token.revoke", f"token:{token.id}", {"name": token.name})
    return token_dict(token, session.get(User, token.user_id).email)


def actor_for_token(session: Session, plain: str) -> Actor | None:
    """The actor a bearer token acts as, or None for an unknown, revoked or orphaned token."""
    if not plain.startswith(TOKEN_PREFIX) or len(plain) > 100:
        return None
    row = session.execute(select(ApiToken, User).join(User).where(ApiToken.digest == _digest(plain))).first()
    if row is None:
        return None
    token, user = row
    if token.revoked_at is not None or not user.active:
        return None
    token.last_used_at = utcnow()
    return Actor(user.email, token.role, user.id, "api")
