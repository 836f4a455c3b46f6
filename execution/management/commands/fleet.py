from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from execution.fleet.wallets import fleet_status, fleet_sweep, sync_fleet
from polyhunter.lib.addresses import InvalidAddress, normalize_address


class Command(BaseCommand):
    help = (
        "Fleet mode's operator wallets. `fleet status`: each wallet's pUSD float, POL for gas, state, what it "
        "is doing and its unmined (stuck) transactions, read from the chain. `fleet sweep --to ADDRESS "
        "[--keep N] [--commit]`: move float above N pUSD to ADDRESS (dry run unless --commit)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("status", help="Wallets, float, gas, in flight, stuck transactions.")
        sweep = sub.add_parser("sweep", help="Move float between wallets or back to the treasury.")
        sweep.add_argument("--to", required=True, help="Destination address (treasury or another wallet).")
        sweep.add_argument("--keep", default="0", help="pUSD to leave in each wallet (default 0).")
        sweep.add_argument("--commit", action="store_true", help="Send the transfers (default: dry run).")

    def handle(self, *args: Any, **options: Any) -> str:
        created = sync_fleet().created
        if created:
            self.stdout.write(f"{created} new operator wallet row(s) from TRADING_MNEMONIC/FLEET_SIZE")
        if options["action"] == "status":
            return self.status()
        return self.sweep(to=options["to"], keep=options["keep"], commit=options["commit"])

    def status(self) -> str:
        rows = fleet_status()
        for row in rows:
            wallet = row.wallet
            doing = f"{wallet.activity or 'leased'} ({wallet.lease_holder})" if wallet.lease_holder else "idle"
            self.stdout.write(
                f"#{wallet.index} {wallet.address} {wallet.state:<8} float {row.pusd} pUSD  gas {row.pol:.4f} POL  "
                f"in flight {wallet.in_flight}  stuck {row.stuck}  {doing}"
            )
        return f"{len(rows)} wallet(s), {sum(r.pusd for r in rows)} pUSD float, {sum(r.stuck for r in rows)} unmined"

    def sweep(self, *, to: str, keep: str, commit: bool) -> str:
        try:
            destination, keep_usdc = normalize_address(to), Decimal(keep)
        except (InvalidAddress, InvalidOperation):
            raise CommandError("--to must be a 0x address and --keep a number") from None
        moves = fleet_sweep(to=destination, keep_usdc=keep_usdc, commit=commit)
        for move in moves:
            self.stdout.write(
                f"#{move.wallet.index} {move.wallet.address} -> {destination}: {move.amount} pUSD {move.tx_hash}"
            )
        verb = "moved" if commit else "would move (dry run; --commit sends)"
        return f"{verb} {sum(m.amount for m in moves)} pUSD from {len(moves)} wallet(s)"
