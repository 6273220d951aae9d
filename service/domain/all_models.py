"""Imports every model so that Base.metadata is complete (for Alembic and tests)."""

from service.domain.accounts.models import AuditEntry, StaffToken, StaffUser
from service.domain.bookings.models import Booking, IdempotencyRecord
from service.domain.calendars.models import CalendarChanges, Installation, StaffFeedLink
from service.domain.events.models import (
    Event,
    EventSession,
    Organization,
    SessionSeat,
    Venue,
    event_cohosts,
    event_employers,
)
from service.domain.followups.models import FollowUpAnswer, FollowUpCampaign, FollowUpTarget
from service.domain.indicators.models import (
    DeskRecord,
    FiscalYearSetting,
    HandFigure,
    HeardFromFigure,
    IndicatorCompilation,
    IndicatorDefinition,
    IndicatorFigure,
    IndicatorTarget,
    SurveyAnswer,
)
from service.domain.line.models import (
    LineDelivery,
    LineDeskCode,
    LineFollow,
    LineLink,
    LineLinkNonce,
    LineNewsSend,
    LineWebhookEvent,
)
from service.domain.matching.models import (
    CompanyChoice,
    MatchingCompany,
    MatchingDay,
    MatchingProfile,
    MatchingTable,
    Meeting,
    ParticipantChoice,
)
from service.domain.notifications.models import Notification
from service.domain.people.models import Person, PersonMerge
from service.platform.db import Base

__all__ = [
    "AuditEntry",
    "Base",
    "Booking",
    "CalendarChanges",
    "CompanyChoice",
    "DeskRecord",
    "Event",
    "EventSession",
    "FiscalYearSetting",
    "FollowUpAnswer",
    "FollowUpCampaign",
    "FollowUpTarget",
    "HandFigure",
    "HeardFromFigure",
    "IdempotencyRecord",
    "IndicatorCompilation",
    "IndicatorDefinition",
    "IndicatorFigure",
    "IndicatorTarget",
    "Installation",
    "LineDelivery",
    "LineDeskCode",
    "LineFollow",
    "LineLink",
    "LineLinkNonce",
    "LineNewsSend",
    "LineWebhookEvent",
    "MatchingCompany",
    "MatchingDay",
    "MatchingProfile",
    "MatchingTable",
    "Meeting",
    "Notification",
    "Organization",
    "ParticipantChoice",
    "Person",
    "PersonMerge",
    "SessionSeat",
    "StaffFeedLink",
    "StaffToken",
    "StaffUser",
    "SurveyAnswer",
    "Venue",
    "event_cohosts",
    "event_employers",
]
