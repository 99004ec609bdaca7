"""django-rq's own `rqworker` command exactly as django-rq ships it (ours overrides the name)."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

django.setup()

from django_rq.management.commands.rqworker import Command  # noqa: E402

Command().run_from_argv(["manage.py", "rqworker", "-v0", *sys.argv[1:], "default"])
