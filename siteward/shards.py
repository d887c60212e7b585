"""Sharded runs: `siteward run --shard i/n` checks one n-th of the browser and Lighthouse matrix.

The split is deterministic and needs no coordination: every shard computes the same full list
of check keys from the same config and takes every n-th of them in sorted order, starting at
its index, so shards are disjoint, together cover the matrix, and differ in size by at most
one check. The key list is the plan's, never what happened to start (an engine that cannot
start in one shard does not move checks between shards).

Shards of one run share a group id (`--shard-group`, else the CI's run id); `siteward merge`
(siteward/merge.py) makes them one run, one report and one verdict.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from siteward.errors import UsageError

MAX_SHARDS = 256
SPEC = re.compile(r"\s*(\d{1,3})\s*/\s*(\d{1,3})\s*")
# A CI run id that every job of one pipeline run shares (the attempt too: a re-run is a new group).
GROUP_VARIABLES = (("GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT"), ("CI_PIPELINE_ID",), ("BUILDKITE_BUILD_ID",),
                   ("CIRCLE_WORKFLOW_ID",), ("BUILD_BUILDID",), ("BUILD_TAG",))
GROUP_LABEL = re.compile(r"[A-Za-z0-9._:@/+-]{1,128}")


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based, as on the command line
    count: int

    @classmethod
    def parse(cls, text: str) -> "Shard":
        match = SPEC.fullmatch(text or "")
        if not match:
            raise UsageError(f"--shard {text!r}: expected i/n, e.g. 2/3")
        index, count = int(match.group(1)), int(match.group(2))
        if not 1 <= count <= MAX_SHARDS:
            raise UsageError(f"--shard {text}: the shard count must be 1..{MAX_SHARDS}")
        if not 1 <= index <= count:
            raise UsageError(f"--shard {text}: the index must be 1..{count}")
        return cls(index, count)

    def take(self, keys: Iterable[str]) -> frozenset[str]:
        """This shard's share of `keys`: every count-th key in sorted order, from index-1 on."""
        ordered = sorted(set(keys))
        return frozenset(ordered[self.index - 1::self.count])

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def shard_group(option: str | None, env: Mapping[str, str] | None = None, commit: str = "") -> str:
    """--shard-group, else SITEWARD_SHARD_GROUP, else the CI's run id, else the commit ("" if none)."""
    env = os.environ if env is None else env
    if option is None:
        option = env.get("SITEWARD_SHARD_GROUP") or None
    if option is not None:
        if not GROUP_LABEL.fullmatch(option):
            raise UsageError(f"--shard-group {option!r}: use 1-128 letters, digits and . _ : @ / + -")
        return option
    for names in GROUP_VARIABLES:
        if env.get(names[0]):
            return "-".join(env.get(name, "") for name in names if env.get(name))[:128]
    return commit[:128]
