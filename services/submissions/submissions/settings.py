from __future__ import annotations

from hackathon_shared.settings import ServiceSettings


class SubmissionsSettings(ServiceSettings):
    service_name: str = "submissions"
