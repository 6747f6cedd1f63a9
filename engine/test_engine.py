#!/usr/bin/env python3
"""The policy in Kubewarden's real policy-server, against a fake Kubernetes API server.

`make engine-tests` runs it. It annotates policy.wasm (and the floor) with kwctl, starts the fake
API server (engine/fake_apiserver.py, a thread of this process, loopback only) and one
policy-server serving every shipped example's settings and the floor, then checks over HTTP what
a cluster's API server would get back and how many calls each answer cost the API server.

Why Python rather than bats: the checks are about call counts and concurrency (a request
answered while another waits on a slow API server), which need the fake's counters and threads
in the same process; the standard library has the HTTP client, the server and subprocess
control, so nothing is installed for it.

Each scenario uses its own ServiceAccount name: the engine caches get_resource and can_i answers
for 5 s, so reusing a name would test the cache instead of the scenario.

Environment: POLICY_SERVER, KWCTL (else PATH, else ../shared/bin/), HARNESS (else
target/debug/harness). Without a policy-server or kwctl it prints why and exits 0 (skipped).
"""

import base64
import copy
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import enginelib  # noqa: E402
import fake_apiserver  # noqa: E402
from enginelib import ROOT  # noqa: E402

SUITE_DEADLINE_S = 110  # the whole suite must finish in under 2 minutes
MESSAGE_BOUND = 2048  # reference §9: every rejection message stays under 2,048 characters
CLIENT_ID = "7b2c4a8e-1f3d-4e5a-9b6c-2d8e0f1a3b5c"


class Context:
    def __init__(self, server, state, timeouts):
        self.server = server
        self.state = state
        self.timeouts = timeouts  # policy id -> timeoutEvalSeconds

    def counts(self):
        with self.state.lock:
            return dict(self.state.calls)

    def delta(self, before):
        after = self.counts()
        return {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)}

    def add_service_account(self, namespace, name, client_id=CLIENT_ID):
        self.state.add(
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {
                    "name": name,
                    "namespace": namespace,
                    "annotations": {"azure.workload.identity/client-id": client_id},
                },
            }
        )

    def fault(self, fault=None, delay=0.0):
        self.state.fault, self.state.delay = fault, delay


def example_review(name, service_account=None):
    review = enginelib.admission_review(ROOT / "examples" / name / "request.json")
    if service_account:
        review["request"]["object"]["spec"]["serviceAccountName"] = service_account
    return review


def decoded_patch(response):
    return json.loads(base64.b64decode(response["patch"])) if response.get("patch") else None


def check(condition, what):
    if not condition:
        raise AssertionError(what)


def harness_response(example):
    """The harness's answer for an example, replaying its session strictly as kwctl does."""
    harness = os.environ.get("HARNESS") or str(
        ROOT / os.environ.get("CARGO_TARGET_DIR", "target") / "debug" / "harness"
    )
    directory = ROOT / "examples" / example
    out = subprocess.run(
        [
            harness, "run", "--strict-replay",
            "-s", str(directory / "settings.yml"),
            "-r", str(directory / "request.json"),
            "--allow-context-aware",
            "--replay-host-capabilities-interactions", str(directory / "session.yml"),
            str(ROOT / "policy.wasm"),
        ],
        capture_output=True, text=True, timeout=60, check=True,
    )
    return json.loads([line for line in out.stdout.splitlines() if line.startswith("{")][-1])


# -- scenarios --------------------------------------------------------------------------------


def unlabeled_pod_is_a_plain_accept_with_no_api_call(ctx):
    before = ctx.counts()
    response, _ = ctx.server.validate("self-managed", enginelib.admission_review(ROOT / "test_data/pod/unlabeled.json"))
    check(response["allowed"] is True, f"not allowed: {response}")
    check("patch" not in response or response["patch"] is None, f"patched: {response}")
    check(ctx.delta(before) == {}, f"API calls: {ctx.delta(before)}")


def workload_identity_pod_is_mutated_as_the_harness_mutates_it(ctx):
    before = ctx.counts()
    response, _ = ctx.server.validate("self-managed", example_review("self-managed"))
    check(response["allowed"] is True and response.get("patchType") == "JSONPatch", f"not mutated: {response}")
    expected = harness_response("self-managed")
    check(decoded_patch(response) == decoded_patch(expected),
          f"patch differs from the harness's:\n{decoded_patch(response)}\n{decoded_patch(expected)}")
    check(response.get("auditAnnotations") == expected.get("auditAnnotations"),
          f"audit annotations differ: {response.get('auditAnnotations')} vs {expected.get('auditAnnotations')}")
    check(ctx.delta(before).get("GET serviceaccounts") == 1, f"calls: {ctx.delta(before)}")


