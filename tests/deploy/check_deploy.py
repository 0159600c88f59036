#!/usr/bin/env python3
"""Static check of deploy/: what no container engine or cluster checks here.

    check_deploy.py REPO_ROOT [MATH_SERVICE_BINARY]

Every YAML file parses and holds the fields its kind needs; the ports, probe paths, ROOST_*
variables and binary names in the Dockerfile, the Kubernetes manifests, the Helm chart (its
templates rendered here, for the subset of the template language they use) and the KEDA
ScaledObjects match what the code serves and reads, taken from the sources; and, given the
built math_service, the binary started as the Deployment starts it answers its probes.
Prints every problem found; exits 1 if there was one.
"""

import json
import hashlib
import os
import re
import subprocess
import sys
import time
import urllib.request

import yaml

ROOT = sys.argv[1] if len(sys.argv) > 1 else "."
BINARY = sys.argv[2] if len(sys.argv) > 2 else None
problems = []


def fail(where, what):
    problems.append(f"{where}: {what}")


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def get(obj, dotted, default=None):
    for key in dotted.split("."):
        if not isinstance(obj, dict) or key not in obj:
            return default
        obj = obj[key]
    return obj


# ---- what the code serves and reads, from the sources ----

def sources_under(*dirs):
    for d in dirs:
        for base, _, files in os.walk(os.path.join(ROOT, d)):
            for name in files:
                if name.endswith((".cpp", ".hpp")):
                    with open(os.path.join(base, name), encoding="utf-8") as f:
                        yield f.read()


# Environment variables a service reads: getenv("X"), or the logger's env("X").
READ_VARS = set()
for text in sources_under("core/src", "observability/src", "net/src", "transports"):
    READ_VARS.update(re.findall(r'(?:getenv|\benv)\("(ROOST_[A-Z0-9_]+)"\)', text))
    # roost::config's table of variables (core/src/config.cpp).
    READ_VARS.update(re.findall(r'^\s*\{"(ROOST_[A-Z0-9_]+)",', text, re.M))
for must in ("ROOST_SIDE_PORT", "ROOST_LOG_FORMAT", "ROOST_LOG_LEVEL"):
    if must not in READ_VARS:
        fail("sources", f"{must} is no longer read by the code (update this check and deploy/)")

SIDE_PATHS = set()
for text in sources_under("observability/src"):
    SIDE_PATHS.update(re.findall(r'"(/healthz|/readyz|/metrics)"', text))
for path in ("/healthz", "/readyz", "/metrics"):
    if path not in SIDE_PATHS:
        fail("observability/src", f"the side port no longer serves {path}")

service_cpp = read("examples/math/service.cpp")
m = re.search(r"std::stoi\(argv\[1\]\) : (\d+)\)", service_cpp)
DEFAULT_PORT = int(m.group(1)) if m else None
if DEFAULT_PORT is None:
    fail("examples/math/service.cpp", "cannot find the default port")
if "observability::monitor" not in service_cpp:
    fail("examples/math/service.cpp", "makes no monitor: no side port to probe")
BINARIES = set(re.findall(r"add_executable\((\w+)", read("examples/math/CMakeLists.txt")))

LOG_FORMATS = {"human", "json", "auto"}
LOG_LEVELS = {"trace", "debug", "info", "warn", "error", "off"}


def check_roost_var(where, name, value):
    if name.startswith("ROOST_") and name not in READ_VARS:
        fail(where, f"{name} is not read by any roost code")
    if name == "ROOST_LOG_FORMAT" and value not in LOG_FORMATS:
        fail(where, f"ROOST_LOG_FORMAT={value!r} is not one of {sorted(LOG_FORMATS)}")
    if name == "ROOST_LOG_LEVEL" and value.split(",")[0].split("=")[-1] not in LOG_LEVELS:
        fail(where, f"ROOST_LOG_LEVEL={value!r}: unknown level")
    if name == "ROOST_SIDE_PORT" and not re.fullmatch(r"(0\.0\.0\.0|\[::\]):\d+", value):
        fail(where, f"ROOST_SIDE_PORT={value!r} must listen on every interface for the probes")


