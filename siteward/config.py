"""siteward.toml, composed (the roof): the shared part plus each stage's section, and the loader
that turns bad config into one clear message naming the file and the key.

The shared sections and their defaults are in siteward.schema and siteward.stage; each
stage owns its own section. Secrets are named here (env var names), never stored.
"""

from __future__ import annotations

import difflib
import math
import stat
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError, model_validator

from audits.config import AuditsConfig
from browsers.config import BrowsersConfig, VisualConfig, check_devices, check_engines
from loadtests.config import LoadConfig
from siteward.errors import ConfigError
from siteward.secrets import mask_url_passwords
from siteward.stage import BUILTIN_SOURCE, CoreConfig

__all__ = ["BUILTIN_SOURCE", "SitewardConfig", "builtin_config_text", "load_config", "parse_config"]

DEFAULT_CONFIG_NAME = "siteward.toml"


class SitewardConfig(CoreConfig):
    """The whole siteward.toml: the shared part plus each stage's own section."""

    browsers: BrowsersConfig = Field(default_factory=BrowsersConfig)
    visual: VisualConfig = Field(default_factory=VisualConfig)
    audits: AuditsConfig = Field(default_factory=AuditsConfig)
    load: LoadConfig = Field(default_factory=LoadConfig)

    @model_validator(mode="after")
    def _journey_profiles(self) -> "SitewardConfig":
        """Journeys live in the spine; their engine and device names are the browsers stage's to check."""
        for index, journey in enumerate(self.journeys):
            for key, check in (("engines", check_engines), ("devices", check_devices)):
                try:
                    check(getattr(journey, key))
                except ValueError as exc:
                    raise ValueError(f"journeys[{index}].{key}: {exc}") from None
        under_load = self.load.under_load
        if under_load.journey is not None and under_load.journey not in {j.name for j in self.journeys}:
            known = ", ".join(j.name for j in self.journeys) or "none"
            raise ValueError(f"load.under_load.journey {under_load.journey!r} is no [[journeys]] name (known: {known})")
        try:
            check_devices([under_load.device])
        except ValueError as exc:
            raise ValueError(f"load.under_load.device: {exc}") from None
        return self


# --------------------------------------------------------------------------- loading


def _model_at(loc: tuple, model: type[BaseModel] | None) -> type[BaseModel] | None:
    """Follow a validation error's location down the schema to the model it is in."""
    for part in loc:
        if model is None or isinstance(part, int):
            continue
        field = model.model_fields.get(part) or next(
            (f for f in model.model_fields.values() if f.alias == part), None
        )
        if field is None:
            return model
        ann = field.annotation
        inner = getattr(ann, "__args__", None)
        candidates = [ann, *(inner or ())]
        model = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if model is None:
            for c in inner or ():
                for cc in getattr(c, "__args__", ()) or ():
                    if isinstance(cc, type) and issubclass(cc, BaseModel):
                        model = cc
    return model


def _key_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def format_validation_error(err: ValidationError, source: str) -> str:
    lines = []
    for e in err.errors():
        loc = tuple(p for p in e["loc"] if p not in ("function-after", "function-before"))
        key = _key_path(loc)
        if e["type"] == "extra_forbidden":
            parent = _model_at(loc[:-1], SitewardConfig)
            valid = [f.alias or n for n, f in parent.model_fields.items()] if parent else []
            close = difflib.get_close_matches(str(loc[-1]), valid, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else f"valid keys: {', '.join(valid)}"
            lines.append(f"{key}: unknown key; {hint}")
        elif e["type"] == "missing":
            lines.append(f"{key}: required key is missing")
        else:
            msg = e["msg"].removeprefix("Value error, ")
            got = e.get("input")
            shown = "" if isinstance(got, (dict, list)) or got is None else f" (got {mask_url_passwords(repr(got))})"
            if "got" in msg or (loc and "password" in str(loc[-1]).lower()):  # never echo a password
                shown = ""
            lines.append(f"{key}: {msg}{shown}")
    # Whole-config checks name their key path in the message itself.
    lines = [line.removeprefix("(top level): ") for line in lines]
    head = f"{source}: invalid config"
    return head + ("\n  " + "\n  ".join(lines) if len(lines) > 1 else ": " + lines[0])


def _non_finite_key(data: Any, loc: tuple = ()) -> str | None:
    """The key path of the first nan/inf (TOML allows them; no limit, rate or timeout is one)."""
    if isinstance(data, float) and not math.isfinite(data):
        return _key_path(loc)
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, (list, tuple)) else ()
    for key, value in items:
        found = _non_finite_key(value, (*loc, key))
        if found:
            return found
    return None


def parse_config(data: dict[str, Any], source: str) -> SitewardConfig:
    bad_number = _non_finite_key(data)
    if bad_number:
        raise ConfigError(f"{source}: invalid config: {bad_number}: expected a finite number, got nan or inf")
    try:
        config = SitewardConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_validation_error(err, source)) from None
    bad_number = _non_finite_key(config.model_dump(by_alias=True))  # e.g. the string "nan" parsed as a float
    if bad_number:
        raise ConfigError(f"{source}: invalid config: {bad_number}: expected a finite number, got nan or inf")
    config._source = source
    return config


def builtin_config_text() -> str:
    return resources.files("siteward").joinpath("demo.toml").read_text(encoding="utf-8")


MAX_CONFIG_BYTES = 1_000_000  # a siteward.toml is a few kilobytes; a device or a huge file is a mistake


def _read_config_file(path: Path, source: str) -> str:
    """A regular file of bounded size, read without blocking (a FIFO or a device is refused, not read)."""
    try:
        info = path.stat()  # follows a symlink: what it points to must be a regular file too
    except FileNotFoundError:
        raise ConfigError(f"{source}: config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read config: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"{source}: not a regular file (a directory, pipe or device cannot be a config)")
    if info.st_size > MAX_CONFIG_BYTES:
        raise ConfigError(f"{source}: {info.st_size} bytes, more than a config's limit of {MAX_CONFIG_BYTES}")
    try:
        with path.open("rb") as file:
            data = file.read(MAX_CONFIG_BYTES + 1)
        if len(data) > MAX_CONFIG_BYTES:
            raise ConfigError(f"{source}: more than a config's limit of {MAX_CONFIG_BYTES} bytes")
        return data.decode("utf-8")
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read config: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{source}: cannot read config: {exc}") from None


def load_config(path: str | Path | None = None, *, target: str | None = None, results: str | None = None) -> SitewardConfig:
    """Load `path`, else ./siteward.toml if present, else the built-in demo shop config."""
    if path is None and Path(DEFAULT_CONFIG_NAME).is_file():
        path = DEFAULT_CONFIG_NAME
    if path is None:
        source, text = BUILTIN_SOURCE, builtin_config_text()
    else:
        source = str(path)
        text = _read_config_file(Path(path), source)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    if target is not None:
        data.setdefault("target", {})
        if not isinstance(data["target"], dict):
            raise ConfigError(f"{source}: target: expected a table like [target] base_url = \"...\"")
        data["target"]["base_url"] = target
    if results is not None:
        data.setdefault("results", {})
        if isinstance(data["results"], dict):
            data["results"]["root"] = results
    return parse_config(data, source)
