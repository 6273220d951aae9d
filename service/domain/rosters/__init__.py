"""Rosters domain."""