# ---- Kubernetes objects ----

def check_objects(where, docs):
    """Checks a set of manifests (deploy/k8s, or the rendered chart) as a whole."""
    by_kind = {}
    for d in docs:
        if d is None:
            continue
        for field in ("apiVersion", "kind", "metadata.name"):
            if get(d, field) is None:
                fail(where, f"a document has no {field}")
        by_kind.setdefault(d.get("kind"), []).append(d)
    configs = {get(c, "metadata.name"): c.get("data", {}) for c in by_kind.get("ConfigMap", [])}
    for c_name, data in configs.items():
        for k, v in data.items():
            check_roost_var(f"{where} ConfigMap {c_name}", k, str(v))
    deployments = by_kind.get("Deployment", [])
    if not deployments:
        fail(where, "no Deployment")
    for dep in deployments:
        name = get(dep, "metadata.name")
        w = f"{where} Deployment {name}"
        labels = get(dep, "spec.template.metadata.labels", {})
        selector = get(dep, "spec.selector.matchLabels", {})
        if not selector or any(labels.get(k) != v for k, v in selector.items()):
            fail(w, "spec.selector.matchLabels does not select the pod template's labels")
        containers = get(dep, "spec.template.spec.containers", [])
        if len(containers) != 1:
            fail(w, "expected one container")
            continue
        c = containers[0]
        ports = {p.get("name"): p.get("containerPort") for p in c.get("ports", [])}
        env = {}
        for src in c.get("envFrom", []):
            ref = get(src, "configMapRef.name")
            if ref not in configs:
                fail(w, f"envFrom names ConfigMap {ref!r}, which is not there")
            else:
                env.update({k: str(v) for k, v in configs[ref].items()})
        for e in c.get("env", []):
            env[e["name"]] = str(e.get("value", ""))
            check_roost_var(w, e["name"], env[e["name"]])
        side = env.get("ROOST_SIDE_PORT", "")
        side_port = int(side.rsplit(":", 1)[1]) if ":" in side else None
        if side_port is None:
            fail(w, "ROOST_SIDE_PORT is not set: no side port for the probes")
        if ports.get("side") != side_port:
            fail(w, f"port 'side' is {ports.get('side')}, ROOST_SIDE_PORT says {side_port}")
        args = c.get("args", [])
        if not args or str(ports.get("service")) != str(args[0]):
            fail(w, f"port 'service' {ports.get('service')} is not the port in args {args}")
        if len(args) > 1 and args[1] not in ("0.0.0.0", "::"):
            fail(w, f"the service listens on {args[1]}: other pods cannot reach it")
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            got = get(c, f"{probe}.httpGet.path")
            port = get(c, f"{probe}.httpGet.port")
            if got != path:
                fail(w, f"{probe} asks {got!r}, the side port's answer for it is {path}")
            if port not in ("side", side_port):
                fail(w, f"{probe} asks port {port!r}, not the side port")
        grace = get(dep, "spec.template.spec.terminationGracePeriodSeconds", 30)
        if int(grace) <= 10:
            fail(w, "terminationGracePeriodSeconds must exceed the drain timeout (10 s)")
        if get(dep, "spec.template.spec.securityContext.runAsUser") != DOCKER_UID:
            fail(w, f"runAsUser is not the image's user {DOCKER_UID}")
        check_selects(where, by_kind, name, labels, ports)


