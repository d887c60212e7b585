"""Device profiles: short names (``iphone-13``, ``pixel-7``, ``fold``) for Playwright's descriptors.

The registry is static so that config validation never has to start a browser; the
descriptor values themselves (viewport, device scale factor, user agent, touch) come
from Playwright's ``devices`` table at run time, so they stay as current as Playwright.
"desktop" is ours: a plain 1366x768 window with each engine's own user agent.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

Kind = Literal["desktop", "phone", "tablet", "foldable"]

DESKTOP_VIEWPORT = {"width": 1366, "height": 768}

# short name -> (Playwright descriptor name, kind); None = not a Playwright descriptor.
REGISTRY: dict[str, tuple[str | None, Kind]] = {
    "desktop": (None, "desktop"),
    "iphone-se": ("iPhone SE", "phone"),
    "iphone-13": ("iPhone 13", "phone"),
    "iphone-15-pro": ("iPhone 15 Pro", "phone"),
    "pixel-5": ("Pixel 5", "phone"),
    "pixel-7": ("Pixel 7", "phone"),
    "galaxy-s9": ("Galaxy S9+", "phone"),
    "galaxy-s24": ("Galaxy S24", "phone"),
    "ipad-mini": ("iPad Mini", "tablet"),
    "ipad-pro-11": ("iPad Pro 11", "tablet"),
    "galaxy-tab-s9": ("Galaxy Tab S9", "tablet"),
    "fold": ("Galaxy Z Fold 7", "foldable"),
    "fold-cover": ("Galaxy Z Fold 7 Cover", "phone"),
}


def device_names() -> list[str]:
    return list(REGISTRY)


def unknown_device_message(name: str) -> str:
    close = difflib.get_close_matches(name, REGISTRY, n=1, cutoff=0.5)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown device {name!r}; {hint}valid devices: {', '.join(device_names())}"


def check_device_name(name: str) -> str:
    if name not in REGISTRY:
        raise ValueError(unknown_device_message(name))
    return name


@dataclass(frozen=True)
class DeviceProfile:
    """What a profile asks the engine to emulate."""

    name: str
    kind: Kind
    descriptor: str | None
    viewport: dict[str, int]
    device_scale_factor: float = 1.0
    user_agent: str | None = None  # None: the engine's own
    is_mobile: bool = False
    has_touch: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def form_factor(self) -> str:
        """Budgets group phones, tablets and foldables as "mobile"."""
        return "desktop" if self.kind == "desktop" else "mobile"

    def playwright_context_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "viewport": dict(self.viewport),
            "device_scale_factor": self.device_scale_factor,
            "is_mobile": self.is_mobile,
            "has_touch": self.has_touch,
        }
        if self.user_agent:
            options["user_agent"] = self.user_agent
        return options


def resolve_device(name: str, descriptors: Mapping[str, Mapping[str, Any]]) -> DeviceProfile:
    """The profile for a short name, from Playwright's ``devices`` mapping."""
    check_device_name(name)
    descriptor_name, kind = REGISTRY[name]
    if descriptor_name is None:
        return DeviceProfile(name=name, kind=kind, descriptor=None, viewport=dict(DESKTOP_VIEWPORT))
    descriptor = descriptors.get(descriptor_name)
    if descriptor is None:
        raise LookupError(f"device {name!r}: this Playwright has no descriptor {descriptor_name!r}")
    return DeviceProfile(
        name=name,
        kind=kind,
        descriptor=descriptor_name,
        viewport=dict(descriptor["viewport"]),
        device_scale_factor=float(descriptor.get("device_scale_factor", 1)),
        user_agent=descriptor.get("user_agent"),
        is_mobile=bool(descriptor.get("is_mobile", False)),
        has_touch=bool(descriptor.get("has_touch", False)),
    )
