"""Follower forms: parse and check input, then hand plain values to one service.

Settings rules are copytrading.follows.follow_settings_problems (shared with the services and
the staff admin); these forms only turn text into typed values and show the problems next to
the right field. Secret inputs are never rendered back (PasswordInput without render_value) and
no error message repeats what was typed into them.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms

from accounts.models import TradingAccount, User
from copytrading.follows import RANGE_MESSAGES, FollowSettings, follow_settings_problems, parse_market_list
from copytrading.models import CopyRelationship, CopyTrade, NotificationSettings
from copytrading.notifications.deliver import webhook_problem
from execution.venue.auth import ApiCredentials
from polyhunter.lib.addresses import InvalidAddress, normalize_address

BPS_PER_PERCENT = Decimal(100)
_HEX_KEY = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")
MONEY = {"max_digits": 18, "decimal_places": 6, "min_value": Decimal(0)}


def _ranged(field: forms.DecimalField, message: str) -> forms.DecimalField:
    """Out-of-range input says the range, in the words the settings rules use ("Slippage must be
    0 to 50 %", with an en dash), whichever check caught it: the field's digits or the rules."""
    for code in ("min_value", "max_value", "max_digits", "max_whole_digits"):
        field.error_messages[code] = message.replace("%", "%%")  # Django formats these with %(max)s
    field.error_messages["max_decimal_places"] = f"At most {field.decimal_places} decimal places."
    return field


def _money(label: str, help_text: str = "") -> forms.DecimalField:
    field = forms.DecimalField(label=label, required=False, help_text=help_text, **MONEY)  # type: ignore[arg-type]
    return _ranged(field, RANGE_MESSAGES["money"])


def _percent(label: str, message: str, *, digits: int, required: bool = False, **kwargs: Any) -> forms.DecimalField:
    field = forms.DecimalField(label=label, required=required, max_digits=digits, decimal_places=2, **kwargs)
    return _ranged(field, message)


class FollowSettingsForm(forms.Form):
    sizing_mode = forms.ChoiceField(label="Sizing", choices=CopyRelationship.SizingMode.choices)
    sizing_value = _ranged(
        forms.DecimalField(
            label="Amount or ratio",
            max_digits=18,
            decimal_places=6,
            help_text="pUSD per copy (fixed) or the share of the leader's pUSD (proportional, e.g. 0.1).",
        ),
        "Must be more than 0.",
    )
    min_usdc_per_trade = _money("Minimum pUSD per copy", "A copy smaller than this is skipped; empty = none.")
    max_usdc_per_trade = _money("Maximum pUSD per copy")
    max_position_usdc_per_market = _money("Cap per market (pUSD)")
    daily_cap_usdc = _money(
        "Daily cap (pUSD)",
        "What you pay, fees included; orders whose outcome is unknown count as spent. "
        "Empty = no cap (asks you to confirm).",
    )
    slippage_percent = _percent(
        "Slippage limit (%)",
        RANGE_MESSAGES["slippage"],
        digits=5,
        required=True,
        initial=Decimal(3),
        help_text="How far past the leader's price a copy may fill.",
    )
    price_min = _ranged(
        forms.DecimalField(label="Lowest leader price copied", required=False, max_digits=6, decimal_places=4),
        RANGE_MESSAGES["price"],
    )
    price_max = _ranged(
        forms.DecimalField(label="Highest leader price copied", required=False, max_digits=6, decimal_places=4),
        RANGE_MESSAGES["price"],
    )
    market_allow = forms.CharField(
        label="Only these markets",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Token ids or 0x condition ids, one per line; empty = every market.",
    )
    market_deny = forms.CharField(label="Never these markets", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    copy_sells = forms.BooleanField(label="Copy the leader's sells", required=False, initial=True)
    order_type = forms.ChoiceField(label="Order type", choices=CopyRelationship.OrderType.choices)
    stop_loss_pct = _percent("Stop-loss (%)", RANGE_MESSAGES["stop_loss"], digits=5)
    take_profit_pct = _percent("Take-profit (%)", RANGE_MESSAGES["take_profit"], digits=7)
    # Shown (as a checkbox) only with the worst case of risky settings: a ratio above 1 or no daily cap.
    confirm_risk = forms.BooleanField(required=False, widget=forms.HiddenInput)

    SETTINGS_FIELDS = (
        "sizing_mode",
        "sizing_value",
        "min_usdc_per_trade",
        "max_usdc_per_trade",
        "max_position_usdc_per_market",
        "daily_cap_usdc",
        "slippage_percent",
        "price_min",
        "price_max",
        "market_allow",
        "market_deny",
        "copy_sells",
        "order_type",
        "stop_loss_pct",
        "take_profit_pct",
    )

    @classmethod
    def initial_for(cls, settings: FollowSettings) -> dict[str, Any]:
        values = settings.values()
        values["slippage_percent"] = Decimal(settings.slippage_bps) / BPS_PER_PERCENT
        values["market_allow"] = "\n".join(settings.market_allow)
        values["market_deny"] = "\n".join(settings.market_deny)
        return values

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        settings = self.follow_settings(data)
        for name, message in follow_settings_problems(settings).items():
            self.add_error(_FORM_FIELD.get(name, name) if name else None, message)
        return data

    def follow_settings(self, data: dict[str, Any] | None = None) -> FollowSettings:
        data = data if data is not None else self.cleaned_data
        return FollowSettings(
            sizing_mode=data["sizing_mode"],
            sizing_value=data["sizing_value"],
            min_usdc_per_trade=data["min_usdc_per_trade"],
            max_usdc_per_trade=data["max_usdc_per_trade"],
            max_position_usdc_per_market=data["max_position_usdc_per_market"],
            daily_cap_usdc=data["daily_cap_usdc"],
            # Two decimal places of a percent are whole basis points.
            slippage_bps=int(data["slippage_percent"] * BPS_PER_PERCENT),
            price_min=data["price_min"],
            price_max=data["price_max"],
            market_allow=parse_market_list(data["market_allow"]),
            market_deny=parse_market_list(data["market_deny"]),
            copy_sells=data["copy_sells"],
            order_type=data["order_type"],
            stop_loss_pct=data["stop_loss_pct"],
            take_profit_pct=data["take_profit_pct"],
        )


_FORM_FIELD = {"slippage_bps": "slippage_percent"}


class BacktestForm(FollowSettingsForm):
    """The follow settings to try on a leader's recorded trades, and how far back to look."""

    days = forms.TypedChoiceField(
        label="Look back", coerce=int, choices=[(7, "7 days"), (14, "14 days"), (30, "30 days")], initial=30
    )

    field_order = ["days"]


class FollowCreateForm(FollowSettingsForm):
    leader_address = forms.CharField(
        label="Leader wallet address",
        max_length=42,
        help_text="The leader's Polymarket wallet (0x…, as shown on their profile).",
    )
    account = forms.ModelChoiceField(queryset=TradingAccount.objects.none(), empty_label=None, to_field_name="code")

    field_order = ["leader_address", "account"]

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["account"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = TradingAccount.objects.filter(user=user).order_by("id")

    def clean_leader_address(self) -> str:
        try:
            return normalize_address(self.cleaned_data["leader_address"])
        except InvalidAddress as exc:
            raise forms.ValidationError(str(exc)) from None


class FollowStatusForm(forms.Form):
    action = forms.ChoiceField(choices=[("pause", "Pause"), ("resume", "Resume"), ("stop", "Stop")])

    STATUS = {
        "pause": CopyRelationship.Status.PAUSED,
        "resume": CopyRelationship.Status.ACTIVE,
        "stop": CopyRelationship.Status.STOPPED,
    }


class AccountCreateForm(forms.Form):
    label = forms.CharField(label="Account name", max_length=80, initial="Main")


class SpeedCustodyForm(forms.Form):
    """The owner's signer key and optional API credentials. Nothing typed here is ever shown again."""

    private_key = forms.CharField(
        label="Signer private key",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="64 hex characters. Stored encrypted; never shown again.",
    )
    funder_address = forms.CharField(
        label="Funder wallet (holds your pUSD)",
        required=False,
        max_length=42,
        help_text="Your Polymarket proxy or Safe address; empty = the signer's own address.",
    )
    signature_type = forms.TypedChoiceField(
        label="Wallet type", coerce=int, choices=TradingAccount.SignatureType.choices
    )
    api_key = forms.CharField(
        label="CLOB API key",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Leave the three API fields empty to create them from your key.",
    )
    api_secret = forms.CharField(
        label="CLOB API secret",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    api_passphrase = forms.CharField(
        label="CLOB API passphrase",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )

    def clean_private_key(self) -> str:
        key = str(self.cleaned_data["private_key"]).strip()
        if not _HEX_KEY.match(key):
            raise forms.ValidationError("A private key is 64 hex characters (optionally after 0x).")
        return key

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        given = [bool(data.get(name)) for name in ("api_key", "api_secret", "api_passphrase")]
        if any(given) and not all(given):
            raise forms.ValidationError("Enter all three API fields, or none to create them from your key.")
        return data

    def api_credentials(self) -> ApiCredentials | None:
        data = self.cleaned_data
        if not data.get("api_key"):
            return None
        return ApiCredentials(key=data["api_key"].strip(), secret=data["api_secret"], passphrase=data["api_passphrase"])


class FleetCustodyForm(forms.Form):
    """Fleet custody asks for one public address: the wallet the shares go to and pays back."""

    wallet_address = forms.CharField(
        label="Your wallet address",
        max_length=42,
        help_text=(
            "The wallet (0x…, public) that receives the shares PolyHunter buys for you and pays back what "
            "they cost. Never your private key."
        ),
    )


class SessionCustodyForm(forms.Form):
    """Session custody asks for one public address: the EOA that owns the deposit wallet."""

    owner_address = forms.CharField(
        label="Your owner address",
        max_length=42,
        help_text=(
            "The address of the wallet you log in to Polymarket with (0x…, public). Never your private key: "
            "PolyHunter derives your deposit wallet from this address and shows what to authorise."
        ),
    )

    def clean_owner_address(self) -> str:
        try:
            return normalize_address(str(self.cleaned_data["owner_address"]))
        except InvalidAddress as exc:
            raise forms.ValidationError(str(exc)) from None


class LeaderChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        leader: Any = obj.leader
        return str(leader)


class HistoryFilterForm(forms.Form):
    follow = LeaderChoiceField(
        queryset=CopyRelationship.objects.none(), required=False, to_field_name="code", empty_label="All leaders"
    )
    status = forms.ChoiceField(choices=[("", "Any status"), *CopyTrade.Status.choices], required=False)
    side = forms.ChoiceField(choices=[("", "Buys and sells"), *CopyTrade.Side.choices], required=False)
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["follow"]
        assert isinstance(field, LeaderChoiceField)
        field.queryset = CopyRelationship.objects.filter(account__user=user).select_related("leader")


class ProposeLeaderForm(forms.Form):
    address = forms.CharField(
        label="Wallet address",
        max_length=42,
        help_text="A Polymarket wallet (0x…); its track record loads in a minute.",
    )
    label = forms.CharField(label="Name (optional)", max_length=80, required=False)

    def clean_address(self) -> str:
        try:
            return normalize_address(self.cleaned_data["address"])
        except InvalidAddress as exc:
            raise forms.ValidationError(str(exc)) from None


class NotificationSettingsForm(forms.ModelForm):  # type: ignore[type-arg]
    webhook_url = forms.URLField(
        label="Webhook URL (Telegram or Discord bridge)",
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text="We POST a JSON digest: Discord reads 'content', Slack-style and Telegram bridges 'text'.",
    )

    class Meta:
        model = NotificationSettings
        fields = ["email", "webhook_url", "copy_failed", "follow_held", "custody"]
        labels = {
            "email": "E-mail me a digest",
            "webhook_url": "Webhook URL (Telegram or Discord bridge)",
            "copy_failed": "A copy was rejected or expired",
            "follow_held": "A follow was paused by staff or held by a guardrail",
            "custody": "My custody needs action (balance, approval, API key)",
        }

    def clean_webhook_url(self) -> str:
        url = str(self.cleaned_data.get("webhook_url") or "").strip()
        problem = webhook_problem(url) if url else None
        if problem:
            raise forms.ValidationError(problem)
        return url