def check_selects(where, by_kind, dep_name, labels, ports):
    for svc in by_kind.get("Service", []):
        w = f"{where} Service {get(svc, 'metadata.name')}"
        sel = get(svc, "spec.selector", {})
        if not sel or any(labels.get(k) != v for k, v in sel.items()):
            fail(w, f"does not select Deployment {dep_name}'s pods")
        for p in get(svc, "spec.ports", []):
            if p.get("targetPort") not in ports and p.get("targetPort") not in ports.values():
                fail(w, f"targetPort {p.get('targetPort')!r} is no port of the container")
    for hpa in by_kind.get("HorizontalPodAutoscaler", []):
        w = f"{where} HorizontalPodAutoscaler {get(hpa, 'metadata.name')}"
        if get(hpa, "spec.scaleTargetRef.name") != dep_name:
            fail(w, f"scales {get(hpa, 'spec.scaleTargetRef.name')!r}, not {dep_name}")
        lo, hi = get(hpa, "spec.minReplicas", 1), get(hpa, "spec.maxReplicas")
        if hi is None or int(lo) > int(hi):
            fail(w, "needs minReplicas <= maxReplicas")
    for pdb in by_kind.get("PodDisruptionBudget", []):
        w = f"{where} PodDisruptionBudget {get(pdb, 'metadata.name')}"
        sel = get(pdb, "spec.selector.matchLabels", {})
        if not sel or any(labels.get(k) != v for k, v in sel.items()):
            fail(w, f"does not select Deployment {dep_name}'s pods")
        if get(pdb, "spec.minAvailable") is None and get(pdb, "spec.maxUnavailable") is None:
            fail(w, "needs minAvailable or maxUnavailable")
    for kind in ("Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ConfigMap"):
        if not by_kind.get(kind):
            fail(where, f"no {kind}")


def load_yaml(path):
    try:
        with open(os.path.join(ROOT, path), encoding="utf-8") as f:
            return list(yaml.safe_load_all(f))
    except yaml.YAMLError as e:
        fail(path, f"does not parse: {e}")
        return []


# ---- Dockerfile ----

dockerfile = read("deploy/Dockerfile")
froms = re.findall(r"^FROM (\S+)", dockerfile, re.M)
if not froms or any(not f.startswith("debian:12") for f in froms) or len(froms) < 2:
    fail("deploy/Dockerfile", f"expected a multi-stage build on Debian 12, got {froms}")
if "scripts/install-deps.sh --build" not in dockerfile:
    fail("deploy/Dockerfile", "does not install its build dependencies with scripts/install-deps.sh --build")
if "--build" not in read("scripts/install-deps.sh"):
    fail("scripts/install-deps.sh", "has no --build option")
targets = re.findall(r"--target (\w+)", dockerfile)
for t in targets:
    if t not in BINARIES:
        fail("deploy/Dockerfile", f"builds {t}, which examples/math does not define ({sorted(BINARIES)})")
entry = re.search(r'^ENTRYPOINT \["([^"]+)"', dockerfile, re.M)
if not entry or os.path.basename(entry.group(1)) not in targets:
    fail("deploy/Dockerfile", "the ENTRYPOINT is not the binary it builds")
m = re.search(r"^COPY --from=build (\S+) (\S+)", dockerfile, re.M)
if not m or not m.group(1).endswith("/build/examples/math/" + (targets or ["?"])[0]):
    fail("deploy/Dockerfile", "does not copy the binary from where the build puts it")
elif entry and m.group(2) != entry.group(1):
    fail("deploy/Dockerfile", "copies the binary elsewhere than the ENTRYPOINT runs it")
uid = re.search(r"^USER (\d+)", dockerfile, re.M)
DOCKER_UID = int(uid.group(1)) if uid else None
if DOCKER_UID is None or DOCKER_UID == 0:
    fail("deploy/Dockerfile", "should run as a numeric non-root USER")
exposed = {int(p) for line in re.findall(r"^EXPOSE (.+)$", dockerfile, re.M) for p in line.split()}
env_block = re.search(r"^ENV ((?:.*\\\n)*.*)$", dockerfile, re.M)
docker_env = dict(re.findall(r"(ROOST_[A-Z_]+)=(\S+)", env_block.group(1))) if env_block else {}
for k, v in docker_env.items():
    check_roost_var("deploy/Dockerfile ENV", k, v)
