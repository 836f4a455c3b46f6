"""EVM addresses: validated, with EIP-55 checksums honoured, stored lower-case."""

from __future__ import annotations

import re

from eth_utils.address import is_checksum_address

_HEX40 = re.compile(r"^0x[0-9a-fA-F]{40}$")


class InvalidAddress(ValueError):
    pass


def normalize_address(value: str) -> str:
    """Return the lower-case form of a 0x address, or raise InvalidAddress.

    A mixed-case address carries an EIP-55 checksum; a wrong one almost always means a typo,
    so it is refused rather than silently lower-cased into somebody else's wallet.
    """
    text = value.strip()
    if not _HEX40.match(text):
        raise InvalidAddress(f"{value!r} is not a 0x-prefixed 20-byte hex address")
    body = text[2:]
    if body != body.lower() and body != body.upper() and not is_checksum_address(text):
        raise InvalidAddress(f"{value!r} has an invalid EIP-55 checksum (a typo?)")
    return text.lower()
