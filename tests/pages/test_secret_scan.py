"""Secrets go in and never come back out: not on any follower page, not anywhere in the admin,
not in the logs (tracebacks included), not in a stored error, not in ``check_config``.

Known fake secrets are entered through every custody form (successfully, and once more with an
error so the form is re-rendered), a speed copy is reconciled against the venue with them, a
chain scan fails against an RPC URL carrying them, and then every page is fetched: the follower
pages, the staff console, and for every registered admin model its changelist, add form, and
the change, history and delete pages of every row. No response, log line or stored error text
may hold any secret, in any of its textual forms (issue #18, finding 5 extended the scan).
"""

from __future__ import annotations

import base64
import io
import logging
import socket
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.contrib import admin
from django.db import models
from django.test import Client, override_settings
from django.urls import NoReverseMatch, reverse

from accounts.models import TradingAccount, User
from copytrading.detection.service import detection_scan
from copytrading.models import CopyTrade, DetectorState
from copytrading.pipeline.reconcile import copytrades_reconcile
from execution.models import GuardrailSettings, TradingSwitch, VenueHealth
from execution.simulator.server import VenueSimulator
from polyhunter import config
from polyhunter.audit import audit_record
from tests.factories import make_account, make_copy_trade, make_relationship
from tests.outputs import check_config_output, production_handler, stored_error_texts
from tests.pages.conftest import FAKE_API_KEY, FAKE_API_SECRET, FAKE_KEY, FAKE_PASSPHRASE, speed_form

pytestmark = pytest.mark.django_db


def _forms(text: str) -> tuple[set[str], set[str]]:
    """(case-insensitive forms, case-sensitive forms) of one secret."""
    raw = text.encode()
    hexed = raw.hex()
    insensitive = {text.lower(), hexed, "0x" + hexed}
    sensitive = {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode().rstrip("=")}
    return insensitive, sensitive


def needles() -> tuple[set[str], set[str]]:
    insensitive: set[str] = set()
    sensitive: set[str] = set()
    for secret in (FAKE_KEY, FAKE_API_KEY, FAKE_API_SECRET, FAKE_PASSPHRASE):
        i, s = _forms(secret)
        insensitive |= i
        sensitive |= s
    key_bytes = bytes.fromhex(FAKE_KEY[2:])
    insensitive |= {FAKE_KEY[2:].lower(), FAKE_KEY.lower()}  # the key's own hex, with and without 0x
    sensitive |= {base64.b64encode(key_bytes).decode(), base64.urlsafe_b64encode(key_bytes).decode().rstrip("=")}
    insensitive.add(FAKE_API_KEY.replace("-", ""))  # the uuid as bare hex
    secret_bytes = base64.b64decode(FAKE_API_SECRET)
    insensitive |= {secret_bytes.hex(), "0x" + secret_bytes.hex()}
    sensitive.add(base64.urlsafe_b64encode(secret_bytes).decode())
    return insensitive, sensitive


def ciphertext_forms(account: TradingAccount) -> tuple[set[str], set[str]]:
    """The stored blobs are not for display either."""
    insensitive: set[str] = set()
    sensitive: set[str] = set()
    for blob in (account.private_key_ciphertext, account.api_credentials_ciphertext):
        assert blob is not None
        data = bytes(blob)
        insensitive |= {data.hex(), data[8:40].hex()}
        sensitive |= {base64.b64encode(data).decode(), base64.b64encode(data)[12:56].decode()}
    return insensitive, sensitive


@pytest.fixture
def victim(simulator: VenueSimulator) -> tuple[User, TradingAccount]:
    user = User.objects.create_user("victor", password="pw-victor", is_staff=False)
    client = Client()
    client.force_login(user)
    client.post(reverse("custody"), {"label": "Main"})
    account = TradingAccount.objects.get(user=user)
    url = reverse("custody_speed", kwargs={"code": account.code})
    # A refused attempt first (the form is re-rendered with an error), then the real one.
    refused = client.post(url, speed_form(funder_address="0x" + "12" * 20, signature_type="1"))
    assert refused.status_code == 200
    assert client.post(url, speed_form()).status_code == 302
    account.refresh_from_db()
    assert account.has_private_key
    assert account.has_api_credentials
    return user, account