docker_side = int(docker_env.get("ROOST_SIDE_PORT", ":0").rsplit(":", 1)[1])
if exposed != {DEFAULT_PORT, docker_side}:
    fail("deploy/Dockerfile", f"EXPOSE {sorted(exposed)}: expected the service's port "
         f"{DEFAULT_PORT} and the side port {docker_side}")
cmd = re.search(r"^CMD (\[.*\])", dockerfile, re.M)
if not cmd or json.loads(cmd.group(1))[0] != str(DEFAULT_PORT):
    fail("deploy/Dockerfile", "CMD does not start the service on its default port")

ignored = read(".dockerignore").split()
for must in (".git", "build*/"):
    if must not in ignored:
        fail(".dockerignore", f"does not leave out {must}")

# ---- deploy/k8s ----

k8s_docs = []
for name in sorted(os.listdir(os.path.join(ROOT, "deploy/k8s"))):
    if name.endswith(".yaml"):
        k8s_docs += load_yaml(f"deploy/k8s/{name}")
check_objects("deploy/k8s", k8s_docs)
for d in k8s_docs:
    if d and d.get("kind") == "Deployment":
        c = get(d, "spec.template.spec.containers")[0]
        if str(DEFAULT_PORT) != c["args"][0]:
            fail("deploy/k8s/deployment.yaml", "the service's port is not math_service's default")

# ---- KEDA ----

def default_of(path, field):
    m = re.search(rf'std::string {field} = "([^"]*)"', read(path))
    return m.group(1) if m else None


kafka_options = "transports/kafka/include/roost/kafka/options.hpp"
kafka_group = default_of(kafka_options, "group_id")
postfix = re.search(r'server_options\(\) \{ postfix_id = "([^"]*)"; \}', read(kafka_options))
kafka_group = (kafka_group or "?") + (postfix.group(1) if postfix else "?")
redis_group = default_of("transports/redis/include/roost/redis/options.hpp", "group")
nats_durable = default_of("transports/nats/include/roost/nats/options.hpp", "durable")
keda_required = {
    "rabbitmq": ("queueName", "mode", "value"),
    "kafka": ("bootstrapServers", "consumerGroup", "topic", "lagThreshold"),
    "redis-streams": ("address", "stream", "consumerGroup", "pendingEntriesCount"),
    "nats-jetstream": ("natsServerMonitoringEndpoint", "stream", "consumer", "lagThreshold"),
}
seen_triggers = set()
keda_dir = "deploy/k8s/keda"
for name in sorted(os.listdir(os.path.join(ROOT, keda_dir))):
    if not name.endswith(".yaml"):
        continue
    w = f"{keda_dir}/{name}"
    for d in load_yaml(w):
        if get(d, "apiVersion") != "keda.sh/v1alpha1" or get(d, "kind") != "ScaledObject":
            fail(w, "not a keda.sh/v1alpha1 ScaledObject")
            continue
        if not get(d, "spec.scaleTargetRef.name"):
            fail(w, "no spec.scaleTargetRef.name")
        if get(d, "spec.minReplicaCount") != 0:
            fail(w, "minReplicaCount should be 0 (scale to zero)")
        for t in get(d, "spec.triggers", []):
            kind, meta = t.get("type"), t.get("metadata", {})
            seen_triggers.add(kind)
            for key in keda_required.get(kind, ()):
                if key not in meta:
                    fail(w, f"{kind} trigger without {key}")
            if kind not in keda_required:
                fail(w, f"unexpected trigger type {kind!r}")
            if kind == "kafka" and meta.get("consumerGroup") != kafka_group:
                fail(w, f"consumerGroup {meta.get('consumerGroup')!r}: roost's server joins {kafka_group!r}")
            if kind == "redis-streams" and meta.get("consumerGroup") != redis_group:
                fail(w, f"consumerGroup {meta.get('consumerGroup')!r}: roost's default is {redis_group!r}")
            if kind == "nats-jetstream" and not str(meta.get("consumer", "")).startswith(f"{nats_durable}_"):
                fail(w, f"consumer {meta.get('consumer')!r}: roost's durables are {nats_durable}_<route>")
            for v in meta:
                if v.endswith("FromEnv") and meta[v].startswith("ROOST_") and meta[v] not in READ_VARS:
                    fail(w, f"{meta[v]} is not a variable roost reads")
