"""`cityops run` (what `make run` starts): migrate, load the demo unless it is already loaded,
then serve — in one process, so the second `make run` pays Django's start-up once, not three
times (`cityops migrate`, `cityops demo` and `cityops serve` each import the whole project)."""

from __future__ import annotations

import sys

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "迁移数据库、加载演示数据（已加载则跳过）并启动服务（make run）"
    requires_system_checks = []  # `serve` runs them, once

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", help="地址:端口，默认 127.0.0.1:$PORT")

    def handle(self, *args, **options):
        call_command("migrate", interactive=False, stdout=self.stdout, stderr=self.stderr)
        call_command("demo", stdout=self.stdout, stderr=self.stderr)
        # The periodic jobs start at the server's first request, as under `cityops serve` (the
        # scheduler chose at start-up from the command line, which said "run", not "serve").
        from cityops.ops import scheduler

        scheduler.install(argv=[sys.argv[0], "serve"])
        serve = {"skip_checks": False}
        if options["addrport"]:
            serve["addrport"] = options["addrport"]
        call_command("serve", **serve)