@pytest.fixture
def production_log() -> Iterator[io.StringIO]:
    """Everything logged during the test, at DEBUG, as the production handler writes it."""
    stream = io.StringIO()
    handler = production_handler(stream)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# An RPC provider URL as operators paste it, carrying credentials (here: the fake secrets).
LEAKY_RPC_URL = f"http://rpc:{FAKE_PASSPHRASE}@127.0.0.1:{{port}}/v2/{FAKE_API_KEY}?apikey={FAKE_API_SECRET}"


@pytest.fixture
def every_kind_of_row(victim: tuple[User, TradingAccount], production_log: io.StringIO) -> TradingAccount:
    _, account = victim
    follow = make_relationship(account)
    # What a signed order stores: the body POSTed to the venue names its owner (the API key).
    signed = make_copy_trade(
        follow,
        status=CopyTrade.Status.UNKNOWN,
        order_hash="0x" + "9f" * 32,
        signed_order={"order": {"signature": "0x" + "ab" * 65}, "owner": FAKE_API_KEY, "orderType": "FAK"},
        planned_usdc=5,
    )
    make_copy_trade(follow, status=CopyTrade.Status.SKIPPED, reason_code="slippage", reason_detail="4 % > 3 %")
    # The reconciler asks the venue with these credentials (refused: the venue never issued them)
    # and records what it heard on the row, which the admin shows.
    copytrades_reconcile(ids=[signed.id])
    make_account(label="Other")
    GuardrailSettings.current()
    VenueHealth.objects.create(id=VenueHealth.SINGLETON_ID, expected_version=2)
    TradingSwitch.objects.create(name=TradingSwitch.Name.KILL_SWITCH, engaged=False)
    audit_record(actor="test", action="scan")
    # A chain scan fails against an RPC URL carrying secrets: the library quotes the URL in its
    # error, which is stored (DetectorState.last_error) and logged with its traceback.
    with override_settings(POLYGON_RPC_URL=LEAKY_RPC_URL.format(port=closed_port())):
        try:
            detection_scan()
        except Exception:
            logging.getLogger("copytrading.detection.runner").exception("chain: scan failed")
    assert DetectorState.objects.filter(name="chain:polygon", errors=1).exists()
    return account


def follower_urls(user: User) -> list[str]:
    urls = [
        reverse(name)
        for name in (
            "landing",
            "dashboard",
            "dashboard_copies",
            "follows",
            "follow_new",
            "custody",
            "history",
            "leaders",
            "notifications",
        )
    ]
    urls.append(reverse("history_csv"))
    for account in TradingAccount.objects.filter(user=user):
        urls.append(reverse("custody_account", kwargs={"code": account.code}))
    for code in CopyTrade.objects.filter(account__user=user).values_list("relationship__code", flat=True).distinct():
        urls.append(reverse("follow_edit", kwargs={"code": code}))
    for code in CopyTrade.objects.filter(account__user=user).values_list("relationship__leader__code", flat=True):
        urls.append(reverse("leader_detail", kwargs={"code": code}))
    return urls


def admin_urls() -> list[str]:
    urls = [reverse("admin:index"), reverse("console")]
    for model, _ in admin.site._registry.items():
        opts = model._meta
        base = f"admin:{opts.app_label}_{opts.model_name}"
        urls += [reverse(f"{base}_changelist"), reverse(f"{base}_add")]
        rows: list[models.Model] = list(model._default_manager.all()[:50])
        for row in rows:
            for view in ("change", "history", "delete"):
                urls.append(reverse(f"{base}_{view}", args=[row.pk]))
    for trade in CopyTrade.objects.all():
        urls.append(reverse("admin:copytrade_venue_order", args=[trade.pk]))
        urls.append(reverse("admin:copytrade_expire", args=[trade.pk]))
    return urls


def body(response: object) -> str:
    if hasattr(response, "streaming_content"):
        return b"".join(response.streaming_content).decode()
    return str(response.content.decode())  # type: ignore[attr-defined]