for kind in keda_required:
    if kind not in seen_triggers:
        fail(keda_dir, f"no ScaledObject with a {kind} trigger")

# ---- Helm chart: values against references, then the templates rendered ----

chart_dir = "deploy/helm/roost-service"
chart = (load_yaml(f"{chart_dir}/Chart.yaml") or [{}])[0] or {}
for field in ("apiVersion", "name", "version"):
    if field not in chart:
        fail(f"{chart_dir}/Chart.yaml", f"no {field}")
values = (load_yaml(f"{chart_dir}/values.yaml") or [{}])[0] or {}
templates = {}
tdir = os.path.join(ROOT, chart_dir, "templates")
for name in sorted(os.listdir(tdir)):
    if name.endswith(".yaml"):
        templates[name] = read(f"{chart_dir}/templates/{name}")
all_text = "".join(templates.values())
referenced = set(re.findall(r"\.Values\.([A-Za-z0-9_.]+)", all_text))
for ref in referenced:
    if get(values, ref) is None:
        fail(chart_dir, f"templates use .Values.{ref}, which values.yaml does not set")
for key in values:
    if not any(r == key or r.startswith(key + ".") for r in referenced):
        fail(f"{chart_dir}/values.yaml", f"{key} is used by no template")

RELEASE = "math-service"


def value_of(expr, name):
    expr = expr.strip()
    if expr == ".Release.Name":
        return RELEASE
    if expr.startswith(".Values."):
        return get(values, expr[len(".Values."):])
    if expr.startswith("not "):
        return not value_of(expr[4:], name)
    if expr.startswith("toJson "):
        return json.dumps(value_of(expr[7:], name))
    if expr.startswith("include "):
        return hashlib.sha256(b"").hexdigest()  # the config checksum: any text will do here
    fail(f"{chart_dir}/templates/{name}", f"template expression this check cannot render: {expr!r}")
    return ""


def render(text, name):
    """The subset the chart uses: {{ expr }}, `| quote`, `| sha256sum`, if/end, whitespace trim."""
    out, stack = [], [True]
    pos = 0
    for m in re.finditer(r"(\s*)\{\{(-?)\s*(.*?)\s*(-?)\}\}", text, re.S):
        lead, trim_left, expr, trim_right = m.group(1), m.group(2), m.group(3), m.group(4)
        if all(stack):
            out.append(text[pos:m.start()])
            if not trim_left:
                out.append(lead)
        pos = m.end()
        if trim_right:
            while pos < len(text) and text[pos] in " \t\n":
                pos += 1
        if expr.startswith("if "):
            stack.append(bool(value_of(expr[3:], name)))
        elif expr == "end":
            stack.pop()
        elif all(stack):
            parts = [p.strip() for p in expr.split("|")]
            v = value_of(parts[0], name)
            for f in parts[1:]:
                if f == "quote":
                    v = json.dumps(str(v))
                elif f != "sha256sum":
                    fail(f"{chart_dir}/templates/{name}", f"unknown function {f!r}")
            out.append(str(v).lower() if isinstance(v, bool) else str(v))
    if all(stack):
        out.append(text[pos:])
    return "".join(out)


rendered = []
for name, text in templates.items():
    try:
        rendered += [d for d in yaml.safe_load_all(render(text, name)) if d]
    except yaml.YAMLError as e:
        fail(f"{chart_dir}/templates/{name}", f"rendered, does not parse: {e}")
check_objects(f"{chart_dir} (rendered)", rendered)

# ---- the built binary, started as the Deployment starts it ----

