"""Fleet mode (issue #12): operator wallets derived from TRADING_MNEMONIC place copies with the
platform's float, then settle to the follower on chain (docs/fleet.md)."""
