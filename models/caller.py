"""Who is asking: the authenticated user as the data layer needs to know them."""

from dataclasses import dataclass

from models.enums import SYSADMIN


@dataclass(frozen=True, slots=True)
class Caller:
    user_id: int
    email: str
    role: str
    institution_id: int

    @property
    def is_sysadmin(self) -> bool:
        return self.role == SYSADMIN
