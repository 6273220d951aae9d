"""The staff member behind a request, as the rules see them."""

from __future__ import annotations

from dataclasses import dataclass

from service.domain.accounts.models import StaffUser

# Higher ranks may do everything lower ranks may.
# Company staff rank below co-hosts: every route that does not name "company" as its minimum
# refuses them (403) before anything is read.
ROLE_RANK = {"company": -1, "cohost": 0, "organizer": 1, "admin": 2}


@dataclass(frozen=True, slots=True)
class Actor:
    id: int
    username: str
    display_name: str
    role: str
    organization_id: int | None

    @property
    def sees_everything(self) -> bool:
        """Organizers and admins see every event; co-host staff only what they co-host."""
        return self.role in ("admin", "organizer")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def has_role(self, minimum: str) -> bool:
        return ROLE_RANK.get(self.role, -1) >= ROLE_RANK[minimum]

    @classmethod
    def of(cls, user: StaffUser) -> Actor:
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name or user.username,
            role=user.role,
            organization_id=user.organization_id,
        )
