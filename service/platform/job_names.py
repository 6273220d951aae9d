"""The workers' jobs by name. The service enqueues them by these names (it never imports
workers/), workers/schedule.py registers each task under the same name, and
tests/test_jobs.py checks that every name here has its task."""

from __future__ import annotations

SEND_NOTIFICATION = "send_notification"
# Many send_notification jobs in one batch become one of these (service/platform/jobs.py).
SWEEP_NOTIFICATIONS = "sweep_notifications"
# The crons' bulk notices (reminders, survey invitations), sent in batches.
SEND_DUE_NOTICES = "send_due_notices"
COMPILE_INDICATORS = "compile_indicators"
BUILD_MATCHING_SCHEDULE = "build_matching_schedule"
PROCESS_LINE_EVENT = "process_line_event"
SEND_LINE_NEWS = "send_line_news"
SEND_FOLLOW_UP_MAILS = "send_follow_up_mails"


def send_notification_id(notification_id: int) -> str:
    """One job id per notice: arq runs a job id once at a time, however often it is enqueued."""
    return f"notify:{notification_id}"
