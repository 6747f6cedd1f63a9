"""Shared by the engine suite and the engine bench: find the binaries, annotate modules, write a
policies.yml, and start and stop a real policy-server against the fake API server.

Every process is started by PID in its own session and stopped by that PID; every wait has a
deadline.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import fake_apiserver

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ROOT / "engine"

# Where each shipped example's ClusterAdmissionPolicy lives (self-managed ships two; the
# mutating one is the policy its settings.yml belongs to).
EXAMPLE_MANIFESTS = {
    "self-managed": "mutating-policy.yaml",
    "aks-identity-binding": "policy.yaml",
    "aks-validate-only": "policy.yaml",
    "migrate": "policy.yaml",
}


def find_binary(env, name):
    """$env, else `name` on PATH, else ../shared/bin/name beside the repository; None when the
    one named is not there (an empty variable counts as unset)."""
    if os.environ.get(env):
        named = shutil.which(os.environ[env])
        if not named:
            print(f"# {env}={os.environ[env]} is not an executable")
        return named
    on_path = shutil.which(name)
    if on_path:
        return on_path
    shared = ROOT.parent / "shared" / "bin" / name
    if shared.is_file() and os.access(shared, os.X_OK):
        return str(shared)
    return None


def version(binary):
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30).stdout
    return out.strip().splitlines()[0] if out.strip() else "unknown version"


def annotate(kwctl, wasm, metadata, out, readme=ROOT / "README.md"):
    subprocess.run(
        [kwctl, "annotate", "-m", str(metadata), "-u", str(readme), "-o", str(out), str(wasm)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return out


def _yaml_list_after(text, key):
    """The list under a top-level or indented `key:` of a simple YAML file, as lines."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == f"{key}:":
            indent = len(line) - len(line.lstrip())
            items = []
            for item in lines[i + 1 :]:
                stripped = item.strip()
                if not stripped or stripped.startswith("#"):
                    continue
                if len(item) - len(item.lstrip()) <= indent and not stripped.startswith("-"):
                    break
                if len(item) - len(item.lstrip()) < indent:
                    break
                items.append(stripped)
            return items
    return []


def context_aware_resources(manifest_text):
    """contextAwareResources of a manifest, as [{apiVersion, kind}]."""
    resources = []
    for line in _yaml_list_after(manifest_text, "contextAwareResources"):
        if line.startswith("- apiVersion:"):
            resources.append({"apiVersion": line.split(":", 1)[1].strip()})
        elif line.startswith("kind:") and resources:
            resources[-1]["kind"] = line.split(":", 1)[1].strip()
    return resources


def host_capabilities():
    """What metadata.yml declares (the policy-server grants only what policies.yml lists)."""
    text = (ROOT / "metadata.yml").read_text()
    return [line[2:].strip() for line in _yaml_list_after(text, "hostCapabilities") if line.startswith("- ")]


def timeout_eval_seconds(manifest_text):
    match = re.search(r"^\s*timeoutEvalSeconds:\s*(\d+)", manifest_text, re.M)
    return int(match.group(1)) if match else None


def policy_entry(module, settings_yaml="{}", resources=(), capabilities=(), timeout=None):
    """One policies.yml entry as YAML text. Settings are the example's settings.yml verbatim
    (indented), so nothing here re-reads YAML the policy-server reads itself."""
    out = [f"  module: file://{module}", "  allowedToMutate: true"]
    if timeout:
        out.append(f"  timeoutEvalSeconds: {timeout}")
    if resources:
        out.append("  contextAwareResources: " + json.dumps(list(resources)))
    if capabilities:
        out.append("  hostCapabilities: " + json.dumps(list(capabilities)))
    if settings_yaml.strip() in ("", "{}"):
        out.append("  settings: {}")
    else:
        out.append("  settings:")
        out.extend("    " + line for line in settings_yaml.splitlines())
    return "\n".join(out)


def example_entry(module, name):
    manifest = (ROOT / "examples" / name / EXAMPLE_MANIFESTS[name]).read_text()
    return policy_entry(
        module,
        (ROOT / "examples" / name / "settings.yml").read_text(),
        context_aware_resources(manifest),
        host_capabilities(),
        timeout_eval_seconds(manifest),
    ), timeout_eval_seconds(manifest)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PolicyServer:
    """A policy-server process on loopback, started and stopped by PID."""

    def __init__(self, binary, workdir, policies_yml, kube_port, workers=2):
        self.workdir = Path(workdir)
        (self.workdir / "policies.yml").write_text(policies_yml)
        (self.workdir / "kubeconfig").write_text(fake_apiserver.kubeconfig(kube_port))
        self.port, self.ready_port = free_port(), free_port()
        self.log_path = self.workdir / "policy-server.log"
        env = dict(os.environ, KUBECONFIG=str(self.workdir / "kubeconfig"), NO_COLOR="1")
        # The worst case for the message bounds: the engine appends a backtrace to host errors
        # when RUST_BACKTRACE is set.
        env["RUST_BACKTRACE"] = "1"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [
                binary,
                "--addr", "127.0.0.1",
                "--port", str(self.port),
                "--readiness-probe-port", str(self.ready_port),
                "--workers", str(workers),
                "--policies", str(self.workdir / "policies.yml"),
                "--policies-download-dir", str(self.workdir / "downloads"),
                "--sigstore-cache-dir", str(self.workdir / "sigstore"),
                "--log-no-color",
            ],
            cwd=self.workdir,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, deadline_s=90):
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"policy-server exited ({self.proc.returncode}):\n{self.tail()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.ready_port}/readiness", timeout=2):
                    return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.2)
        raise TimeoutError(f"policy-server not ready after {deadline_s} s:\n{self.tail()}")

    def tail(self, lines=30):
        try:
            text = re.sub(r"\x1b\[[0-9;]*m", "", self.log_path.read_text(errors="replace"))
            return "\n".join(text.splitlines()[-lines:])
        except OSError:
            return ""

    def validate(self, policy, review, timeout=20):
        """POST an AdmissionReview; returns (response, seconds)."""
        data = json.dumps(review).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/validate/{policy}",
            data=data,
            headers={"Content-Type": "application/json"},
        )
        start = time.monotonic()
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            body = json.load(answer)
        return body["response"], time.monotonic() - start

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.log.close()


def admission_review(path):
    """A request file as an AdmissionReview (the policy-server takes nothing else)."""
    value = json.loads(Path(path).read_text())
    if value.get("kind") == "AdmissionReview":
        return value
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": value}
