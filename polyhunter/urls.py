from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from polyhunter import views

admin.site.site_header = "PolyHunter staff console"
admin.site.site_title = "PolyHunter staff"
admin.site.index_title = "Operations"

urlpatterns = [
    path("", views.landing, name="landing"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("", include("django_prometheus.urls")),
]