def missing_service_account_is_400_after_two_gets(ctx):
    before = ctx.counts()
    response, _ = ctx.server.validate("self-managed", example_review("self-managed", "missing-sa"))
    status = response.get("status") or {}
    check(response["allowed"] is False and status.get("code") == 400, f"not a 400: {response}")
    # The engine's cached GET, then the policy's uncached retry (disable_cache: true).
    check(ctx.delta(before) == {"GET serviceaccounts": 2}, f"calls: {ctx.delta(before)}")
    message = status.get("message", "")
    check("missing-sa" in message, f"message does not name the ServiceAccount: {message}")
    check(len(message) < MESSAGE_BOUND, f"message of {len(message)} characters")
    return f"{len(message)} characters: {message[:200]!r}"


def api_server_500_fails_closed_then_recovers(ctx):
    ctx.add_service_account("team-a", "outage-sa")
    ctx.fault("500")
    try:
        response, _ = ctx.server.validate("self-managed", example_review("self-managed", "outage-sa"))
    finally:
        ctx.fault(None)
    status = response.get("status") or {}
    check(response["allowed"] is False and status.get("code") == 500, f"not a 500: {response}")
    message = status.get("message", "")
    check(len(message) < MESSAGE_BOUND, "message over the bound")
    response, _ = ctx.server.validate("self-managed", example_review("self-managed", "outage-sa"))
    check(response["allowed"] is True and response.get("patch"), f"not mutated after recovery: {response}")
    return f"{len(message)} characters: {message[:200]!r}"


def subject_access_review_denied_is_403_after_two_reviews_allowed_is_admitted(ctx):
    ctx.add_service_account("team-a", "denied-sa")
    ctx.add_service_account("team-a", "granted-sa")
    ctx.state.allowed_users.add("system:serviceaccount:team-a:granted-sa")
    before = ctx.counts()
    response, _ = ctx.server.validate("aks-identity-binding", example_review("aks-identity-binding", "denied-sa"))
    status = response.get("status") or {}
    check(response["allowed"] is False and status.get("code") == 403, f"not a 403: {response}")
    # The engine's cached review, then the policy's uncached one (a grant may be seconds old).
    check(ctx.delta(before).get("POST subjectaccessreviews") == 2, f"calls: {ctx.delta(before)}")
    response, _ = ctx.server.validate("aks-identity-binding", example_review("aks-identity-binding", "granted-sa"))
    check(response["allowed"] is True, f"granted ServiceAccount not admitted: {response}")
    return f"denied: {status.get('message', '')[:160]!r}"


def slow_api_server_is_rejected_and_the_server_keeps_serving(ctx):
    timeout = ctx.timeouts["self-managed"] or 2
    ctx.add_service_account("team-a", "slow-sa")
    ctx.add_service_account("team-a", "after-slow-sa")
    ctx.fault("slow", timeout + 1.5)
    result = {}

    def slow_request():
        try:
            result["response"], result["seconds"] = ctx.server.validate(
                "self-managed", example_review("self-managed", "slow-sa"), timeout=timeout + 15
            )
        except Exception as error:  # reported below
            result["error"] = error

    worker = threading.Thread(target=slow_request)
    worker.start()
    try:
        time.sleep(0.3)
        # While one worker waits on the API server, the other still answers.
        response, seconds = ctx.server.validate(
            "self-managed", enginelib.admission_review(ROOT / "test_data/pod/unlabeled.json"), timeout=5
        )
        check(response["allowed"] is True and seconds < 2, f"blocked beside a slow evaluation: {seconds:.1f} s")
        worker.join(timeout + 15)
    finally:
        ctx.fault(None)
    check(not worker.is_alive(), "the slow evaluation never returned")
    check("error" not in result, f"slow request failed: {result.get('error')}")
    response = result["response"]
    status = response.get("status") or {}
    check(response["allowed"] is False and status.get("code") == 500, f"slow API server admitted: {response}")
    response, _ = ctx.server.validate("self-managed", example_review("self-managed", "after-slow-sa"))
    check(response["allowed"] is True and response.get("patch"), f"not served after the slow call: {response}")
    return f"rejected after {result['seconds']:.1f} s (timeoutEvalSeconds {timeout}): {status.get('message', '')[:90]}"


def migrate_lists_watches_reads_the_identity_and_migrates(ctx):
    before = ctx.counts()
    response, _ = ctx.server.validate("migrate", example_review("migrate"))
    check(response["allowed"] is True and response.get("patch"), f"not migrated: {response}")
    audit = response.get("auditAnnotations") or {}
    check(audit.get("migrated-from") == "team-b/orders-api-binding", f"audit annotations: {audit}")
    check("3c1f7e2a-9b4d-4f6e-8a2c-5d7b9e1f3a6c" in audit.get("client-ids", ""), f"audit annotations: {audit}")
    expected = harness_response("migrate")
    check(decoded_patch(response) == decoded_patch(expected), "patch differs from the harness's")
    deadline = time.monotonic() + 5  # the watch follows the list asynchronously
    while ctx.delta(before).get("WATCH azureidentitybindings", 0) < 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    delta = ctx.delta(before)
    check(delta.get("LIST azureidentitybindings", 0) >= 1, f"no list: {delta}")
    check(delta.get("WATCH azureidentitybindings", 0) >= 1, f"no watch: {delta}")
    check(delta.get("GET azureidentities") == 1, f"identity reads: {delta}")
    return f"calls {delta}"


