"""`cityops serve`: the server of `make run`, safe as the main job of a small installation.

Django's development server (threaded, static files through WhiteNoise) without the
auto-reloader, which would import everything twice and poll every source file each second
(`--reload` while developing), warmed before it listens (cityops.web.warmup) so the first
sign-in and the first dashboard cost what every later one does. Address: ADDR:PORT, else
127.0.0.1 and the PORT environment variable (8000).
"""

from __future__ import annotations

import os

from django.contrib.staticfiles.management.commands.runserver import Command as RunserverCommand

from cityops.web.warmup import warm_up


class Command(RunserverCommand):
    help = "启动服务（make run 使用；默认 127.0.0.1:$PORT，不自动重载）"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--reload", action="store_true", dest="use_reloader", help="源码变化时自动重启（开发用）")
        parser.add_argument("--no-warm-up", action="store_false", dest="warm_up", help="启动时不预热")
        parser.set_defaults(use_reloader=False)

    def handle(self, *args, **options):
        if not options.get("addrport"):
            options["addrport"] = f"127.0.0.1:{os.environ.get('PORT', '8000')}"
        self.warm = options["warm_up"]
        super().handle(*args, **options)

    def get_handler(self, *args, **options):
        handler = super().get_handler(*args, **options)
        if self.warm:
            timings = warm_up()
            self.stdout.write(f"预热完成（{sum(timings.values()):.1f} 秒）")
        return handler
