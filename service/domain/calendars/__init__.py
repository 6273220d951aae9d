"""Calendars domain."""
