#!/usr/bin/env python3
"""A fake Kubernetes API server, on loopback only, for running the policy in a real policy-server.

It answers what the policy-server's Kubernetes client asks for this policy's host calls and
nothing else: API discovery for `v1`, `secrets-store.csi.x-k8s.io/v1`, `aadpodidentity.k8s.io/v1`
and `authorization.k8s.io/v1`; GET of ServiceAccounts, SecretProviderClasses and AzureIdentities;
LIST and WATCH of AzureIdentityBindings (the engine serves `list_resources_all` from a watch);
POST of SubjectAccessReviews, allowed from an allow list of users. Plain HTTP: the engine's kube
client accepts an `http://` server in a kubeconfig.

Faults are switchable at run time (`set_fault`): `500` (every object GET, LIST and review fails),
`slow` (each of them waits `delay` seconds first), `deny` (every review is denied), `404` (every
object GET answers NotFound). Watches are never faulted: a watch is one held-open stream that the
engine starts once, and the suites' scenarios are about the calls of one evaluation.

Every call is counted (`counts()`, keys such as `GET serviceaccounts`, `LIST azureidentitybindings`,
`WATCH azureidentitybindings`, `POST subjectaccessreviews`, `GET discovery`), so a test can assert
how many calls one evaluation made. Python's standard library only.

Run alone: `python3 engine/fake_apiserver.py [--port P] [--fixtures DIR]`; it prints the port.
"""

import argparse
import collections
import json
import re
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# resource plural -> (group, version, kind, namespaced)
RESOURCES = {
    "serviceaccounts": ("", "v1", "ServiceAccount", True),
    "secretproviderclasses": ("secrets-store.csi.x-k8s.io", "v1", "SecretProviderClass", True),
    "azureidentities": ("aadpodidentity.k8s.io", "v1", "AzureIdentity", True),
    "azureidentitybindings": ("aadpodidentity.k8s.io", "v1", "AzureIdentityBinding", True),
    "subjectaccessreviews": ("authorization.k8s.io", "v1", "SubjectAccessReview", False),
}
KIND_TO_PLURAL = {kind: plural for plural, (_, _, kind, _) in RESOURCES.items()}


def _group_version(group, version):
    return f"{group}/{version}" if group else version


def _resource_list(group, version):
    resources = []
    for plural, (g, v, kind, namespaced) in RESOURCES.items():
        if (g, v) != (group, version):
            continue
        verbs = ["create"] if plural == "subjectaccessreviews" else ["get", "list", "watch"]
        resources.append(
            {
                "name": plural,
                "singularName": kind.lower(),
                "namespaced": namespaced,
                "kind": kind,
                "verbs": verbs,
            }
        )
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": _group_version(group, version),
        "resources": resources,
    }


GROUPS = sorted({g for g, _, _, _ in RESOURCES.values() if g})


