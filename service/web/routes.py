"""Every page route handler, public and organizer."""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from service.web.booking_pages import BookingPages
from service.web.calendars import CalendarFiles
from service.web.follow_up_pages import FollowUpPages
from service.web.line_pages import LinePages
from service.web.manage import manage_page_handlers
from service.web.public_lookup import LineUnlinkPages, LookupPages
from service.web.public_pages import PublicPages
from service.web.public_people import PersonPages
from service.web.survey_pages import SurveyPages

web_handlers: list[ControllerRouterHandler] = [PublicPages, CalendarFiles]
web_handlers += [
    BookingPages,
    LookupPages,
    SurveyPages,
    LinePages,
    LineUnlinkPages,
    PersonPages,
    FollowUpPages,
]
web_handlers += manage_page_handlers
