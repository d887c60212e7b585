"""junit.xml: one testcase per check finding and per compared metric, for CI test tabs.

Layout (the de-facto JUnit schema Jenkins, GitLab and GitHub test reporters read):
<testsuites> with one <testsuite name="siteward.<stage>"> per stage; a finding with
status fail -> <failure>, error -> <error>, skip -> <skipped>; warn passes with the
warning in <system-out>. Regressions get their own suite "siteward.regressions".
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict

from siteward.records import Finding

from reports.analysis import RunAnalysis
from reports.regressions import Comparison
from reports.safety import xml_text
from reports.verdict import regression_line

SILENT_LINE = re.compile(r"^ERROR \[([a-z]+)\] the stage (?:recorded nothing|never reached its end)")


def _case_for_finding(f: Finding) -> ET.Element:
    # A subject's budget lines and accessibility rules are separate test cases.
    detail_tag = f.tags.get("budget") or f.tags.get("rule")
    name = f"{f.subject} {detail_tag}" if detail_tag else f.subject
    case = ET.Element("testcase", classname=xml_text(f"siteward.{f.stage}.{f.check}"), name=xml_text(name))
    message = xml_text(f.message or f.status)
    detail = message
    if f.limit is not None or f.value is not None:
        detail += f"\nlimit: {f.limit} {f.unit or ''}\nmeasured: {f.value} {f.unit or ''}"
    if f.evidence:
        detail += "\nevidence: " + ", ".join(xml_text(e) for e in f.evidence)
    if f.status == "fail":
        ET.SubElement(case, "failure", message=message, type=xml_text(f.check)).text = detail
    elif f.status == "error":
        ET.SubElement(case, "error", message=message, type=xml_text(f.check)).text = detail
    elif f.status == "skip":
        ET.SubElement(case, "skipped", message=message)
    elif f.status == "warn":
        ET.SubElement(case, "system-out").text = "warning: " + detail
    return case


def _case_for_comparison(c: Comparison) -> ET.Element:
    case = ET.Element("testcase", classname=xml_text(f"siteward.regressions.{c.stage}"),
                      name=xml_text(f"{c.subject} {c.metric}"))
    if c.state == "regression":
        change = "" if c.change is None else f" ({c.change * 100:+.1f} %)"
        message = xml_text(f"{c.metric} regressed: {c.baseline_median:g} -> {c.current_median:g} {c.unit}{change}")
        ET.SubElement(case, "failure", message=message, type="regression").text = xml_text(
            f"{regression_line(c)}\ntest: {c.method}; p-value {c.p_value:.3g}, q-value {c.q_value:.3g}\n"
            f"samples: baseline {c.n_baseline} in {c.baseline_runs} run(s), current {c.n_current}\n{c.reason}"
        )
    elif c.state in ("insufficient", "excluded"):
        ET.SubElement(case, "skipped", message=xml_text(c.reason or "not enough samples"))
    elif c.state == "unconfirmed":
        ET.SubElement(case, "system-out").text = xml_text(f"flagged, then not confirmed: {c.reason}")
    return case


def _suite(name: str, cases: list[ET.Element]) -> ET.Element:
    suite = ET.Element("testsuite", name=name)
    counts = {"tests": len(cases), "failures": 0, "errors": 0, "skipped": 0}
    for case in cases:
        for tag, key in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
            counts[key] += case.find(tag) is not None
    for key, value in counts.items():
        suite.set(key, str(value))
    suite.extend(cases)
    return suite


def build_junit(a: RunAnalysis) -> bytes:
    by_stage: dict[str, list[ET.Element]] = defaultdict(list)
    for f in a.findings:
        by_stage[f.stage].append(_case_for_finding(f))
    root = ET.Element("testsuites", name=xml_text(f"siteward {a.info.id}"))
    suites = [_suite(f"siteward.{stage}", cases) for stage, cases in by_stage.items()]
    compared = [c for c in a.comparisons
                if c.state in ("regression", "improvement", "unchanged", "insufficient", "unconfirmed")]
    if compared:
        suites.append(_suite("siteward.regressions", [_case_for_comparison(c) for c in compared]))
    # A run that recorded nothing, or a stage that stayed silent, says so here too.
    incomplete = [(line, "run") for line in a.failed if line.startswith("ERROR the run")]
    incomplete += [(line, m.group(1)) for line in a.failed if (m := SILENT_LINE.match(line))]
    if incomplete:
        cases = []
        for line, name in incomplete:
            case = ET.Element("testcase", classname="siteward.completeness", name=name)
            ET.SubElement(case, "error", message=xml_text(line), type="incomplete").text = xml_text(line)
            cases.append(case)
        suites.append(_suite("siteward.completeness", cases))
    if not suites:
        suites.append(_suite("siteward", []))
    root.extend(suites)
    for key in ("tests", "failures", "errors", "skipped"):
        root.set(key, str(sum(int(s.get(key, "0")) for s in suites)))
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
