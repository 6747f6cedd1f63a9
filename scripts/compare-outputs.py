#!/usr/bin/env python3
"""Answer every request under test_data/ and examples/ with one policy build, for comparing two
builds: each request with every settings file (host calls answered from all sessions at once)
and with the default settings and each session alone. One line per case: the case, the exit
code, and the answer with its patch decoded, keys sorted. Compare two runs with `diff`.

    scripts/compare-outputs.py HARNESS POLICY.wasm OUT.txt [REPOSITORY_ROOT]
"""
import json, subprocess, sys, glob, os, base64, tempfile, concurrent.futures as cf
harness, wasm, out = (os.path.abspath(a) for a in sys.argv[1:4])
os.chdir(sys.argv[4] if len(sys.argv) > 4 else os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
reqs = sorted(set(glob.glob("test_data/**/*.json", recursive=True) + glob.glob("examples/*/request.json")) - set(glob.glob("test_data/settings/*.json")) - {"test_data/bench/settings-full.json"})
settings = sorted(glob.glob("test_data/settings/*.json") + glob.glob("examples/*/settings.yml") + ["test_data/bench/settings-full.json"])
sessions = sorted(glob.glob("test_data/sessions/*.yml") + glob.glob("examples/*/session.yml") + ["test_data/bench/session-full.yml"] + glob.glob("test_data/runbooks/*.yml"))
union = tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False)
for session in sessions:
    text = open(session).read().strip()
    # An empty session (`[]`) adds no exchange; concatenated it would break the YAML list.
    if text != "[]":
        union.write(text + "\n")
union.close()
combos = []
for r in reqs:
    for s in settings:
        combos.append((r, s, union.name))
    for se in sessions:
        combos.append((r, "test_data/settings/default.json", se))
def run(c):
    r, s, se = c
    p = subprocess.run([harness, "run", "-r", r, "-s", s, "--allow-context-aware", "--replay-host-capabilities-interactions", se, wasm], capture_output=True, env={**os.environ, "RUST_LOG": "policy_log=off"})
    o = p.stdout.decode().strip()
    try:
        j = json.loads(o)
        if "patch" in j:
            j["patch"] = json.loads(base64.b64decode(j["patch"]))
        o = json.dumps(j, sort_keys=True)
    except Exception:
        pass
    return "|".join((r, s, "all sessions" if se == union.name else se)) + "\t" + str(p.returncode) + "\t" + o
with cf.ThreadPoolExecutor(3) as ex:
    lines = list(ex.map(run, combos))
open(out, "w").write("\n".join(lines) + "\n")
print(len(lines), "combos")
