from django.apps import AppConfig


class UsersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = __name__.rpartition(".")[0]
    label = "users"
    verbose_name = "Users"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (connects its receivers)
