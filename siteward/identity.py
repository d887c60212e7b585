"""Which branch and commit a run measured: the flag, else the CI's environment, else git.

Regression baselines are runs of the baseline branch ("main"): a pull request's run is
compared with main's runs, never with another pull request's. An unknown branch is ""
(no CI variable, no git, or a detached HEAD); reports/baselines.py says how it counts.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

from siteward.errors import UsageError

# First non-empty wins. GITHUB_HEAD_REF is a pull request's source branch (GITHUB_REF_NAME
# is then "123/merge"); GitLab, Jenkins multibranch and the Jenkins git plugin follow.
BRANCH_VARIABLES = ("GITHUB_HEAD_REF", "GITHUB_REF_NAME", "CI_COMMIT_REF_NAME", "BRANCH_NAME", "GIT_BRANCH")
COMMIT_VARIABLES = ("GITHUB_SHA", "CI_COMMIT_SHA", "GIT_COMMIT")
GIT_TIMEOUT_S = 3.0
MAX_LENGTH = 200


@dataclass(frozen=True)
class RunIdentity:
    branch: str = ""
    commit: str = ""


def clean_branch(name: str) -> str:
    """'refs/heads/main' and Jenkins' 'origin/main' are the branch 'main'."""
    name = name.strip()
    for prefix in ("refs/heads/", "origin/"):
        name = name.removeprefix(prefix)
    return name


def check_label(flag: str, value: str) -> str:
    """A --branch/--commit value: printable, no whitespace, at most 200 characters (else exit 2)."""
    value = value.strip()
    if not value or len(value) > MAX_LENGTH or any(c.isspace() or not c.isprintable() for c in value):
        raise UsageError(f"{flag}: expected a name of 1-{MAX_LENGTH} printable characters without spaces,"
                         f" got {value[:60]!r}")
    return value


def _git(args: list[str], cwd: str | None) -> str:
    """git's answer, or "" when git is missing, this is no repository, or it takes too long."""
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=GIT_TIMEOUT_S,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def _first(env: Mapping[str, str], names: tuple[str, ...]) -> str:
    return next((env[n].strip() for n in names if env.get(n, "").strip()), "")


def detect_identity(branch: str | None = None, commit: str | None = None, *,
                    env: Mapping[str, str] | None = None, cwd: str | None = None) -> RunIdentity:
    """The flags win, then the CI variables, then git in `cwd`; each part separately."""
    env = os.environ if env is None else env
    found_branch = check_label("--branch", branch) if branch is not None else clean_branch(_first(env, BRANCH_VARIABLES))
    found_commit = check_label("--commit", commit) if commit is not None else _first(env, COMMIT_VARIABLES)
    if not found_branch:
        head = _git(["rev-parse", "--abbrev-ref", "HEAD"], cwd)
        found_branch = "" if head == "HEAD" else head  # a detached HEAD is on no branch
    if not found_commit:
        found_commit = _git(["rev-parse", "HEAD"], cwd)
    return RunIdentity(branch=found_branch[:MAX_LENGTH], commit=found_commit[:MAX_LENGTH])
