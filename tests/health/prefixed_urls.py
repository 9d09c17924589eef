"""A host that mounts nzila_ops' endpoints under a prefix of its own."""

from django.urls import include, path

urlpatterns = [path("internal/", include("nzila_ops.urls"))]
