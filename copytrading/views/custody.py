from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_POST

from accounts.models import TradingAccount
from accounts.services import AccountError, account_create
from copytrading.forms import AccountCreateForm, SpeedCustodyForm
from copytrading.views.common import current_user
from execution.custody import CustodyError, custody_set_paper, custody_set_speed, custody_status

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


def _account_page(request: HttpRequest, account: TradingAccount, speed_form: SpeedCustodyForm) -> HttpResponse:
    context = {"account": account, "status": custody_status(account), "speed_form": speed_form}
    return render(request, "copytrading/custody_account.html", context)


@login_required
def custody_account(request: HttpRequest, code: str) -> HttpResponse:
    return _account_page(request, _own_account(request, code), SpeedCustodyForm())


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
