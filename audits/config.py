"""Config section [audits]: Lighthouse CI collection and the cheap page audits."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class AuditsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lighthouse: bool = True
    presets: list[Literal["mobile", "desktop"]] = Field(default_factory=lambda: ["mobile", "desktop"])
    runs: int = Field(3, ge=1, le=25, description="Lighthouse runs per page and preset")
    timeout_s: float = Field(180, gt=0, le=1800, description="per lhci collect call")
    parallel: int = Field(1, ge=1, le=4, description="1 by default: parallel runs distort timings")
    lighthouserc: str | None = Field(None, description="path of an existing lighthouserc with assertions")
    page_audits: bool = True
    cert_min_days: int = Field(21, ge=0)
