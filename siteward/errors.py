"""One exception hierarchy; each error carries the exit code DESIGN.md fixes.

Only bad usage/config and "cannot measure at all" raise. A check that breaks
while measuring becomes an error record instead (see records.Finding).
"""

EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_USAGE = 2
EXIT_CANNOT_MEASURE = 3


class SitewardError(Exception):
    """Base of every error siteward raises on purpose; never shown as a traceback."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class UsageError(SitewardError):
    """Bad command-line usage (exit 2)."""


class ConfigError(SitewardError):
    """Invalid siteward.toml (exit 2): names the file, the key and what is expected."""


class CannotMeasure(SitewardError):
    """Nothing could be measured: target unreachable, browser or tool missing (exit 3)."""

    exit_code = EXIT_CANNOT_MEASURE


class ToolMissing(CannotMeasure):
    """A required engine or tool is not installed; the hint says how to install it."""


class TargetUnreachable(CannotMeasure):
    """The target's base URL does not answer."""


class UnsafeTarget(UsageError):
    """Load traffic to a host that is not on the allow list (refused before any request)."""
