"""gunicorn settings, read from the environment so one image runs anywhere."""

import multiprocessing
import os

# Inside a container the server must listen on every interface to be reachable.
bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"  # nosec B104
# WEB_CONCURRENCY is the convention most platforms set; otherwise one worker per core, plus one.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
# gunicorn manages the processes; each runs uvicorn (uvloop, httptools) serving the ASGI app.
worker_class = "uvicorn_worker.UvicornWorker"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
