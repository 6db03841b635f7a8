"""Top-level URL routes."""

from django.conf import settings
from django.contrib import admin
from django.urls import path

from config import views

urlpatterns = [
    path("health", views.health, name="health"),
    path(settings.ADMIN_URL, admin.site.urls),
]
