"""Signing in and out: passwords, access and refresh tokens, password resets, failed logins.

Every method commits what it changed before returning or raising, so that a failed login is
counted even though the request fails, and a replayed refresh token stays revoked.
"""

from datetime import UTC, datetime
from uuid import UUID, uuid4

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import AuthenticationError, InvalidCredentialsError, TooManyAttemptsError
from app.core.mail import Email
from app.models.user import User
from app.repos.login_failure import LoginFailureRepository
from app.repos.refresh_token import RefreshTokenRepository
from app.repos.reset_token import ResetTokenRepository
from app.repos.user import UserRepository
from app.schemas.auth import TokenPair
from app.schemas.user import UserRead
from app.security.credentials import Credentials
from app.security.principal import Principal
from app.security.tokens import AccessClaims, InvalidTokenError, new_token, token_digest

# One message for an unknown email, a wrong password and an inactive account: the answer must
# not tell which accounts exist.
WRONG_LOGIN = "Incorrect email or password."
INVALID_ACCESS_TOKEN = "The access token is invalid, expired or revoked; sign in again."  # noqa: S105
INVALID_REFRESH_TOKEN = "The refresh token is invalid, expired or revoked; sign in again."  # noqa: S105


class AuthService:
    def __init__(
        self, session: AsyncSession, credentials: Credentials, principal: Principal | None = None
    ) -> None:
        self.session = session
        self.credentials = credentials
        self.principal = principal
        self.users = UserRepository(session)
        self.refresh_tokens = RefreshTokenRepository(session)
        self.reset_tokens = ResetTokenRepository(session)
        self.failures = LoginFailureRepository(session)

    async def principal_of(self, access_token: str) -> Principal:
        """Who the token is for: a valid token of an active user whose sessions it has not
        outlived (same `session_version`)."""
        try:
            claims = self.credentials.access_tokens.decode(access_token)
        except InvalidTokenError:
            raise AuthenticationError(INVALID_ACCESS_TOKEN, token_sent=True) from None
        user = await self.users.load_entity(claims.user_id)
        if user is None or not user.is_active or user.session_version != claims.session_version:
            raise AuthenticationError(INVALID_ACCESS_TOKEN, token_sent=True)
        # The token's scopes, but never more than the user has now.
        return Principal(user.id, claims.scopes & frozenset(user.scopes))

    async def login(self, email: str, password: str, client: str) -> TokenPair:
        now = datetime.now(UTC)
        account, client_key = f"account:{email}", f"client:{client}"
        await self._check_attempts(account, client_key, now)
        user = await self.users.by_email(email)
        matches, new_hash = await self.credentials.passwords.verify(
            password, user.password_hash if user is not None else None
        )
        if user is None or not matches or not user.is_active:
            window_start = now - self.credentials.failure_window
            await self.failures.record([account, client_key], now, window_start)
            await self.session.commit()
            raise AuthenticationError(WRONG_LOGIN)
        if new_hash is not None:  # the hashing parameters changed since: upgrade the hash
            user.password_hash = new_hash
        await self.failures.forget(account)
        return await self._start_session(user, now)

    async def refresh(self, refresh_token: str) -> TokenPair:
        """New tokens for a live refresh token, which is used up. A used token presented again
        means it leaked (or a client raced itself): its whole family is revoked."""
        now = datetime.now(UTC)
        digest = token_digest(refresh_token)
        used = await self.refresh_tokens.use(digest, now)
        if used is None:
            if (family := await self.refresh_tokens.family_of(digest)) is not None:
                await self.refresh_tokens.revoke_family(family, now)
                await self.session.commit()
            raise AuthenticationError(INVALID_REFRESH_TOKEN, token_sent=True)
        user = await self.users.load_entity(used.user_id)
        if user is None or not user.is_active:
            await self.session.commit()
            raise AuthenticationError(INVALID_REFRESH_TOKEN, token_sent=True)
        return await self._issue(user, used.family_id, now)

    async def logout(self, refresh_token: str) -> None:
        """End one session: the refresh token's family (its access tokens expire soon)."""
        now = datetime.now(UTC)
        if (family := await self.refresh_tokens.family_of(token_digest(refresh_token))) is None:
            return
        await self.refresh_tokens.revoke_family(family, now)
        await self.session.commit()

    async def register(self, email: str, password: str) -> UserRead:
        """A new user without scopes (open sign-up); 409 if the email is taken."""
        password_hash = await self.credentials.passwords.hash(password)
        user = await self.users.add(User(email=email, password_hash=password_hash))
        await self.users.commit()
        return self.users.record_of(user)

    async def logout_everywhere(self) -> None:
        """End every session of the caller: access tokens at once, refresh tokens too."""
        user = await self._caller()
        await self._end_sessions(user, datetime.now(UTC))
        await self.users.commit()

    async def change_password(
        self, current_password: str, new_password: str, client: str
    ) -> TokenPair:
        """Change the caller's password (the current one is asked again), end every other
        session and start a new one for the caller."""
        now = datetime.now(UTC)
        user = await self._caller()
        account, client_key = f"account:{user.email}", f"client:{client}"
        await self._check_attempts(account, client_key, now)
        matches, _ = await self.credentials.passwords.verify(current_password, user.password_hash)
        if not matches:
            window_start = now - self.credentials.failure_window
            await self.failures.record([account, client_key], now, window_start)
            await self.session.commit()
            raise InvalidCredentialsError("The current password is wrong.")
        user.password_hash = await self.credentials.passwords.hash(new_password)
        await self._end_sessions(user, now)
        return await self._start_session(user, now)

    async def request_reset(self, email: str, link: str) -> Email | None:
        """A reset email for an active account, or None; the caller answers the same either way
        and sends the email after answering (`link` gets the token appended)."""
        user = await self.users.by_email(email)
        if user is None or not user.is_active:
            return None
        token = new_token()
        expires_at = datetime.now(UTC) + self.credentials.reset_lifetime
        await self.reset_tokens.add(user.id, token_digest(token), expires_at)
        await self.session.commit()
        minutes = int(self.credentials.reset_lifetime.total_seconds() // 60)
        body = (
            f"Someone asked to reset the password of {user.email}. If it was you, open\n\n"
            f"{link}{token}\n\nwithin {minutes} minutes. Otherwise, ignore this email."
        )
        return Email(to=user.email, subject="Reset your password", body=body)

    async def reset_password(self, token: str, new_password: str) -> None:
        """Set a new password with a reset token (used up), and end every session."""
        now = datetime.now(UTC)
        user_id = await self.reset_tokens.use(token_digest(token), now)
        user = await self.users.load_entity(user_id) if user_id is not None else None
        if user is None or not user.is_active:
            await self.session.rollback()
            raise InvalidCredentialsError("The reset token is invalid, expired or used.")
        user.password_hash = await self.credentials.passwords.hash(new_password)
        await self.reset_tokens.discard_all_of(user.id, now)
        await self.failures.forget(f"account:{user.email}")
        await self._end_sessions(user, now)
        await self.users.commit()

    async def _caller(self) -> User:
        user = await self.users.load_entity(self.principal.user_id) if self.principal else None
        if user is None:
            raise AuthenticationError(INVALID_ACCESS_TOKEN, token_sent=True)
        return user

    async def _check_attempts(self, account: str, client: str, now: datetime) -> None:
        since = now - self.credentials.failure_window
        counts = await self.failures.counts_since([account, client], since)
        if (
            counts.get(account, 0) >= self.credentials.max_failures
            or counts.get(client, 0) >= self.credentials.max_failures_per_client
        ):
            raise TooManyAttemptsError(
                "Too many failed sign-ins; try again later.",
                retry_after_seconds=int(self.credentials.failure_window.total_seconds()),
            )

    async def _end_sessions(self, user: User, now: datetime) -> None:
        user.session_version += 1
        await self.refresh_tokens.revoke_all_of(user.id, now)

    async def _start_session(self, user: User, now: datetime) -> TokenPair:
        return await self._issue(user, uuid4(), now)

    async def _issue(self, user: User, family_id: UUID, now: datetime) -> TokenPair:
        refresh_token = new_token()
        expires_at = now + self.credentials.refresh_lifetime
        await self.refresh_tokens.add(user.id, family_id, token_digest(refresh_token), expires_at)
        claims = AccessClaims(user.id, user.session_version, frozenset(user.scopes))
        await self.users.commit()
        tokens = self.credentials.access_tokens
        return TokenPair(
            access_token=tokens.issue(claims, now),
            expires_in=int(tokens.lifetime.total_seconds()),
            refresh_token=refresh_token,
            refresh_expires_in=int(self.credentials.refresh_lifetime.total_seconds()),
        )
