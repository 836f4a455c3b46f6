"""Fleet mode (issue #12): operator wallets derived from TRADING_MNEMONIC fill copies with the
platform's float and settle them with the follower on chain (see docs/fleet.md)."""
