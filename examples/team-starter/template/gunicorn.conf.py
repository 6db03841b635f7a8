"""gunicorn settings, read from the environment so one image runs anywhere.

Acme's layer replaces the starter's file with this one: the same settings plus JSON logs.
"""

import multiprocessing
import os

from app.logging_policy import logging_config

# Inside a container the server must listen on every interface to be reachable.
bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
worker_class = "uvicorn_worker.UvicornWorker"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
logconfig_dict = logging_config()
