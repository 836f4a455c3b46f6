"""GET /readyz: whether the platform can copy right now, each dependency with its state and age.

Public like /healthz (probes carry no credentials): the body holds states and ages only, never a
reason text, an address or a configuration value.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from copytrading.health import platform_readiness


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    readiness = platform_readiness()
    return JsonResponse(readiness.as_json(), status=200 if readiness.ready else 503)
