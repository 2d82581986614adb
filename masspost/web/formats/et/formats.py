"""Estonian number formats as a clinic reads them: Django's own leave thousands ungrouped ("1649"); Estonian
writes "1 649" (a non-breaking space), like Russian. Everything not set here comes from Django's et formats."""

DECIMAL_SEPARATOR = ","
THOUSAND_SEPARATOR = "\xa0"
NUMBER_GROUPING = 3
SHORT_DATETIME_FORMAT = "d.m.Y H:i"
SHORT_DATE_FORMAT = "d.m.Y"
