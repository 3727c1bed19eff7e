"""The one time zone of the service: every centre is in North Rhine-Westphalia, so slot times, mail and
calendar files are local times of Europe/Berlin."""

from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Europe/Berlin")
