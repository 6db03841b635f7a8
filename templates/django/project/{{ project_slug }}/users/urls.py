from django.contrib.auth import views as auth_views
from django.urls import path

from .throttling import throttle_login, throttle_password_reset, throttle_signup
from .views import SignupView

# Included before django.contrib.auth.urls: these replace its login and password reset routes
# (same paths, same names) with throttled ones; the others (logout, password change) are its own.
urlpatterns = [
    path("signup/", throttle_signup(SignupView.as_view()), name="signup"),
    path("login/", throttle_login(auth_views.LoginView.as_view()), name="login"),
    path(
        "password_reset/",
        throttle_password_reset(auth_views.PasswordResetView.as_view()),
        name="password_reset",
    ),
]
