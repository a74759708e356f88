"""Gunicorn settings for CityOps: `gunicorn -c python:cityops.ops.gunicorn_conf config.wsgi`.

Every value can be overridden from the environment (docs/deploy.md). The defaults are the
ones measured in docs/benchmarks/scale.md on 2 cores: a few sync workers per core saturate
the CPU without queueing requests behind slow ones.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", str(max(2, multiprocessing.cpu_count() * 2))))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
backlog = int(os.environ.get("GUNICORN_BACKLOG", "2048"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
# Recycle workers now and then (memory hygiene); the jitter keeps them from restarting together.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "20000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "2000"))
# Behind a load balancer: trust its X-Forwarded-* headers (set to its address).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None  # "-" for stdout
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
proc_name = "cityops-web"
# Import Django and every app once in the master and fork the workers from it: boot is one
# import instead of one per worker, and the workers share the imported code's memory pages.
preload_app = os.environ.get("GUNICORN_PRELOAD", "1") != "0"


def pre_fork(server, worker):
    # A database connection opened while importing must not be shared with the children.
    from django.db import connections

    connections.close_all()
