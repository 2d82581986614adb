"""The WSGI application, for `masspost serve` (gunicorn) or any WSGI server: `masspost.wsgi:application`.

In production mode with the development secret key it does not load (masspost.production): the import fails with
the one-line reason, which a WSGI server reports as an application that cannot start (gunicorn: "Worker failed to
boot", and it stops) — never serving sessions signed with a public key."""

from __future__ import annotations

import os
import warnings

from django.conf import settings
from django.core.wsgi import get_wsgi_application

from masspost.production import refuse_development_key

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "masspost.settings")
# WhiteNoise serves the apps' static folders themselves (WHITENOISE_USE_FINDERS): that STATIC_ROOT, where
# collectstatic would copy them, does not exist is expected, not worth a warning in every worker's log.
warnings.filterwarnings("ignore", message=r"No directory at: ", category=UserWarning)

# Before Django is set up: the settings are read, nothing else is done.
refuse_development_key("masspost.wsgi", production=settings.PRODUCTION, secret_key=settings.SECRET_KEY,
                       development_key=settings.DEV_SECRET_KEY)
application = get_wsgi_application()
