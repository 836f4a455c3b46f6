"""Sign-up and password reset, throttled per client address and per account. Log-in and log-out
are Django's own views (see accounts/urls.py), rate limited by django-axes."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import UserCreationForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters

from accounts.models import User
from polyhunter.client_address import client_address
from polyhunter.throttle import Throttle

# Per hour. Every attempt counts, accepted or not: the point is to bound what one client (or
# anyone, against one account) can make the platform do.
SIGNUP_THROTTLE = Throttle("signup", per_address=5, per_account=3)
PASSWORD_RESET_THROTTLE = Throttle("password-reset", per_address=5, per_account=3)
TOO_MANY = "Too many attempts. Please try again in an hour."


class SignUpForm(UserCreationForm):  # type: ignore[type-arg]
    email = forms.EmailField(help_text="Used only to reset your password.")

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")


@sensitive_post_parameters("password1", "password2")
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("dashboard")
    form = SignUpForm(request.POST or None)
    if request.method == "POST":
        allowed = SIGNUP_THROTTLE.allows_address(client_address(request)) and SIGNUP_THROTTLE.allows_account(
            str(request.POST.get("username", ""))
        )
        if not allowed:
            return render(request, "accounts/signup.html", {"form": SignUpForm(), "refused": TOO_MANY}, status=429)
        if form.is_valid():
            user = form.save()
            # Axes sits first in AUTHENTICATION_BACKENDS; name the model backend for this session.
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("custody")
    return render(request, "accounts/signup.html", {"form": form})


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset view, limited per client address (429) and per account: past that limit the
    answer is the usual "sent" page and no mail goes out, so it tells nobody whether the address
    has an account, and nobody can flood one inbox."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not PASSWORD_RESET_THROTTLE.allows_address(client_address(request)):
            context = self.get_context_data(form=self.form_class(), refused=TOO_MANY)
            return self.render_to_response(context, status=429)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: Any) -> HttpResponse:
        if not PASSWORD_RESET_THROTTLE.allows_account(str(form.cleaned_data["email"])):
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)
