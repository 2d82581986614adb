"""The WSGI application, for `masspost serve` (gunicorn) or any WSGI server: `masspost.wsgi:application`."""

from __future__ import annotations

import os
import warnings

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "masspost.settings")
# WhiteNoise serves the apps' static folders themselves (WHITENOISE_USE_FINDERS): that STATIC_ROOT, where
# collectstatic would copy them, does not exist is expected, not worth a warning in every worker's log.
warnings.filterwarnings("ignore", message=r"No directory at: ", category=UserWarning)

application = get_wsgi_application()
