"""Matching days (お仕事面談会, 新現役交流会): companies and people choose whom they meet, the
workers build the timetable with a solver, outcomes give the matching rate.

Meetings are keyed by booking id (a participant is a confirmed booking of the day's session with
a consented profile); when the people area links bookings to persons, meetings follow through
`matching_meetings.booking_id`."""
