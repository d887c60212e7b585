"""Run identity: --branch/--commit, else the CI's environment variables, else git, else unknown."""

from __future__ import annotations

import subprocess

import pytest

from siteward.errors import UsageError
from siteward.identity import BRANCH_VARIABLES, COMMIT_VARIABLES, detect_identity

NO_CI: dict[str, str] = {}


def _repo(path, branch="feature/x"):
    run = lambda *args: subprocess.run(["git", *args], cwd=path, check=True, capture_output=True)  # noqa: E731
    run("init", "-q", "-b", branch)
    run("-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "--allow-empty", "-m", "x")
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True).stdout.strip()


def test_flags_win_over_everything(tmp_path):
    env = {"GITHUB_REF_NAME": "main", "GITHUB_SHA": "f" * 40}
    found = detect_identity("pr-7", "abc123", env=env, cwd=str(tmp_path))
    assert (found.branch, found.commit) == ("pr-7", "abc123")


@pytest.mark.parametrize("env, branch, commit", [
    ({"GITHUB_HEAD_REF": "feature-1", "GITHUB_REF_NAME": "12/merge", "GITHUB_SHA": "a1"}, "feature-1", "a1"),
    ({"GITHUB_HEAD_REF": "", "GITHUB_REF_NAME": "main", "GITHUB_SHA": "a2"}, "main", "a2"),
    ({"CI_COMMIT_REF_NAME": "mr-branch", "CI_COMMIT_SHA": "b1"}, "mr-branch", "b1"),
    ({"BRANCH_NAME": "release", "GIT_COMMIT": "c1"}, "release", "c1"),
    ({"GIT_BRANCH": "origin/main", "GIT_COMMIT": "c2"}, "main", "c2"),
])
def test_common_ci_variables(tmp_path, env, branch, commit):
    found = detect_identity(env=env, cwd=str(tmp_path))
    assert (found.branch, found.commit) == (branch, commit)


def test_git_when_there_is_no_ci(tmp_path):
    sha = _repo(tmp_path)
    found = detect_identity(env=NO_CI, cwd=str(tmp_path))
    assert (found.branch, found.commit) == ("feature/x", sha)
    subprocess.run(["git", "checkout", "-q", "--detach"], cwd=tmp_path, check=True)
    assert detect_identity(env=NO_CI, cwd=str(tmp_path)).branch == ""  # detached: no branch


def test_unknown_without_ci_or_git(tmp_path):
    found = detect_identity(env=NO_CI, cwd=str(tmp_path))
    assert (found.branch, found.commit) == ("", "")


def test_git_missing_or_hanging_is_unknown_not_a_crash(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no git on PATH
    assert detect_identity(env=NO_CI, cwd=str(tmp_path)).branch == ""
    fake = tmp_path / "git"
    fake.write_text("#!/bin/sh\nsleep 30\n")
    fake.chmod(0o755)
    monkeypatch.setattr("siteward.identity.GIT_TIMEOUT_S", 0.5)
    assert detect_identity(env=NO_CI, cwd=str(tmp_path)).commit == ""


@pytest.mark.parametrize("bad", ["", "  ", "two words", "x" * 201, "tab\there", "nul\x00"])
def test_bad_flag_values_are_usage_errors(bad):
    with pytest.raises(UsageError, match="--branch"):
        detect_identity(bad, env=NO_CI)


def test_variable_lists_cover_github_gitlab_and_jenkins():
    assert {"GITHUB_HEAD_REF", "GITHUB_REF_NAME", "CI_COMMIT_REF_NAME", "BRANCH_NAME", "GIT_BRANCH"} <= set(BRANCH_VARIABLES)
    assert {"GITHUB_SHA", "CI_COMMIT_SHA", "GIT_COMMIT"} <= set(COMMIT_VARIABLES)
