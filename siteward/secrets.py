"""Secrets: values come from environment variables named in the config, never the file.

`Secrets.redact` scrubs them from anything we write (records, logs, reports) so a
test password cannot leak through a console message or a failed-step message.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from siteward.errors import ConfigError

REFERENCE = re.compile(r"\$\{secrets\.([A-Za-z0-9_]+)\}")
MASK = "********"
# Shorter values are refused: masking "abc" wherever it appears would mangle every report, and
# not masking it would leak it.
MIN_SECRET_LENGTH = 4


URL_PASSWORD = re.compile(r"(//[^/@\s:]*):[^@/\s]*@")


def mask_url_passwords(text: str) -> str:
    """http://user:pass@host -> http://user:********@host, wherever such a URL appears in text."""
    return URL_PASSWORD.sub(lambda m: f"{m.group(1)}:{MASK}@", text)


class Secrets:
    def __init__(self, env_names: Mapping[str, str], *, source: str = "config", environ: Mapping[str, str] | None = None):
        self._env_names = dict(env_names)
        self._source = source
        environ = os.environ if environ is None else environ
        self._values = {name: environ[env] for name, env in self._env_names.items() if environ.get(env)}

    def value(self, name: str) -> str:
        if name not in self._env_names:
            known = ", ".join(sorted(self._env_names)) or "none"
            raise ConfigError(f"{self._source}: ${{secrets.{name}}} is not declared under [secrets] (declared: {known})")
        if name not in self._values:
            raise ConfigError(
                f"{self._source}: secrets.{name} needs the environment variable {self._env_names[name]} to be set"
                " (it is unset or empty)"
            )
        if len(self._values[name]) < MIN_SECRET_LENGTH:
            raise ConfigError(
                f"{self._source}: secrets.{name}: the value of {self._env_names[name]} is shorter than "
                f"{MIN_SECRET_LENGTH} characters, too short to be masked in reports and logs; use a longer secret"
            )
        return self._values[name]

    def substitute(self, text: str) -> str:
        """Replace ${secrets.NAME} references with their values (for use, never for output)."""
        return REFERENCE.sub(lambda m: self.value(m.group(1)), text)

    def references(self, text: str) -> list[str]:
        return REFERENCE.findall(text)

    def redact(self, text: str) -> str:
        # Longest first, so a secret that contains another is masked whole.
        for value in sorted(self._values.values(), key=len, reverse=True):
            if len(value) >= MIN_SECRET_LENGTH:
                text = text.replace(value, MASK)
        return text

    def values_to_mask(self) -> list[str]:
        """The values themselves, for redaction that must also find their encoded forms (a
        trace zip holds them JSON-escaped and URL-encoded); for masking only, never output."""
        return [v for v in self._values.values() if len(v) >= MIN_SECRET_LENGTH]

    def also_mask(self, value: str) -> None:
        """A value derived from the secrets (an encoded credential) that outputs must not show either."""
        if len(value) >= MIN_SECRET_LENGTH:
            self._values[f"derived:{len(self._values)}"] = value

    def __bool__(self) -> bool:
        return bool(self._values)
