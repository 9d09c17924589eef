from django.contrib import admin
from django.urls import include, path

from nzila_export_hub import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include(api.urlpatterns)),
    path("", include("nzila_ops.urls")),
]
