"""Russian formats as a clinic in Estonia reads them (masspost.web.templatetags.masspost_format): dates
"07.12.2026", times "14:05", numbers "1 649" and "5,53" — the same numeric forms as Estonian (taken from its module,
so the two cannot drift apart), where Django's own write "7 декабря 2026 г.". Everything not set here comes from
Django's ru formats."""

from masspost.web.formats.et.formats import (  # noqa: F401 (Django reads these names off this module)
    DATE_FORMAT,
    DATE_INPUT_FORMATS,
    DATETIME_FORMAT,
    DECIMAL_SEPARATOR,
    FIRST_DAY_OF_WEEK,
    MONTH_DAY_FORMAT,
    NUMBER_GROUPING,
    SHORT_DATE_FORMAT,
    SHORT_DATETIME_FORMAT,
    THOUSAND_SEPARATOR,
    TIME_FORMAT,
)
