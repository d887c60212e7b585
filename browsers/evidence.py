"""Findings that say why: a failing journey with what the page showed, uncaught exceptions,
and a page checked with browser state that did not end where it asked to go."""

from __future__ import annotations

from browsers.checks import STAGE
from siteward.browser_state import same_page
from siteward.journeys import JourneyOutcome
from siteward.records import Finding

MAX_SHOWN = 3


def _quoted(texts: list[str]) -> str:
    return "; ".join(f"'{t[:160]}'" for t in texts[:MAX_SHOWN])


def journey_failure(outcome: JourneyOutcome, subject: str, tags: dict[str, str], evidence: list[str]) -> Finding:
    """The failed step and the error, then what the page itself said, then where it was."""
    message = f"failed at step {outcome.failed_step}: {outcome.error}"
    if outcome.visible_errors:
        message += f"; the page shows: {_quoted(outcome.visible_errors)}"
    exceptions = [e for e in outcome.page_errors if e.startswith("Uncaught")]
    if exceptions:
        message += f"; uncaught: {_quoted(exceptions)}"
    if outcome.url:
        message += f" (at {outcome.url})"
    if outcome.repeated:
        message += " (the retry met the same failure: deterministic, stopped early)"
    return Finding(
        stage=STAGE, subject=subject, tags=tags, check="journey", status="fail", severity="critical",
        message=message, evidence=evidence,
        data={"step": outcome.failed_step, "error": outcome.error, "passed_steps": len(outcome.steps),
              "url": outcome.url, "visible_errors": outcome.visible_errors,
              "page_errors": outcome.page_errors[:20], "repeated": outcome.repeated},
    )


def uncaught_findings(page_errors: list[str], subject: str, tags: dict[str, str]) -> list[Finding]:
    """Uncaught exceptions during a journey are bugs in their own right, even when the journey passed."""
    exceptions = [e for e in page_errors if e.startswith(("Uncaught", "Unhandled"))]
    if not exceptions:
        return []
    return [Finding(stage=STAGE, subject=subject, tags=tags, check="uncaught-exception", status="fail",
                    message=f"{len(exceptions)} uncaught exception(s) during the journey: {_quoted(exceptions)}",
                    data={"exceptions": exceptions[:20]})]


def state_applied(page: str, journey: str, requested: str, final: str, subject: str, tags: dict[str, str],
                  evidence: list[str]) -> Finding:
    """A page checked with a journey's state must end where it asked to go; a redirect (to a login
    page, to an empty cart) means the state did not apply and the check saw another page."""
    if same_page(final, requested):
        return Finding(stage=STAGE, subject=subject, tags=tags, check="state-applied", status="pass",
                       severity="info", message=f"with the state of journey {journey!r} the page stayed on {final}",
                       data={"requested": requested, "final": final, "journey": journey})
    return Finding(stage=STAGE, subject=subject, tags=tags, check="state-applied", status="fail", severity="critical",
                   message=f"page {page!r} was checked with the browser state of journey {journey!r} but ended on "
                           f"{final} instead of {requested}: the state did not apply, the checks saw another page",
                   evidence=evidence, data={"requested": requested, "final": final, "journey": journey})
