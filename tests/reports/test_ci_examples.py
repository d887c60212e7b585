"""The CI examples: valid YAML, a real siteward command line, and published paths that exist."""

from __future__ import annotations

import fnmatch
import shlex
from pathlib import Path

import click
import pytest
import typer.main
import yaml

from reports.summary import OUTPUT_NAMES
from siteward.cli import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _siteward_commands(lines: list[str]) -> list[list[str]]:
    commands = []
    for line in lines:
        for part in line.splitlines():
            words = shlex.split(part, comments=True)
            if words and words[0].endswith("bin/siteward"):
                commands.append(words[1:])
    return commands


def _parse_cli(args: list[str]) -> tuple[str, dict]:
    """Parse a command line with siteward's real click command, as the CLI would (no run)."""
    group = typer.main.get_command(app)
    name, *rest = args
    with click.Context(group, info_name="siteward") as ctx:
        command = group.get_command(ctx, name)
        if command is None:
            raise click.UsageError(f"no such command {name!r}")
        sub = command.make_context(name, rest, parent=ctx)
        return name, sub.params


def _results_root(params: dict) -> str:
    assert params.get("results"), "the example must name its results root (--results)"
    return str(params["results"])


def _check_command(args: list[str]) -> str:
    name, params = _parse_cli(args)
    assert name == "run"
    assert params["target"] == "$PREVIEW_URL"
    assert params["config"] == Path("siteward.toml")
    assert set(params["stage"]) == {"browsers", "audits"}  # never load against a preview
    return _results_root(params)


def test_github_actions_gates_on_the_exit_code_and_publishes_the_outputs():
    workflow = yaml.safe_load((EXAMPLES / "github-actions.yml").read_text(encoding="utf-8"))
    (job,) = workflow["jobs"].values()
    steps = job["steps"]
    run_steps = [s for s in steps if "run" in s and "bin/siteward" in s["run"]]
    assert len(run_steps) == 1
    gate = run_steps[0]
    assert not gate.get("continue-on-error") and "if" not in gate  # its failure fails the job
    (command,) = _siteward_commands([gate["run"]])
    root = _check_command(command)
    later = steps[steps.index(gate) + 1:]
    assert later and all(s.get("if", "").startswith("always()") for s in later)  # published even when the gate fails
    triggers = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads `on:` as true
    assert "pull_request" in triggers and triggers["push"]["branches"] == ["main"]  # main builds the baseline

    upload = next(s for s in later if s.get("uses", "").startswith("actions/upload-artifact"))
    paths = [p for p in upload["with"]["path"].split() if p]
    assert f"{root}/" in paths and f"!{root}/history.sqlite*" in paths
    junit = next(s for s in later if "junit" in s.get("uses", ""))
    assert junit["with"]["report_paths"] == f"{root}/*/{OUTPUT_NAMES['junit_xml']}"
    comment_source = next(s for s in later if "summary" in s.get("run", ""))
    assert f"{root}/*/{OUTPUT_NAMES['summary_md']}" in comment_source["run"]

    cache = next(s for s in steps if s.get("uses", "").startswith("actions/cache"))
    assert f"{root}/history.sqlite" in cache["with"]["path"].split()
    assert steps.index(cache) < steps.index(gate)


def test_gitlab_ci_gates_on_the_exit_code_and_publishes_the_outputs():
    pipeline = yaml.safe_load((EXAMPLES / "gitlab-ci.yml").read_text(encoding="utf-8"))
    job = pipeline["siteward"]
    assert job["stage"] in pipeline["stages"]
    assert not job.get("allow_failure")
    (command,) = _siteward_commands(job["script"])
    root = _check_command(command)
    artifacts = job["artifacts"]
    assert artifacts["when"] == "always"
    assert artifacts["paths"] == [f"{root}/"]
    assert artifacts["reports"]["junit"] == f"{root}/*/{OUTPUT_NAMES['junit_xml']}"
    assert f"{root}/history.sqlite" in job["cache"]["paths"]


def test_published_globs_match_what_a_render_writes(store, runs):
    """The example's globs, applied to a real rendered run directory under the results root."""
    from reports import render_run
    from report_records import finding

    outcome = render_run(store, runs.run([finding("pass")]))
    root = outcome.run_dir.parent
    written = {str(p.relative_to(root.parent)) for p in outcome.paths.values()}
    for name in OUTPUT_NAMES.values():
        pattern = f"{root.name}/*/{name}"
        assert fnmatch.filter(written, pattern), (pattern, written)


@pytest.mark.parametrize("bad", [["run", "--no-such-flag"], ["runn"]])
def test_the_command_check_itself_rejects_wrong_command_lines(bad):
    with pytest.raises(Exception) as raised:
        _parse_cli(bad)
    # click's UsageError (typer may vendor its own click, so match by class name).
    assert any(cls.__name__ == "UsageError" for cls in type(raised.value).__mro__)
