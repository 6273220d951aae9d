"""Indicators domain."""
