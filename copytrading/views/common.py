from __future__ import annotations

from django.http import HttpRequest

from accounts.models import User


def current_user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User), "login_required guards every follower view"
    return user


def is_htmx(request: HttpRequest) -> bool:
    """True for a request sent by htmx (django-htmx sets ``request.htmx``)."""
    return bool(getattr(request, "htmx", False))
