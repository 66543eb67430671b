"""Second factor: TOTP (RFC 6238, what authenticator apps speak) and single-use recovery codes.

Enrolment is two steps: `begin` stores a fresh secret (encrypted with a key derived from the server secret) and
hands back the provisioning URI; `confirm` checks a first code, turns the factor on and returns the recovery
codes, which are shown that once and stored only as HMAC digests. A code is accepted once: the time step of the
last accepted code is remembered, so a code seen over someone's shoulder cannot be replayed.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyotp
from sqlalchemy import ForeignKey, Integer, String, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.accounts.access_tokens import PasswordSessionRequired
from dockyard.accounts.errors import AccountsError
from dockyard.accounts.models import Account
from dockyard.accounts.passwords import verify_password_async
from dockyard.accounts.permissions import Subject
from dockyard.accounts.sessions import HubTokens
from dockyard.db.base import Base, UTCDateTime, utcnow
from dockyard.events import AuditEvent, EventBus

ISSUER = "Dockyard"
RECOVERY_CODE_COUNT = 10
TOTP_STEP_SECONDS = 30


def current_time() -> float:
    """The clock codes are checked against (tests pin it, so a code never straddles a step boundary)."""
    return time.time()


class TotpDevice(Base):
    """An account's authenticator: pending until `confirmed_at` is set by a first valid code."""

    __tablename__ = "totp_devices"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    secret: Mapped[str] = mapped_column(String(255))  # encrypted, see HubTokens.encrypt
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_step: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RecoveryCode(Base):
    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TwoFactorStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def device(self, account_id: int) -> TotpDevice | None:
        return await self.session.get(TotpDevice, account_id)

    async def is_enabled(self, account_id: int) -> bool:
        result = await self.session.execute(
            select(TotpDevice.account_id).where(
                TotpDevice.account_id == account_id, TotpDevice.confirmed_at.is_not(None)
            )
        )
        return result.first() is not None

    async def remaining_codes(self, account_id: int) -> int:
        result = await self.session.execute(
            select(func.count()).where(RecoveryCode.account_id == account_id, RecoveryCode.used_at.is_(None))
        )
        return int(result.scalar_one())

    async def unused_code(self, account_id: int, code_hash: str) -> RecoveryCode | None:
        result = await self.session.execute(
            select(RecoveryCode).where(
                RecoveryCode.account_id == account_id,
                RecoveryCode.code_hash == code_hash,
                RecoveryCode.used_at.is_(None),
            )
        )
        return result.scalars().first()

    async def replace_codes(self, account_id: int, hashes: Sequence[str]) -> None:
        await self.session.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account_id))
        self.session.add_all(RecoveryCode(account_id=account_id, code_hash=h, created_at=utcnow()) for h in hashes)
        await self.session.flush()

    async def remove(self, account_id: int) -> None:
        await self.session.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account_id))
        await self.session.execute(delete(TotpDevice).where(TotpDevice.account_id == account_id))
        await self.session.flush()


class TwoFactorError(AccountsError):
    status = 400
    code = "invalid"


class TwoFactorConflict(AccountsError):
    status = 409
    code = "conflict"


class NotVerified(AccountsError):
    status = 401
    code = "unauthorized"


@dataclass(frozen=True)
class Enrolment:
    secret: str
    provisioning_uri: str


@dataclass(frozen=True)
class Status:
    enabled: bool
    pending: bool
    recovery_codes_remaining: int


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def new_recovery_codes() -> list[str]:
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = secrets.token_hex(5)
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


