from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_POST

from accounts.models import TradingAccount
from accounts.services import AccountError, account_create
from copytrading.controls import account_session_restored
from copytrading.forms import AccountCreateForm, FleetCustodyForm, SessionCustodyForm, SpeedCustodyForm
from copytrading.views.common import current_user
from execution.custody import CustodyError, custody_set_paper, custody_set_speed, custody_status
from execution.custody_modes import MODES
from execution.fleet.custody import FleetCustodyError, custody_set_fleet
from execution.fleet.setup import fleet_setup
from execution.session_custody import (
    SessionCustodyError,
    custody_set_session,
    session_rotate,
    session_use_wallet,
    session_verify,
)

SECRET_INPUTS = ("private_key", "api_key", "api_secret", "api_passphrase")


def _own_account(request: HttpRequest, code: str) -> TradingAccount:
    return get_object_or_404(TradingAccount, code=code, user=current_user(request))


@login_required
def custody(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    form = AccountCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account = account_create(user=user, label=form.cleaned_data["label"], actor=user)
        except AccountError as exc:
            form.add_error("label", str(exc))
        else:
            messages.success(request, f"Account {account.label} is set up for paper trading.")
            return redirect("custody_account", code=account.code)
    accounts = [(a, custody_status(a)) for a in TradingAccount.objects.filter(user=user).order_by("id")]
    return render(request, "copytrading/custody.html", {"accounts": accounts, "form": form})


def _account_page(
    request: HttpRequest,
    account: TradingAccount,
    speed_form: SpeedCustodyForm | None = None,
    session_form: SessionCustodyForm | None = None,
    fleet_form: FleetCustodyForm | None = None,
) -> HttpResponse:
    status = custody_status(account)
    session_initial = {"owner_address": status.session.owner_address} if status.session else None
    context = {
        "account": account,
        "status": status,
        "modes": MODES,
        "speed_form": speed_form or SpeedCustodyForm(),
        "session_form": session_form or SessionCustodyForm(initial=session_initial),
        "fleet_form": fleet_form or FleetCustodyForm(initial={"wallet_address": account.funder_address}),
        "fleet": fleet_setup(account),
    }
    return render(request, "copytrading/custody_account.html", context)


@login_required
def custody_account(request: HttpRequest, code: str) -> HttpResponse:
    return _account_page(request, _own_account(request, code))


@login_required
@require_POST
def custody_paper(request: HttpRequest, code: str) -> HttpResponse:
    account = _own_account(request, code)
    try:
        custody_set_paper(account=account, actor=request.user)
    except CustodyError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{account.label} now trades on paper; any stored key was erased.")
    return redirect("custody_account", code=account.code)


@sensitive_post_parameters(*SECRET_INPUTS)
@sensitive_variables("form")
@login_required
@require_POST
def custody_speed(request: HttpRequest, code: str) -> HttpResponse:
    account = _own_account(request, code)
    form = SpeedCustodyForm(request.POST)
    if form.is_valid():
        try:
            custody_set_speed(
                account=account,
                private_key=form.cleaned_data["private_key"],
                funder_address=form.cleaned_data["funder_address"],
                signature_type=form.cleaned_data["signature_type"],
                api_credentials=form.api_credentials(),
                actor=request.user,
            )
        except CustodyError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            messages.success(request, "Key and API credentials are set. They are stored encrypted and never shown.")
            return redirect("custody_account", code=account.code)
    return _account_page(request, account, form)


@login_required
@require_POST
def custody_fleet(request: HttpRequest, code: str) -> HttpResponse:
    account = _own_account(request, code)
    form = FleetCustodyForm(request.POST)
    if form.is_valid():
        try:
            custody_set_fleet(account=account, funder_address=form.cleaned_data["wallet_address"], actor=request.user)
        except FleetCustodyError as exc:
            form.add_error("wallet_address", str(exc))
        else:
            messages.success(request, "Fleet mode is set. Grant the allowance shown below; copying starts once it is.")
            return redirect("custody_account", code=account.code)
    return _account_page(request, account, fleet_form=form)


@login_required
@require_POST
def custody_session(request: HttpRequest, code: str) -> HttpResponse:
    account = _own_account(request, code)
    form = SessionCustodyForm(request.POST)
    if form.is_valid():
        try:
            custody_set_session(account=account, owner_address=form.cleaned_data["owner_address"], actor=request.user)
        except (SessionCustodyError, CustodyError) as exc:
            field = getattr(exc, "field", "")
            form.add_error(field if field in form.fields else None, str(exc))
        else:
            messages.success(request, "Now authorise PolyHunter's session signer for your deposit wallet (below).")
            return redirect("custody_account", code=account.code)
    return _account_page(request, account, session_form=form)


@login_required
@require_POST
def custody_session_verify(request: HttpRequest, code: str) -> HttpResponse:
    account = _own_account(request, code)
    try:
        verified = session_verify(account=account, actor=request.user)
    except SessionCustodyError as exc:
        messages.error(request, str(exc))
    else:
        account_session_restored(account=verified, actor=request.user)
        messages.success(request, "Authorisation confirmed: PolyHunter copies your follows with the session signer.")
    return redirect("custody_account", code=account.code)


@login_required
@require_POST
def custody_session_wallet(request: HttpRequest, code: str) -> HttpResponse:
    account = _own_account(request, code)
    try:
        session_use_wallet(account=account, wallet=request.POST.get("wallet", ""), actor=request.user)
    except SessionCustodyError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Deposit wallet changed: authorise the session signer for this one.")
    return redirect("custody_account", code=account.code)


@login_required
@require_POST
def custody_session_rotate(request: HttpRequest, code: str) -> HttpResponse:
    account = _own_account(request, code)
    try:
        session_rotate(account=account, actor=request.user)
    except SessionCustodyError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, "A new session signer is waiting for your authorisation; the current one copies until then."
        )
    return redirect("custody_account", code=account.code)