def secret_provider_class_create_is_answered_with_no_api_call(ctx):
    review = enginelib.admission_review(ROOT / "engine/fixtures/secretproviderclass-create.json")
    before = ctx.counts()
    response, _ = ctx.server.validate("self-managed", review)
    check(response["allowed"] is True, f"a well-formed class rejected: {response}")
    check(ctx.delta(before) == {}, f"API calls: {ctx.delta(before)}")


def floor_policy_accepts(ctx):
    response, _ = ctx.server.validate("floor", example_review("self-managed"))
    check(response["allowed"] is True and not response.get("patch"), f"floor: {response}")


SCENARIOS = [
    unlabeled_pod_is_a_plain_accept_with_no_api_call,
    workload_identity_pod_is_mutated_as_the_harness_mutates_it,
    missing_service_account_is_400_after_two_gets,
    # Before any fault: a first list_resources_all while the API server fails never returns
    # (reference §8.9), so the watch must be up before the 500 and slow scenarios.
    migrate_lists_watches_reads_the_identity_and_migrates,
    api_server_500_fails_closed_then_recovers,
    subject_access_review_denied_is_403_after_two_reviews_allowed_is_admitted,
    secret_provider_class_create_is_answered_with_no_api_call,
    floor_policy_accepts,
    slow_api_server_is_rejected_and_the_server_keeps_serving,
]


def main():
    started = time.monotonic()
    policy_server = enginelib.find_binary("POLICY_SERVER", "policy-server")
    kwctl = enginelib.find_binary("KWCTL", "kwctl")
    if not policy_server:
        print("engine suite skipped: no policy-server (set POLICY_SERVER, put it on PATH or in ../shared/bin/)")
        return 0
    if not kwctl:
        print("engine suite skipped: no kwctl to annotate the modules (set KWCTL, put it on PATH or in ../shared/bin/)")
        return 0
    print(f"# engine: {enginelib.version(policy_server)} ({policy_server}); "
          f"modules annotated by {enginelib.version(kwctl)}")

    with tempfile.TemporaryDirectory(prefix="azwi-engine-") as tmp:
        work = Path(tmp)
        policy = enginelib.annotate(kwctl, ROOT / "policy.wasm", ROOT / "metadata.yml", work / "policy.wasm")
        floor = enginelib.annotate(kwctl, ROOT / "floor.wasm", ROOT / "engine/floor-metadata.yml", work / "floor.wasm")

        state = fake_apiserver.State()
        for session in sorted((ROOT / "examples").glob("*/session.yml")):
            for obj in fake_apiserver.load_session_objects(session):
                state.add(obj)
        fake = fake_apiserver.serve(state)

        entries, timeouts = [], {}
        for name in enginelib.EXAMPLE_MANIFESTS:
            entry, timeouts[name] = enginelib.example_entry(policy, name)
            entries.append(f"{name}:\n{entry}")
        entries.append("floor:\n" + enginelib.policy_entry(floor))
        server = enginelib.PolicyServer(policy_server, work, "\n".join(entries) + "\n", fake.server_port)
        failures = 0
        try:
            server.wait_ready()
            print(f"# policy-server ready after {time.monotonic() - started:.1f} s")
            ctx = Context(server, state, timeouts)
            for number, scenario in enumerate(SCENARIOS, 1):
                name = scenario.__name__.replace("_", " ")
                if time.monotonic() - started > SUITE_DEADLINE_S:
                    print(f"not ok {number} - {name}: suite deadline of {SUITE_DEADLINE_S} s reached")
                    failures += 1
                    continue
                t0 = time.monotonic()
                try:
                    note = scenario(ctx)
                    print(f"ok {number} - {name} ({time.monotonic() - t0:.1f} s)" + (f"\n#   {note}" if note else ""))
                except Exception as error:  # one scenario's failure must not hide the others
                    failures += 1
                    print(f"not ok {number} - {name} ({time.monotonic() - t0:.1f} s)")
                    detail = str(error) if isinstance(error, AssertionError) else traceback.format_exc()
                    print("#   " + detail.replace("\n", "\n#   "))
                finally:
                    ctx.fault(None)
        except Exception:
            failures += 1
            print("not ok - policy-server did not start")
            print("#   " + traceback.format_exc().replace("\n", "\n#   "))
        finally:
            server.stop()
            fake_apiserver.stop(fake)
            if failures:
                print("# policy-server log (tail):\n#   " + server.tail(40).replace("\n", "\n#   "))
    print(f"# engine suite: {len(SCENARIOS) - failures}/{len(SCENARIOS)} passed in {time.monotonic() - started:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
