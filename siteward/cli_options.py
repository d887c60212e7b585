"""Command-line options more than one command module uses (typer reads them from the module's globals)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

ConfigOpt = Annotated[Optional[Path], typer.Option("-c", "--config", help="siteward.toml (default: ./siteward.toml, else the built-in demo shop config)")]
TargetOpt = Annotated[Optional[str], typer.Option("--target", help="base URL of the site; overrides the config")]
ResultsOpt = Annotated[Optional[Path], typer.Option("--results", help="results root directory; overrides the config")]
BaselineOpt = Annotated[Optional[str], typer.Option("--baseline", help="compare with this run instead of the latest passing one")]
BranchOpt = Annotated[Optional[str], typer.Option("--branch", help="the branch this run measures (default: from the CI's environment, else git)")]
CommitOpt = Annotated[Optional[str], typer.Option("--commit", help="the commit this run measures (default: from the CI's environment, else git)")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars")]
PagesOpt = Annotated[Optional[list[str]], typer.Option("--page", help="only this page (repeatable)")]
ShardOpt = Annotated[Optional[str], typer.Option("--shard", help="i/n: check only this shard of the browser and Lighthouse matrix (merge the shards with `siteward merge`)")]
ShardGroupOpt = Annotated[Optional[str], typer.Option("--shard-group", help="the id the shards of one run share (default: SITEWARD_SHARD_GROUP, else the CI's run id, else the commit)")]
