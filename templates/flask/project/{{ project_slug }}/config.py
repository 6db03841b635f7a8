"""Configuration classes; values that differ per machine come from the environment."""

import os
import secrets


class Config:
    TESTING = False
    SECRET_KEY = os.environ.get("SECRET_KEY", "")


class DevelopmentConfig(Config):
    DEBUG = True
    # Without SECRET_KEY each run gets a throwaway key: sessions end on restart.
    SECRET_KEY = Config.SECRET_KEY or secrets.token_urlsafe(32)


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = secrets.token_urlsafe(32)


class ProductionConfig(Config):
    pass


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_for(name: str | None) -> type[Config]:
    """The config class for `name`, or for FLASK_ENV when no name is given."""
    name = name or os.environ.get("FLASK_ENV", "production")
    if name not in CONFIGS:
        raise KeyError(f"unknown config {name!r}; choose from {', '.join(CONFIGS)}")
    config = CONFIGS[name]
    if config is ProductionConfig and not config.SECRET_KEY:
        raise RuntimeError("Set SECRET_KEY to run with the production config.")
    return config
