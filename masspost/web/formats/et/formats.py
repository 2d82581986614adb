"""Estonian formats as a clinic reads them (masspost.web.templatetags.masspost_format): dates "07.12.2026", times
"14:05" (24-hour), numbers "1 649" and "5,53" — Django's own leave thousands ungrouped ("1649") and write dates
"7. detsember 2026"; one short numeric form everywhere instead. Everything not set here comes from Django's et."""

DECIMAL_SEPARATOR = ","
THOUSAND_SEPARATOR = "\xa0"
NUMBER_GROUPING = 3
DATE_FORMAT = "d.m.Y"
SHORT_DATE_FORMAT = "d.m.Y"
DATETIME_FORMAT = "d.m.Y H:i"
SHORT_DATETIME_FORMAT = "d.m.Y H:i"
TIME_FORMAT = "H:i"
MONTH_DAY_FORMAT = "d.m"
FIRST_DAY_OF_WEEK = 1
DATE_INPUT_FORMATS = ["%d.%m.%Y", "%d.%m.%y"]  # the ISO form (type="date" fields) is always accepted too
