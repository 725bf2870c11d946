# One date-time format for the Russian pages (Django's own reads «5 декабря 2026 г. 1:51»).
DATE_FORMAT = "j E Y"
DATETIME_FORMAT = "j E Y, H:i"
SHORT_DATETIME_FORMAT = "d.m.Y H:i"
