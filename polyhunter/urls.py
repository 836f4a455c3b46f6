from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from copytrading.console.views import console
from copytrading.views.health import readyz
from polyhunter import views
from polyhunter.metrics import metrics_view

admin.site.site_header = "PolyHunter staff console"
admin.site.site_title = "PolyHunter staff"
admin.site.index_title = "Operations"

urlpatterns = [
    path("", views.landing, name="landing"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/console/", admin.site.admin_view(console), name="console"),
    path("admin/", admin.site.urls),
    path("", include("accounts.urls")),
    path("", include("copytrading.urls")),
]
