"""The venue's exception taxonomy. Callers branch on the class, never on the message.

Answers to an order POST are not exceptions: ``post_signed`` / ``Gateway.place`` return a
``Classification`` (placed / rejected / unknown / retry_later). These exceptions cover what
happens *before* anything could be placed (validation, wallet checks, the version canary, a
connection that never opened) and the read endpoints (book, market info, order lookup, trades).

Messages never carry a key, an API secret or a passphrase.
"""

from __future__ import annotations

from polyhunter.log_redaction import redact


class VenueError(Exception):
    """Base class. ``reason`` is a short stable code suitable for a CopyTrade reason column."""

    reason = "venue_error"

    def __init__(self, detail: str, *, reason: str | None = None) -> None:
        # The detail is stored on copy trades and logged: no URL credential or key survives it.
        detail = redact(detail)
        super().__init__(detail)
        self.detail = detail
        if reason is not None:
            self.reason = reason


class InvalidOrder(VenueError):
    """The order was refused before signing (nothing was signed, nothing was sent).

    Permanent for this intent: record the reason (e.g. ``below_min_size``, ``price_off_tick``,
    ``amount_rounds_to_zero``, ``float_input``) and do not retry with the same inputs.
    """

    reason = "invalid_order"


class WalletMismatch(InvalidOrder):
    """The funder is not the signer's EOA / proxy / Safe / deposit wallet, or not the declared type.

    The SDK would silently sign such an order as a session-key deposit-wallet order. Permanent
    until the account's custody settings are fixed: pause the account and tell its owner.
    """

    reason = "wallet_mismatch"


class SigningFailed(VenueError):
    """Decrypting the key or signing failed (corrupt ciphertext, missing key, bad key material).

    Nothing was signed or sent. Treat the account as misconfigured; do not retry blindly.
    """

    reason = "signing_failed"


class NotSent(VenueError):
    """The request definitely did not reach the venue (connection refused, connect/pool timeout).

    For an order: it was not placed; the same signed bytes may be sent again later.
    For a read: retry later.
    """

    reason = "not_sent"


class VersionMismatch(VenueError):
    """The venue's ``/version`` is not the order version this code signs for; nothing was sent.

    Every order would be refused (or worse, misread). Stop trading and alert staff; the state is
    visible in the admin (VenueHealth). Orders resume by themselves once the venue answers the
    expected version again.
    """

    reason = "venue_version_mismatch"


class VenueUnavailable(VenueError):
    """A read got no usable answer (5xx, timeout after sending, unreadable body, 429/425/503).

    Reads are idempotent: retry later with backoff. For the version canary this means orders are
    refused until ``/version`` can be read again.
    """

    reason = "venue_unavailable"


class VenueRefused(VenueError):
    """A read was refused with a definite 4xx answer (bad parameters, bad credentials, not found).

    ``status`` is the HTTP status; ``message`` the venue's error text. Not retryable as is.
    """

    reason = "venue_refused"

    def __init__(self, detail: str, *, status: int, message: str = "", reason: str | None = None) -> None:
        super().__init__(detail, reason=reason)
        self.status = status
        self.message = message


class UnexpectedAnswer(VenueError):
    """A 2xx read whose body does not have the documented shape (a venue change or a bug).

    Do not guess: treat the data as unavailable and alert.
    """

    reason = "unexpected_answer"


class CorruptPayload(VenueError):
    """A persisted signed payload does not verify (its body does not hash to its order hash,
    or a field is missing). Never send it: mark the row for staff; do not re-sign automatically.
    """

    reason = "corrupt_payload"


class AnswerLost(VenueUnavailable):
    """The request left but no complete answer came back (read timeout, connection dropped).

    For an order this is an unknown outcome (``post_signed`` turns it into ``unknown``);
    for a read, retry later.
    """

    reason = "answer_lost"


class CredentialsMismatch(VenueError):
    """The payload was signed for another API key (``owner``) than the credentials given; not sent.

    Custody changed after signing: the order cannot be sent with these credentials. Expire it.
    """

    reason = "credentials_mismatch"
