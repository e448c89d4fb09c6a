"""Judges one schemathesis run: every failed check must be on the allow-list.

Usage: verdict.py DOCUMENT REPORT.ndjson ALLOWLIST.toml

Reads the NDJSON event stream schemathesis wrote (`--report ndjson`), collects each failed
check as (operation, check, status answered), and exits 1 if any is not allowed for DOCUMENT,
or if the run itself errored (a crash, an unreachable server, an unloadable schema). Prints
what it allowed and which allow-list entries this run did not need.
"""

import json
import sys
import tomllib


def main() -> int:
    document, report, allowlist = sys.argv[1:4]
    with open(allowlist, "rb") as f:
        entries = [e for e in tomllib.load(f)["allow"] if e["document"] == document]
    for e in entries:
        missing = {"operation", "check", "status", "reason"} - e.keys()
        if missing or not e["reason"].strip():
            print(f"allow-list entry without {missing or 'a reason'}: {e}")
            return 1
    allowed = {(e["operation"], e["check"], e["status"]): e for e in entries}

    failures: dict[tuple[str, str, int | None], str] = {}
    errors = []
    cases = 0
    for line in open(report, encoding="utf-8"):
        event = json.loads(line)
        (kind, body), = event.items()
        if kind in ("NonFatalError", "FatalError"):
            errors.append(body)
            continue
        if kind != "ScenarioFinished":
            continue
        recorder = body["recorder"]
        for case_id, checks in recorder.get("checks", {}).items():
            cases += 1
            interaction = recorder.get("interactions", {}).get(case_id) or {}
            status = (interaction.get("response") or {}).get("status_code")
            for check in checks:
                if check["status"] != "failure":
                    continue
                failure = check["failure_info"]["failure"]
                key = (failure["operation"], check["name"], status)
                failures.setdefault(key, failure.get("message") or failure["title"])

    bad = {k: m for k, m in failures.items() if k not in allowed}
    for (op, check, status), message in sorted(failures.items(), key=str):
        mark = "not allowed" if (op, check, status) in bad else "allowed"
        print(f"  {mark}: {op} {check} status={status}: {message.splitlines()[0] if message else ''}")
    for key in sorted(set(allowed) - set(failures), key=str):
        print(f"  allow-list entry not needed by this run: {key}")
    for e in errors:
        print(f"  run error: {json.dumps(e)[:500]}")
    print(
        f"{document}: {cases} checked cases, {len(failures)} distinct failures, "
        f"{len(failures) - len(bad)} allowed, {len(bad)} not allowed, {len(errors)} run errors"
    )
    if cases == 0:
        print("no test case ran")
        return 1
    return 1 if bad or errors else 0


if __name__ == "__main__":
    sys.exit(main())
