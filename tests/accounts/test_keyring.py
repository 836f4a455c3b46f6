from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import connection
from django.test import override_settings

from accounts.keyring import DecryptionError, key_id_of, keyring_rotate, open_secret, seal_secret
from accounts.models import TradingAccount
from tests.factories import make_account, make_user

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
OLD = ("old", b"o" * 32)
NEW = ("new", b"n" * 32)
PRIVATE_KEY = b"ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


def blob(account: TradingAccount) -> bytes:
    assert account.private_key_ciphertext is not None
    return bytes(account.private_key_ciphertext)


def sealed_account(**fields: Any) -> TradingAccount:
    account = make_account(mode=TradingAccount.Mode.SPEED, **fields)
    seal_secret(account=account, field="private_key_ciphertext", plaintext=PRIVATE_KEY)
    account.save()
    return account


def test_it_round_trips_a_secret() -> None:
    account = sealed_account()
    account.refresh_from_db()
    assert open_secret(account=account, field="private_key_ciphertext") == PRIVATE_KEY
    assert PRIVATE_KEY not in blob(account)


def test_it_never_produces_the_same_ciphertext_twice() -> None:
    account = sealed_account()
    first = blob(account)
    seal_secret(account=account, field="private_key_ciphertext", plaintext=PRIVATE_KEY)
    assert blob(account) != first


def test_it_refuses_to_decrypt_with_a_wrong_key() -> None:
    with override_settings(ENCRYPTION_KEYS=[("k1", b"a" * 32)]):
        account = sealed_account()
    with override_settings(ENCRYPTION_KEYS=[("k1", b"b" * 32)]), pytest.raises(DecryptionError):
        open_secret(account=account, field="private_key_ciphertext")


def test_it_names_a_key_id_that_is_not_configured() -> None:
    with override_settings(ENCRYPTION_KEYS=[OLD]):
        account = sealed_account()
    with override_settings(ENCRYPTION_KEYS=[NEW]), pytest.raises(DecryptionError, match="'old'"):
        open_secret(account=account, field="private_key_ciphertext")


def test_it_refuses_a_tampered_ciphertext() -> None:
    account = sealed_account()
    tampered = bytearray(blob(account))
    tampered[-1] ^= 0x01
    account.private_key_ciphertext = bytes(tampered)
    with pytest.raises(DecryptionError):
        open_secret(account=account, field="private_key_ciphertext")


def test_it_refuses_a_ciphertext_moved_to_another_row() -> None:
    victim = sealed_account()
    thief = make_account(user=victim.user, mode=TradingAccount.Mode.SPEED)
    thief.private_key_ciphertext = victim.private_key_ciphertext
    thief.save()
    thief.refresh_from_db()
    with pytest.raises(DecryptionError, match=str(thief.code)):
        open_secret(account=thief, field="private_key_ciphertext")


def test_it_refuses_a_ciphertext_moved_to_another_field() -> None:
    account = sealed_account()
    account.api_credentials_ciphertext = account.private_key_ciphertext
    with pytest.raises(DecryptionError):
        open_secret(account=account, field="api_credentials_ciphertext")


def test_it_rotates_every_row_to_the_current_key_and_is_idempotent() -> None:
    with override_settings(ENCRYPTION_KEYS=[OLD]):
        accounts = [sealed_account() for _ in range(3)]
    with override_settings(ENCRYPTION_KEYS=[NEW, OLD]):
        assert keyring_rotate().rotated == 3
        assert keyring_rotate().rotated == 0
        for account in accounts:
            account.refresh_from_db()
            assert key_id_of(blob(account)) == "new"
            assert account.secrets_key_id == "new"
            assert open_secret(account=account, field="private_key_ciphertext") == PRIVATE_KEY
    with override_settings(ENCRYPTION_KEYS=[NEW]):
        assert open_secret(account=accounts[0], field="private_key_ciphertext") == PRIVATE_KEY


def sealed_before_owner_binding(account: TradingAccount, key: tuple[str, bytes]) -> bytes:
    """A blob exactly as the keyring wrote them before the owner was bound (format 1, b"PH1")."""
    kid, material = key[0].encode(), key[1]
    nonce = os.urandom(12)
    aad = (
        b"polyhunter-secret|v1|"
        + kid
        + b"|"
        + f"accounts.tradingaccount:private_key_ciphertext:{account.code}".encode()
    )
    return b"PH1" + bytes([len(kid)]) + kid + nonce + AESGCM(material).encrypt(nonce, PRIVATE_KEY, aad)