def assert_clean(client: Client, urls: list[str], forms: tuple[set[str], set[str]]) -> int:
    insensitive, sensitive = forms
    checked = 0
    for url in urls:
        response = client.get(url)
        assert response.status_code in (200, 302, 403), url
        text = body(response)
        lowered = text.lower()
        for needle in insensitive:
            assert needle.lower() not in lowered, f"{url} shows a secret form {needle[:6]}…"
        for needle in sensitive:
            assert needle not in text, f"{url} shows a secret form {needle[:6]}…"
        checked += 1
    return checked


def test_no_page_shows_a_secret_in_any_form(every_kind_of_row: TradingAccount) -> None:
    insensitive, sensitive = needles()
    blob_i, blob_s = ciphertext_forms(every_kind_of_row)
    forms = (insensitive | blob_i, sensitive | blob_s)
    owner = Client()
    owner.force_login(every_kind_of_row.user)
    staff = Client()
    staff.force_login(User.objects.create_superuser("root", "root@example.com", "pw-root"))
    pages = assert_clean(owner, follower_urls(every_kind_of_row.user), forms)
    pages += assert_clean(staff, admin_urls(), forms)
    assert pages > 60  # the scan really covered the site


def check_config_with_fake_secrets() -> str:
    """check_config run on a configuration whose secrets are the fake ones."""
    loaded = config.load(
        {
            "SECRET_KEY": FAKE_PASSPHRASE * 2,
            "EMAIL_URL": f"smtp+tls://mailer:{FAKE_PASSPHRASE}@smtp.example.com:587",
            "POLYGON_RPC_URL": f"https://polygon.example/v2/{FAKE_API_KEY}?key={FAKE_API_SECRET}",
            "POLYGON_WS_URL": f"wss://polygon.example/v2/{FAKE_API_KEY}",
            "DATABASE_URL": f"postgres://app:{FAKE_PASSPHRASE}@127.0.0.1:5432/polyhunter",
            "REDIS_URL": f"redis://:{FAKE_PASSPHRASE}@127.0.0.1:6379/1",
            "ENCRYPTION_KEYS": f"k1:{base64.b64encode(bytes.fromhex(FAKE_KEY[2:])).decode()}",
        }
    )
    with override_settings(CONFIG=loaded):
        return check_config_output()


def assert_texts_clean(texts: list[tuple[str, str]], forms: tuple[set[str], set[str]]) -> None:
    insensitive, sensitive = forms
    for source, text in texts:
        for needle in insensitive:
            assert needle.lower() not in text.lower(), f"{source} holds a secret form {needle[:6]}…"
        for needle in sensitive:
            assert needle not in text, f"{source} holds a secret form {needle[:6]}…"


def test_no_secret_in_the_logs_their_tracebacks_the_stored_errors_or_check_config(
    every_kind_of_row: TradingAccount, production_log: io.StringIO
) -> None:
    insensitive, sensitive = needles()
    blob_i, blob_s = ciphertext_forms(every_kind_of_row)
    keyring = {base64.b64encode(material).decode() for _, material in settings.ENCRYPTION_KEYS}
    forms = (insensitive | blob_i, sensitive | blob_s | keyring)
    log = production_log.getvalue()
    assert "Traceback (most recent call last)" in log  # the scan really read a traceback
    errors = stored_error_texts()
    assert any("ConnectionError" in text for _, text in errors)  # and a stored library error
    shown = check_config_with_fake_secrets()
    assert "POLYGON_RPC_URL" in shown
    assert_texts_clean([("log", log), ("check_config", shown), *errors], forms)


def test_the_scan_fails_when_a_page_does_show_a_secret(db: None) -> None:
    """A positive control: the same scan over a page that does show a secret form must fail."""
    user = User.objects.create_user("leaky", password="pw-leaky")
    make_account(user, label=FAKE_PASSPHRASE.upper())
    client = Client()
    client.force_login(user)
    with pytest.raises(AssertionError, match="shows a secret form"):
        assert_clean(client, [reverse("custody")], needles())


def test_every_admin_model_is_scanned() -> None:
    for model in admin.site._registry:
        opts = model._meta
        try:
            reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        except NoReverseMatch:  # pragma: no cover - would mean the scan skipped a model
            pytest.fail(f"{opts.label} has no changelist to scan")