class State:
    """Objects, faults and call counts; shared by the handler threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.objects = {}  # (plural, namespace, name) -> object
        self.allowed_users = set()  # SubjectAccessReview spec.user values that are allowed
        self.fault = None
        self.delay = 0.0
        self.calls = collections.Counter()
        self.log = []  # (method, plural, namespace, name, query) of every resource call
        self.resource_version = 1

    def add(self, obj):
        plural = KIND_TO_PLURAL[obj["kind"]]
        meta = obj.setdefault("metadata", {})
        with self.lock:
            self.resource_version += 1
            meta.setdefault("resourceVersion", str(self.resource_version))
            self.objects[(plural, meta.get("namespace"), meta["name"])] = obj

    def count(self, key, entry=None):
        with self.lock:
            self.calls[key] += 1
            if entry is not None:
                self.log.append(entry)


def load_session_objects(path):
    """The objects a replay session's successful answers carry (single-quoted JSON payloads).

    Sessions are YAML; the standard library has no YAML parser, and every payload in this
    repository's sessions is one single-quoted line, so a line match reads them exactly.
    """
    objects = []
    for match in re.finditer(r"^\s*payload: '(.*)'\s*$", Path(path).read_text(), re.M):
        value = json.loads(match.group(1).replace("''", "'"))
        if value.get("kind") in KIND_TO_PLURAL:
            objects.append(value)
        elif value.get("kind", "").endswith("List"):
            kind = value["kind"][: -len("List")]
            for item in value.get("items", []):
                objects.append({"apiVersion": value["apiVersion"], "kind": kind, **item})
    return objects


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: State = None  # set by serve()

    def log_message(self, *_):  # quiet: the counts are the record
        pass

    # -- helpers -------------------------------------------------------------------------
    def _send_json(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _status(self, code, reason, message):
        self._send_json(
            code,
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": message,
                "reason": reason,
                "code": code,
            },
        )

    def _faulted(self, verb):
        """Apply the current fault to an object call; True when it has been answered."""
        state = self.state
        fault, delay = state.fault, state.delay
        if fault == "slow":
            time.sleep(delay)
        elif fault == "500":
            self._status(500, "InternalError", "fake API server: injected fault")
            return True
        elif fault == "404" and verb == "GET":
            self._status(404, "NotFound", "fake API server: injected NotFound")
            return True
        return False

    def _parse(self):
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        parts = [p for p in url.path.split("/") if p]
        return url.path, parts, query

    # -- GET -----------------------------------------------------------------------------
    def do_GET(self):
        path, parts, query = self._parse()
        state = self.state
        if path == "/_fake/counts":
            with state.lock:
                return self._send_json(200, dict(state.calls))
        if path == "/version":
            state.count("GET discovery")
            return self._send_json(
                200, {"major": "1", "minor": "33", "gitVersion": "v1.33.0", "platform": "linux/amd64"}
            )
        if path == "/api":
            state.count("GET discovery")
            return self._send_json(
                200,
                {
                    "kind": "APIVersions",
                    "versions": ["v1"],
                    "serverAddressByClientCIDRs": [
                        {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}
                    ],
                },
            )
        if path == "/apis":
            state.count("GET discovery")
            groups = []
            for g in GROUPS:
                gv = {"groupVersion": f"{g}/v1", "version": "v1"}
                groups.append({"name": g, "versions": [gv], "preferredVersion": gv})
            return self._send_json(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        if path == "/api/v1":
            state.count("GET discovery")
            return self._send_json(200, _resource_list("", "v1"))
        if len(parts) == 3 and parts[0] == "apis" and parts[1] in GROUPS:
            state.count("GET discovery")
            return self._send_json(200, _resource_list(parts[1], parts[2]))
        if len(parts) == 2 and parts[0] == "apis" and parts[1] in GROUPS:
            state.count("GET discovery")
            gv = {"groupVersion": f"{parts[1]}/v1", "version": "v1"}
            return self._send_json(
                200, {"kind": "APIGroup", "apiVersion": "v1", "name": parts[1], "versions": [gv], "preferredVersion": gv}
            )

        # Resource paths: /api/v1[/namespaces/NS]/PLURAL[/NAME],
        #                 /apis/G/V[/namespaces/NS]/PLURAL[/NAME]
        rest = parts[2:] if parts[:1] == ["api"] else parts[3:]
        namespace = None
        if len(rest) >= 2 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        if not rest or rest[0] not in RESOURCES:
            state.count("GET unknown", ("GET", None, namespace, None, self.path))
            return self._status(404, "NotFound", f"fake API server: no route for {path}")
        plural = rest[0]
        group, version, kind, _ = RESOURCES[plural]
        if len(rest) == 2:
            name = rest[1]
            state.count(f"GET {plural}", ("GET", plural, namespace, name, query))
            if self._faulted("GET"):
                return None
            with state.lock:
                obj = state.objects.get((plural, namespace, name))
            if obj is None:
                return self._status(404, "NotFound", f'{plural} "{name}" not found')
            return self._send_json(200, obj)
        if query.get("watch") in ("1", "true"):
            state.count(f"WATCH {plural}", ("WATCH", plural, namespace, None, query))
            return self._watch(plural, query)
        state.count(f"LIST {plural}", ("LIST", plural, namespace, None, query))
        if self._faulted("LIST"):
            return None
        with state.lock:
            items = [
                o
                for (p, ns, _), o in sorted(state.objects.items(), key=lambda kv: str(kv[0]))
                if p == plural and (namespace is None or ns == namespace)
            ]
            rv = str(state.resource_version)
        return self._send_json(
            200,
            {
                "apiVersion": _group_version(group, version),
                "kind": f"{kind}List",
                "metadata": {"resourceVersion": rv},
                "items": items,
            },
        )

    def _watch(self, plural, query):
        """A held-open chunked stream of BOOKMARK events until timeoutSeconds (the engine's
        watcher asks for bookmarks; with no changes there is nothing else to send)."""
        group, version, kind, _ = RESOURCES[plural]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        deadline = time.monotonic() + min(float(query.get("timeoutSeconds", 300)), 300)
        try:
            while time.monotonic() < deadline and not self.server.stopping:
                event = {
                    "type": "BOOKMARK",
                    "object": {
                        "apiVersion": _group_version(group, version),
                        "kind": kind,
                        "metadata": {"resourceVersion": str(self.state.resource_version)},
                    },
                }
                data = json.dumps(event).encode() + b"\n"
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()
                for _ in range(20):
                    if self.server.stopping:
                        break
                    time.sleep(0.1)
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    # -- POST ----------------------------------------------------------------------------
    def do_POST(self):
        path, parts, _ = self._parse()
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        state = self.state
        if path == "/_fake/fault":
            state.fault, state.delay = body.get("fault"), float(body.get("delay", 0))
            return self._send_json(200, {"fault": state.fault, "delay": state.delay})
        if path == "/_fake/reset":
            with state.lock:
                state.calls.clear()
                state.log.clear()
            return self._send_json(200, {})
        if parts[-1:] != ["subjectaccessreviews"]:
            state.count("POST unknown", ("POST", None, None, None, path))
            return self._status(404, "NotFound", f"fake API server: no route for {path}")
        spec = body.get("spec", {})
        state.count("POST subjectaccessreviews", ("POST", "subjectaccessreviews", None, None, spec))
        if self._faulted("POST"):
            return None
        allowed = state.fault != "deny" and spec.get("user") in state.allowed_users
        reason = "on the allow list" if allowed else "not on the allow list"
        status = {"allowed": allowed, "reason": f"fake API server: {reason}"}
        return self._send_json(201, {**body, "status": status})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    stopping = False


def serve(state, port=0):
    """Start the fake on 127.0.0.1:port in a daemon thread; returns the server (server_port)."""
    handler = type("BoundHandler", (Handler,), {"state": state})
    server = Server(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def stop(server):
    server.stopping = True
    server.shutdown()
    server.server_close()


def kubeconfig(port):
    """A kubeconfig naming the fake (YAML is a superset of JSON)."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
            "users": [{"name": "fake", "user": {"token": "fake"}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
            "current-context": "fake",
        }
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--session", action="append", default=[], help="load objects from a replay session")
    parser.add_argument("--allow-user", action="append", default=[])
    args = parser.parse_args()
    state = State()
    for session in args.session:
        for obj in load_session_objects(session):
            state.add(obj)
    state.allowed_users.update(args.allow_user)
    server = serve(state, args.port)
    print(server.server_port, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        stop(server)


if __name__ == "__main__":
    main()