def probe(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status
    except Exception as e:  # an HTTP error status or a refused connection
        return getattr(e, "code", str(e))


if BINARY:
    config = next(d for d in k8s_docs if d and d.get("kind") == "ConfigMap")
    env = dict(os.environ)
    env.update({k: str(v) for k, v in config["data"].items()})
    # Loopback and free ports here, as the pod's 0.0.0.0 and fixed ports would collide.
    env["ROOST_SIDE_PORT"] = "127.0.0.1:0"
    env["ROOST_LOG_FORMAT"] = "json"
    proc = subprocess.Popen([BINARY, "0", "127.0.0.1"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    side = None
    deadline = time.monotonic() + 20
    try:
        for line in proc.stdout:
            m = re.search(r"serving /healthz, /readyz and /metrics on [0-9.]+:(\d+)", line)
            if m:
                side = int(m.group(1))
            if line.startswith("READY") or time.monotonic() > deadline:
                break
        if side is None:
            fail(BINARY, "did not open its side port with the ConfigMap's settings")
        else:
            for path in ("/healthz", "/readyz", "/metrics"):
                status = probe(side, path)
                if status != 200:
                    fail(BINARY, f"GET {path} on the side port answered {status}, not 200")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            fail(BINARY, "did not exit within 15 s of SIGTERM")
    if proc.returncode not in (0, -15):
        fail(BINARY, f"exited with {proc.returncode} after SIGTERM")

if BINARY:
    # --print-config: every variable as in force, secrets masked, and exit 0; a bad value
    # stops the service before it starts, naming it.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROOST_", "OTEL_"))}
    env.update({"ROOST_THREADS": "3", "ROOST_CLIENT_SECRET": "s3cret",
                "ROOST_CLIENT_URL": "amqp://app:hunter2@mq:5672/?queue=orders"})
    r = subprocess.run([BINARY, "--print-config"], env=env, capture_output=True, text=True,
                       timeout=30)
    lines = dict(l.split("=", 1) for l in r.stdout.splitlines() if "=" in l)
    if r.returncode != 0:
        fail(BINARY, f"--print-config exited with {r.returncode}: {r.stderr.strip()}")
    if lines.get("ROOST_THREADS") != "3" or lines.get("ROOST_DRAIN_TIMEOUT") != "10s":
        fail(BINARY, f"--print-config did not print the configuration in force:\n{r.stdout}")
    if "s3cret" in r.stdout or "hunter2" in r.stdout:
        fail(BINARY, f"--print-config printed a secret:\n{r.stdout}")
    if lines.get("ROOST_CLIENT_URL") != "amqp://app:***@mq:5672/?queue=orders":
        fail(BINARY, f"--print-config: ROOST_CLIENT_URL is {lines.get('ROOST_CLIENT_URL')!r}")
    r = subprocess.run([BINARY, "--print-config=json"], env=env, capture_output=True, text=True,
                       timeout=30)
    try:
        printed = json.loads(r.stdout)
        if printed["ROOST_THREADS"] != {"value": "3", "source": "environment"}:
            fail(BINARY, f"--print-config=json: ROOST_THREADS is {printed['ROOST_THREADS']}")
    except (ValueError, KeyError) as e:
        fail(BINARY, f"--print-config=json did not print the JSON object ({e}):\n{r.stdout}")
    env["ROOST_DRAIN_TIMEOUT"] = "ten seconds"
    r = subprocess.run([BINARY, "0", "127.0.0.1"], env=env, capture_output=True, text=True,
                       timeout=30)
    if r.returncode != 2 or 'ROOST_DRAIN_TIMEOUT="ten seconds": expected a duration' not in r.stderr:
        fail(BINARY, f"a bad ROOST_DRAIN_TIMEOUT: exit {r.returncode}, stderr {r.stderr!r}")

for p in problems:
    print(p)
print(f"check_deploy: {len(problems)} problem(s)"
      + (f"; binary {os.path.basename(BINARY)} probed" if BINARY else ""))
sys.exit(1 if problems else 0)