def legacy_account(key: tuple[str, bytes]) -> TradingAccount:
    account = make_account(mode=TradingAccount.Mode.SPEED)
    TradingAccount.objects.filter(pk=account.pk).update(
        private_key_ciphertext=sealed_before_owner_binding(account, key), secrets_key_id=key[0], secrets_format=1
    )
    return TradingAccount.objects.get(pk=account.pk)


def test_finding_6_rows_sealed_before_the_owner_was_bound_still_open_until_rotated() -> None:
    with override_settings(ENCRYPTION_KEYS=[NEW]):
        account = legacy_account(NEW)
        assert open_secret(account=account, field="private_key_ciphertext") == PRIVATE_KEY


def test_finding_6_rotation_binds_the_owner_of_rows_sealed_before_and_a_move_then_fails() -> None:
    """Issue #18, finding 6: the migration path. Rotation re-seals format-1 rows under the same key."""
    with override_settings(ENCRYPTION_KEYS=[NEW]):
        account = legacy_account(NEW)
        result = keyring_rotate()
        assert (result.rotated, result.remaining) == (1, 0)
        account.refresh_from_db()
        assert (blob(account)[:3], account.secrets_format) == (b"PH2", 2)
        assert open_secret(account=account, field="private_key_ciphertext") == PRIVATE_KEY
        assert keyring_rotate().rotated == 0
        account.user = make_user("thief")
        with pytest.raises(DecryptionError):
            open_secret(account=account, field="private_key_ciphertext")


def test_a_retired_format_blob_put_back_on_a_resealed_row_is_refused() -> None:
    with override_settings(ENCRYPTION_KEYS=[NEW]):
        account = legacy_account(NEW)
        old_blob = blob(account)
        keyring_rotate()
        account.refresh_from_db()
        account.private_key_ciphertext = old_blob
        with pytest.raises(DecryptionError, match="retired format"):
            open_secret(account=account, field="private_key_ciphertext")


def env_for(keys: list[tuple[str, bytes]]) -> dict[str, str]:
    """Environment for a manage.py subprocess on this test's own database."""
    db = connection.settings_dict
    url = (
        f"sqlite:///{db['NAME']}"
        if connection.vendor == "sqlite"
        else f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    base = {k: v for k, v in os.environ.items() if k not in {"ENCRYPTION_KEYS", "DJANGO_SETTINGS_MODULE"}}
    encoded = ",".join(f"{kid}:{base64.b64encode(material).decode()}" for kid, material in keys)
    return {**base, "DATABASE_URL": url, "ENCRYPTION_KEYS": encoded}


@pytest.mark.django_db(transaction=True)
def test_it_finishes_a_rotation_that_was_killed_halfway_when_rerun() -> None:
    with override_settings(ENCRYPTION_KEYS=[OLD]):
        for _ in range(40):
            sealed_account()
    env = env_for([NEW, OLD])
    # A real process, killed with SIGKILL once it has rotated some rows but not all.
    process = subprocess.Popen(
        [sys.executable, "-c", SLOW_ROTATION], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith("rotated 10/"):
            break
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    under_new = TradingAccount.objects.filter(secrets_key_id="new").count()
    assert 10 <= under_new < 40
    rerun = subprocess.run(
        [sys.executable, "manage.py", "rotate_encryption_keys"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "0 still under older keys" in rerun.stdout
    with override_settings(ENCRYPTION_KEYS=[NEW]):
        for account in TradingAccount.objects.all():
            assert open_secret(account=account, field="private_key_ciphertext") == PRIVATE_KEY


# Rotation with a pause after each row, printing progress, so the test can kill it mid-way.
SLOW_ROTATION = """
import os, sys, time, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "polyhunter.settings")
django.setup()
from accounts.keyring import keyring_rotate
def progress(done, total):
    print(f"rotated {done}/{total}", flush=True)
    time.sleep(0.05)
keyring_rotate(progress=progress)
"""
