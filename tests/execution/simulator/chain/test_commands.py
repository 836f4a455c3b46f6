"""run_local_chain writes the chain's description; run_venue_simulator --chain settles on it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from web3 import Web3

from execution.simulator.chain.artifacts import artifact

ROOT = Path(__file__).resolve().parents[4]
ENV = {**os.environ, "DJANGO_SETTINGS_MODULE": "polyhunter.settings_test"}
LEADER = "0x1111111111111111111111111111111111111111"
YES = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
NO = "52114319501245915516055106046884209969926127482827954674443846427813813222426"


def manage(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stopped(process: subprocess.Popen[str], how: signal.Signals = signal.SIGINT) -> str:
    process.send_signal(how)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    return out


@pytest.mark.processes
def test_run_local_chain_writes_the_chain_and_a_simulator_settles_on_it(tmp_path: Path) -> None:
    out = tmp_path / "chain.json"
    chain = manage("run_local_chain", "--port", "0", "--out", str(out), "--wallet", f"leader={LEADER}", "--pusd", "250")
    venue: subprocess.Popen[str] | None = None
    try:
        assert chain.stdout is not None
        assert chain.stdout.readline().startswith("local chain listening on http://127.0.0.1:")
        info = json.loads(out.read_text())
        assert set(info["contracts"]) == {"pusd", "ctf", "exchange", "neg_risk_exchange"}
        assert info["ws_url"] == info["rpc_url"].replace("http://", "ws://")
        w3 = Web3(Web3.HTTPProvider(info["rpc_url"]))
        assert w3.provider.make_request("eth_chainId", [])["result"] == "0x89"  # type: ignore[arg-type]
        pusd = w3.eth.contract(address=info["contracts"]["pusd"], abi=artifact("PUSD").abi)
        assert pusd.functions.decimals().call() == 6
        for key in ("exchange", "neg_risk_exchange", "ctf", "pusd"):
            assert len(w3.eth.get_code(info["contracts"][key])) > 100
        assert pusd.functions.balanceOf(Web3.to_checksum_address(LEADER)).call() == 250 * 10**6
        assert w3.eth.get_balance(Web3.to_checksum_address(LEADER)) == 10 * 10**18
        assert info["wallets"] == {"leader": LEADER}

        scenario = tmp_path / "scenario.json"
        tokens = [{"token_id": YES, "outcome": "Yes"}, {"token_id": NO, "outcome": "No"}]
        market = {"condition_id": "0x" + "ab" * 32, "tokens": tokens}
        scenario.write_text(json.dumps({"markets": [market]}))
        venue = manage("run_venue_simulator", "--port", "0", "--chain", str(out), "--scenario", str(scenario))
        assert venue.stdout is not None
        ready = venue.stdout.readline()
        assert "settling on " + info["rpc_url"] in ready, ready
        url = ready.split()[4]
        # The venue's balances are the chain's: set through the venue, read on the chain, and back.
        seeded = {"address": LEADER, "pusd": "40", "shares": {YES: "3"}}
        httpx.post(url + "/_sim/balances", json=seeded).raise_for_status()
        assert pusd.functions.balanceOf(Web3.to_checksum_address(LEADER)).call() == 40 * 10**6
        shown = httpx.get(f"{url}/_sim/balances/{LEADER}").json()
        assert (shown["pusd"], shown["shares"], shown["approved"]) == (40, {YES: 3}, True)
        assert "venue simulator stopped" in stopped(venue, signal.SIGTERM)
        assert "local chain stopped" in stopped(chain)  # Ctrl-C
    finally:
        for process in (venue, chain):
            if process is not None and process.poll() is None:
                process.kill()