class TwoFactor:
    def __init__(self, session: AsyncSession, tokens: HubTokens, bus: EventBus | None = None) -> None:
        self.store = TwoFactorStore(session)
        self.tokens = tokens
        self.bus = bus

    # --- verifying -----------------------------------------------------------------------------------------
    def _totp(self, device: TotpDevice) -> pyotp.TOTP | None:
        secret = self.tokens.decrypt(device.secret)
        return pyotp.TOTP(secret, interval=TOTP_STEP_SECONDS) if secret else None

    def _matching_step(self, totp: pyotp.TOTP, code: str, now: float) -> int | None:
        """The time step `code` belongs to, allowing one step of clock drift either way."""
        digits = normalise_code(code)
        if len(digits) != totp.digits or not digits.isdigit():
            return None
        current = int(now // TOTP_STEP_SECONDS)
        for step in (current, current - 1, current + 1):
            if secrets.compare_digest(totp.generate_otp(step), digits):
                return step
        return None

    async def _accept_totp(self, device: TotpDevice, code: str) -> bool:
        totp = self._totp(device)
        step = self._matching_step(totp, code, current_time()) if totp else None
        if step is None or (device.last_step is not None and step <= device.last_step):
            return False
        device.last_step = step
        await self.store.session.flush()
        return True

    async def verify(self, account_id: int, code: str) -> bool:
        """Accept a current TOTP code or an unused recovery code (which is then spent). Needs a write session."""
        device = await self.store.device(account_id)
        if device is None or device.confirmed_at is None:
            return False
        if await self._accept_totp(device, code):
            return True
        recovery = await self.store.unused_code(account_id, self.tokens.digest(normalise_code(code)))
        if recovery is None:
            return False
        recovery.used_at = datetime.now(UTC)
        await self.store.session.flush()
        return True

    async def is_enabled(self, account_id: int) -> bool:
        return await self.store.is_enabled(account_id)

    # --- managing ------------------------------------------------------------------------------------------
    async def status(self, subject: Subject) -> Status:
        account_id = _user(subject)
        device = await self.store.device(account_id)
        return Status(
            enabled=device is not None and device.confirmed_at is not None,
            pending=device is not None and device.confirmed_at is None,
            recovery_codes_remaining=await self.store.remaining_codes(account_id),
        )

    async def begin(self, subject: Subject) -> Enrolment:
        account_id = _user(subject)
        device = await self.store.device(account_id)
        if device is not None and device.confirmed_at is not None:
            raise TwoFactorConflict("two-factor authentication is already enabled; disable it first")
        secret = pyotp.random_base32()
        if device is None:
            device = TotpDevice(account_id=account_id, created_at=datetime.now(UTC), secret="")
            self.store.session.add(device)
        device.secret = self.tokens.encrypt(secret)
        device.last_step = None
        await self.store.session.flush()
        uri = pyotp.TOTP(secret, interval=TOTP_STEP_SECONDS).provisioning_uri(
            name=subject.username or "", issuer_name=ISSUER
        )
        return Enrolment(secret, uri)

    async def confirm(self, subject: Subject, code: str) -> list[str]:
        account_id = _user(subject)
        device = await self.store.device(account_id)
        if device is None:
            raise TwoFactorConflict("start enrolment first")
        if device.confirmed_at is not None:
            raise TwoFactorConflict("two-factor authentication is already enabled")
        if not await self._accept_totp(device, code):
            raise TwoFactorError("the code is not valid; check the authenticator's clock and try again")
        device.confirmed_at = datetime.now(UTC)
        codes = await self._new_codes(account_id)
        self._publish(subject, "user.2fa.enable")
        return codes

    async def disable(self, subject: Subject, *, code: str | None, password: str | None) -> None:
        """Turn the second factor off (or abandon an enrolment), given a current code or the password."""
        account_id = _user(subject)
        if await self.store.device(account_id) is None:
            raise TwoFactorConflict("two-factor authentication is not enabled")
        await self._reauthenticate(account_id, code=code, password=password)
        await self.store.remove(account_id)
        self._publish(subject, "user.2fa.disable")

    async def regenerate(self, subject: Subject, *, code: str | None, password: str | None) -> list[str]:
        """Replace the recovery codes (the old ones stop working), given a current code or the password."""
        account_id = _user(subject)
        if not await self.store.is_enabled(account_id):
            raise TwoFactorConflict("two-factor authentication is not enabled")
        await self._reauthenticate(account_id, code=code, password=password)
        return await self._new_codes(account_id)

    async def _reauthenticate(self, account_id: int, *, code: str | None, password: str | None) -> None:
        """A current code or the password proves the person at the keyboard is the account's owner."""
        if code and await self.verify(account_id, code):
            return
        account = await self.store.session.get(Account, account_id)
        hashed = account.password_hash if account is not None else None
        if password and hashed and await verify_password_async(hashed, password):
            return
        if not code and not password:
            raise TwoFactorError("a current code or the password is required")
        raise NotVerified("the code or password is not valid")

    async def _new_codes(self, account_id: int) -> list[str]:
        codes = new_recovery_codes()
        await self.store.replace_codes(account_id, [self.tokens.digest(normalise_code(c)) for c in codes])
        return codes

    def _publish(self, subject: Subject, action: str, **data: Any) -> None:
        if self.bus is not None and subject.username:
            self.bus.publish(
                AuditEvent(
                    account=subject.username,
                    actor=subject.username,
                    action=action,
                    name=subject.username,
                    data=data,
                    time=datetime.now(UTC),
                )
            )


def _user(subject: Subject) -> int:
    if subject.account_id is None or subject.token_id is not None:
        raise PasswordSessionRequired("two-factor settings are managed from a session signed in with a password")
    return subject.account_id
