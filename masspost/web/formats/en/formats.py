"""English as used in Estonia (en-GB), never American (masspost.web.templatetags.masspost_format): dates
"7 Dec 2026" — the month by name, so that nobody reads 07.12 as July — times "14:05" (24-hour, never "a.m."),
numbers "1,649" and "5.53". Django's "en" is American ("Dec. 7, 2026, 2:05 p.m.", input "12/07/2026")."""

DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
DATE_FORMAT = "j M Y"
SHORT_DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y, H:i"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
TIME_FORMAT = "H:i"
MONTH_DAY_FORMAT = "j M"
YEAR_MONTH_FORMAT = "F Y"
FIRST_DAY_OF_WEEK = 1
DATE_INPUT_FORMATS = ["%d.%m.%Y", "%d/%m/%Y", "%d %b %Y", "%d %B %Y"]  # day first; ISO always accepted too
DATETIME_INPUT_FORMATS = ["%d.%m.%Y %H:%M", "%d/%m/%Y %H:%M", "%d.%m.%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S"]
