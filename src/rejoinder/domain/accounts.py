"""Reader accounts: who a signed-in reader is on one site."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class AccountRole(StrEnum):
    READER = "reader"
    MODERATOR = "moderator"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class User:
    id: int
    site_id: int
    email: str | None
    display_name: str
    role: AccountRole
    sso_id: str | None
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.display_name, "email": self.email,
                "role": self.role.value, "sso": self.sso_id is not None}
