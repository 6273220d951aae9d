"""The worker's functions and crons, importable without reading the environment (tests build a
Worker from these with their own settings)."""

from __future__ import annotations

from arq.cron import CronJob, cron
from arq.worker import Function, func

from service.platform.job_names import (
    BUILD_MATCHING_SCHEDULE,
    COMPILE_INDICATORS,
    PROCESS_LINE_EVENT,
    SEND_DUE_NOTICES,
    SEND_FOLLOW_UP_MAILS,
    SEND_LINE_NEWS,
    SEND_NOTIFICATION,
    SWEEP_NOTIFICATIONS,
)
from workers.followups import send_follow_up_mails, sweep_follow_ups
from workers.indicators import (
    compile_indicators,
    compile_indicators_nightly,
    compile_stale_indicators,
    purge_personal_data,
)
from workers.line import process_line_event, send_line_news, sweep_line_events
from workers.maintenance import purge_expired_records
from workers.matching import build_matching_schedule
from workers.notifications import (
    send_due_notices,
    send_notification,
    sweep_notifications,
    write_reminders,
    write_survey_invitations,
)
from workers.observed import observed
from workers.waiting_lists import promote_waiting_lists

FUNCTIONS: list[Function] = [
    # No result kept: the sweep must be able to enqueue notify:{id} again for a retry.
    func(
        observed(send_notification),
        name=SEND_NOTIFICATION,
        keep_result=0,
        timeout=120,
        max_tries=3,
    ),
    # Enqueued after the reminder and survey crons' commit as send_due_notices:<kind>:<first id>;
    # a run stops taking batches after batches.RUN_BUDGET, well inside the timeout.
    func(
        observed(send_due_notices),
        name=SEND_DUE_NOTICES,
        keep_result=0,
        timeout=600,
        max_tries=3,
    ),
    # The web process sends one of these instead of many send_notification jobs in a rush
    # (service/platform/jobs.py); the cron of the same task runs under the name
    # cron:sweep_notifications.
    func(
        observed(sweep_notifications),
        name=SWEEP_NOTIFICATIONS,
        keep_result=0,
        timeout=60,
        max_tries=3,
    ),
    # Enqueued with the id indicators:<year>:<version> (one run per change of the year).
    func(
        observed(compile_indicators),
        name=COMPILE_INDICATORS,
        keep_result=0,
        timeout=600,
        max_tries=3,
    ),
    # Enqueued after the webhook's commit as line_event:<row id>; the sweep adds a minute suffix.
    func(
        observed(process_line_event),
        name=PROCESS_LINE_EVENT,
        keep_result=0,
        timeout=60,
        max_tries=5,
    ),
    # Enqueued as line_news:<send id>:<attempt> when staff send an event's news.
    func(observed(send_line_news), name=SEND_LINE_NEWS, keep_result=0, timeout=600, max_tries=3),
    # Enqueued with the id matching:<event>:<version> (one build per press of 面談表を作成).
    func(
        observed(build_matching_schedule),
        name=BUILD_MATCHING_SCHEDULE,
        keep_result=0,
        timeout=300,
        max_tries=2,
    ),
    # Enqueued as follow-up-mails:<campaign> when a campaign is sent; no result kept, so the
    # sweep below can run it again.
    func(
        observed(send_follow_up_mails),
        name=SEND_FOLLOW_UP_MAILS,
        keep_result=0,
        timeout=3600,
        max_tries=3,
    ),
]

CRON_JOBS: list[CronJob] = [
    # Every 30 s, and at start: a killed worker's mail goes out within a lease and a sweep.
    cron(observed(sweep_notifications), second={5, 35}, run_at_startup=True, timeout=60),
    # Reminders are due at 9:00 Asia/Tokyo; every quarter hour what is due and not yet written
    # is written (a worker down at 9:00 catches up within a quarter hour of starting; not at
    # start-up itself, which would hold up the mail a restarted worker owes). The dedup key
    # keeps one reminder per booking and day.
    cron(
        observed(write_reminders),
        minute={0, 15, 30, 45},
        second=30,
        timeout=300,
    ),
    # The survey the day after an attended consultation or seminar: 10:00 Asia/Tokyo, with a
    # catch-up run (one per booking, whatever runs).
    cron(observed(write_survey_invitations), hour={10, 15}, minute=5, second=0, timeout=300),
    # LINE webhook events whose job was lost (nothing to do while LINE is off).
    cron(observed(sweep_line_events), second=50, timeout=60),
    cron(observed(promote_waiting_lists), minute=set(range(2, 60, 5)), second=15, timeout=300),
    # 3:40 Asia/Tokyo, when nobody books: idempotency records older than 24 hours and expired
    # staff tokens (both would grow forever otherwise). Running twice deletes nothing more.
    cron(observed(purge_expired_records), hour=3, minute=40, second=0, timeout=600),
    # A check-in, walk-in or record change marks its year stale: compiled within a minute.
    cron(observed(compile_stale_indicators), second=40, timeout=600),
    # 3:20 Asia/Tokyo (the worker's timezone).
    cron(observed(compile_indicators_nightly), hour=3, minute=20, second=0, timeout=1200),
    # 4:10 Asia/Tokyo: personal data past RETENTION_MONTHS (the figures stay as they are).
    cron(observed(purge_personal_data), hour=4, minute=10, second=0, timeout=3600),
    # Campaigns still sending (a lost job, a killed worker, a mail server that was away).
    cron(observed(sweep_follow_ups), minute=set(range(7, 60, 10)), second=50, timeout=3600),
]
