#!/usr/bin/env python3
"""`make bench-engine`: requests per second of the floor, the policy and the rule-less reference
policy in one real policy-server, against the fake API server (engine/fake_apiserver.py).

All three get examples/self-managed/request.json (a Workload Identity pod). The policy and the
reference each read the pod's ServiceAccount (the engine answers from its 5-second cache almost
every time) and write the same patch; the floor parses and accepts. Each round loads each policy
in turn with wrk (4 connections, one thread) for DURATION seconds; the ratios are the median of
the rounds' own ratios, as `make bench` does, because a shared machine's neighbours change its
speed over minutes, not over the seconds between two runs of one round.

Environment: ROUNDS (5), DURATION (5 s), WORKERS (2, the policy-server's), POLICY_SERVER, KWCTL.
"""

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import enginelib  # noqa: E402
import fake_apiserver  # noqa: E402
from enginelib import ROOT  # noqa: E402

ROUNDS = int(os.environ.get("ROUNDS", 5))
DURATION = int(os.environ.get("DURATION", 5))
WORKERS = int(os.environ.get("WORKERS", 2))
POLICIES = ("floor", "policy", "reference")


def wrk(url, script, seconds):
    out = subprocess.run(
        ["wrk", "-t1", "-c4", f"-d{seconds}s", "-s", str(script), url],
        capture_output=True, text=True, timeout=seconds + 30, check=True,
    ).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} error responses\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def main():
    policy_server = enginelib.find_binary("POLICY_SERVER", "policy-server")
    kwctl = enginelib.find_binary("KWCTL", "kwctl")
    if not (policy_server and kwctl and shutil.which("wrk")):
        print("bench-engine needs policy-server, kwctl (POLICY_SERVER/KWCTL, PATH or ../shared/bin/) and wrk (apt-get install wrk)")
        return 1
    print(f"# engine: {enginelib.version(policy_server)}; {ROUNDS} rounds of {DURATION} s per policy, "
          f"wrk 4 connections, {WORKERS} workers, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="azwi-bench-engine-") as tmp:
        work = Path(tmp)
        policy = enginelib.annotate(kwctl, ROOT / "policy.wasm", ROOT / "metadata.yml", work / "policy.wasm")
        floor = enginelib.annotate(kwctl, ROOT / "floor.wasm", ROOT / "engine/floor-metadata.yml", work / "floor.wasm")
        reference = enginelib.annotate(
            kwctl, ROOT / "reference.wasm", ROOT / "reference-policy/metadata.yml", work / "reference.wasm"
        )
        state = fake_apiserver.State()
        for obj in fake_apiserver.load_session_objects(ROOT / "examples/self-managed/session.yml"):
            state.add(obj)
        fake = fake_apiserver.serve(state)
        policy_entry, _ = enginelib.example_entry(policy, "self-managed")
        settings = (ROOT / "examples/self-managed/settings.yml").read_text()
        policies_yml = "\n".join(
            [
                "floor:\n" + enginelib.policy_entry(floor),
                "policy:\n" + policy_entry,
                "reference:\n"
                + enginelib.policy_entry(
                    reference, settings, [{"apiVersion": "v1", "kind": "ServiceAccount"}], ["kubernetes/get_resource"],
                    timeout=enginelib.timeout_eval_seconds((ROOT / "examples/self-managed/mutating-policy.yaml").read_text()),
                ),
            ]
        ) + "\n"
        server = enginelib.PolicyServer(policy_server, work, policies_yml, fake.server_port, workers=WORKERS)
        try:
            server.wait_ready()
            review = enginelib.admission_review(ROOT / "examples/self-managed/request.json")
            patches = {}
            for name in POLICIES:
                response, _ = server.validate(name, review)
                if response.get("allowed") is not True:
                    raise RuntimeError(f"{name} does not admit the bench request: {response}")
                patches[name] = response.get("patch")
            if patches["policy"] is None or patches["policy"] != patches["reference"]:
                raise RuntimeError("the policy and the reference do not write the same patch")
            body = (ROOT / "examples/self-managed/request.json").read_text()
            script = work / "post.lua"
            script.write_text(
                'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                f"wrk.body = [==[{body}]==]\n"
            )
            url = f"http://127.0.0.1:{server.port}/validate/"
            for name in POLICIES:  # warm-up: caches, allocator, CPU frequency
                wrk(url + name, script, 2)
            rounds = []
            for number in range(1, ROUNDS + 1):
                # Alternate the order so no policy always runs right after the same one.
                order = POLICIES if number % 2 else tuple(reversed(POLICIES))
                rps = {name: wrk(url + name, script, DURATION) for name in order}
                rounds.append(rps)
                print(f"round {number}: floor {rps['floor']:8.0f}  policy {rps['policy']:8.0f}  "
                      f"reference {rps['reference']:8.0f} req/s   policy/floor {rps['policy'] / rps['floor']:.3f}  "
                      f"policy/reference {rps['policy'] / rps['reference']:.3f}")
            gets = state.calls.get("GET serviceaccounts", 0)
        finally:
            server.stop()
            fake_apiserver.stop(fake)
    median = {name: statistics.median(r[name] for r in rounds) for name in POLICIES}
    vs_floor = statistics.median(r["policy"] / r["floor"] for r in rounds)
    vs_reference = statistics.median(r["policy"] / r["reference"] for r in rounds)
    print(f"requests per second (median of {ROUNDS} rounds): floor {median['floor']:.0f}, "
          f"policy {median['policy']:.0f}, reference {median['reference']:.0f}")
    print(f"policy/floor {vs_floor:.3f}, policy/reference {vs_reference:.3f} (median of the rounds' own ratios)")
    print(f"ServiceAccount GETs the API server saw during the bench: {gets}")
    if vs_reference < 0.95:
        print("policy/reference is under 0.95: the policy serves fewer requests per second than the engine's limit for this mutation")
    return 0


if __name__ == "__main__":
    sys.exit(main())
