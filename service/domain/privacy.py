"""The version of 個人情報の取扱い (/privacy) a person agrees to: recorded with each consent, so
that a change of the text can be told apart from what someone agreed to earlier."""

from __future__ import annotations

PRIVACY_VERSION = "2026-12"
