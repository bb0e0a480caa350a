#!/usr/bin/env python3
"""run-docs.py - run the commands the docs tell people to run.

Commands are taken from the ```sh / ```bash / ```shell blocks of README.md
and docs/*.md (continuation lines joined, a for ... done loop kept whole),
and from docs/examples/: every driftless invocation in the YAML files'
strings (a shell line starting with driftless, `docker run ...
"$DRIFTLESS_IMAGE" ARGS`, or a container's args list) and each systemd
unit's ExecStart. Each one must be classified in COMMANDS below:

  OFFLINE  run without credentials or network (no sandbox variables), the
           exit code checked;
  SANDBOX  run against the sandbox started by the getting-started block
           (fakegcp and the Firestore emulator seeded with the first
           user's live state), the exit code checked;
  SKIP     not run, with the reason (real Google Cloud, gcloud, a network
           URL, root, changes the shared state, a long-running server).

The test fails when a classified command fails (or exits with another
code; a sandbox command whose request timed out is tried once more, with a
note: on an overloaded machine the emulator's first runQuery can exceed
the client's 60 s per-attempt limit), when a command in the docs is not classified (a new one: add it),
and when a classified command is no longer in the docs (remove it).

Commands run in a scratch checkout (build/, scripts/, tests/, docs/ and
desired-state/ linked to this tree and build) or in the sample monorepo
(the "current repository" of the docs), with `driftless` on PATH; the
getting-started block's /tmp/monorepo is a scratch directory instead.
The sandbox commands run in one shell session, in document order, after
the getting-started sandbox block's setup and before its `scripts/sandbox
down`. Each systemd unit is checked with `systemd-analyze verify` (with
ExecStart pointed at this build and the man page installed in a scratch
MANPATH).
Usage: run-docs.py (with DL_SOURCE_DIR and DL_BINARY_DIR set)
"""
import glob
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

try:
    import yaml
except ImportError:  # Debian's python3-yaml is for /usr/bin/python3
    if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    raise

top = os.environ["DL_SOURCE_DIR"]
bindir = os.environ["DL_BINARY_DIR"]

OFFLINE, SANDBOX, SKIP = "offline", "sandbox", "skip"
CHECKOUT, REPO, CLOUDBUILD = "checkout", "repo", "cloudbuild"

GCLOUD = "gcloud: needs Google Cloud credentials and a real project"
URL = "reads a network git URL (a placeholder repository)"
SERVER = "driftless run serves until stopped, from a network URL"
APPLY = ("changes the sandbox's state; apply is run end to end by the "
         "demo-end-to-end test and saved plans by integration-apply-*")

IMPORT = ("writes a new desired-state tree for a live project: the same "
          "import -> validate -> plan --detailed-exitcode round trip runs "
          "in integration-import-* (tests/integration/import), on the first "
          "user's project too")
FUZZ = ("a second, clang libFuzzer build of the tree; the corpora replay "
        "as the fuzz-replay-* tests")

# (file, command) -> (class, where, expected exit codes) or (SKIP, reason)
COMMANDS = {
    ("docs/cli.md", "driftless import --project nba-props-platform "
     "--region us-west2"): (SKIP, IMPORT),
    ("docs/cli.md", "driftless import --project acme-prod --region "
     "us-central1 --region europe-west1 --out platform/acme-prod"):
        (SKIP, IMPORT),
    ("docs/cli.md", "driftless plan --source platform/acme-prod --path . "
     "--detailed-exitcode"): (SKIP, IMPORT),
    ("docs/getting-started.md", "driftless import --project my-project-id "
     "--region us-west2"): (SKIP, IMPORT),
    ("docs/getting-started.md", "driftless plan --detailed-exitcode"):
        (SKIP, IMPORT),
    ("docs/reliability.md", "CC=clang cmake -B build-fuzz -DDL_FUZZ=ON "
     "-DCMAKE_BUILD_TYPE=RelWithDebInfo"): (SKIP, FUZZ),
    ("docs/reliability.md", "cmake --build build-fuzz -j2"): (SKIP, FUZZ),
    ("docs/reliability.md",
     't=gcp_cloud_run'): (SKIP, FUZZ),
    ("docs/reliability.md",
     'mkdir -p /tmp/fz-$t && cp tests/fuzz/corpus/$t/* /tmp/fz-$t/'): (SKIP, FUZZ),
    ("docs/reliability.md",
     'cat tests/fuzz/gcp_json.dict tests/fuzz/$t.dict > /tmp/$t.dict'): (SKIP, FUZZ),
    ("docs/reliability.md",
     'nice build-fuzz/tests/fuzz/fuzz_$t -max_total_time=600 -timeout=20 -rss_limit_mb=2048 -dict=/tmp/$t.dict -print_final_stats=1 /tmp/fz-$t'): (SKIP, FUZZ),
    ("docs/reliability.md",
     'mkdir /tmp/min /tmp/old'): (SKIP, FUZZ),
    ("docs/reliability.md",
     'cp tests/fuzz/corpus/$t/{seed,tricky,regress}-* /tmp/min/ 2>/dev/null'): (SKIP, FUZZ),
    ("docs/reliability.md",
     'cp tests/fuzz/corpus/$t/fuzz-* /tmp/old/ 2>/dev/null'): (SKIP, FUZZ),
    ("docs/reliability.md",
     'build-fuzz/tests/fuzz/fuzz_$t -merge=1 -use_counters=0 /tmp/min /tmp/old /tmp/fz-$t'): (SKIP, FUZZ),
    # README.md
    ("README.md", "scripts/demo"):
        (SKIP, "the demo-end-to-end test runs it, with its output checked"),
    ("README.md", "scripts/test"):
        (SKIP, "the whole CI, which runs this test"),
    ("README.md", "scripts/install-deps"):
        (SKIP, "installs Debian packages as root; scripts/test runs it"),
    ("README.md", 'cmake -B build && cmake --build build -j"$(nproc)"'):
        (SKIP, "the build this test runs from"),
    ("README.md", "./build/driftless --help"): (OFFLINE, CHECKOUT, {0}),
    # docs/ci.md
    ("docs/ci.md", "driftless plan --format markdown --detailed-exitcode "
     "--out plan.json >plan.md"): (SANDBOX, REPO, {2}),
    ("docs/ci.md", "gcloud iam workload-identity-pools create github "
     "--location global"): (SKIP, GCLOUD),
    ("docs/ci.md", "gcloud iam workload-identity-pools providers "
     "create-oidc github --location global --workload-identity-pool github "
     "--issuer-uri https://token.actions.githubusercontent.com "
     "--attribute-mapping google.subject=assertion.sub,attribute.repository"
     "=assertion.repository --attribute-condition \"assertion.repository == "
     "'acme/platform'\""): (SKIP, GCLOUD),
    ("docs/ci.md", "gcloud iam service-accounts add-iam-policy-binding "
     "driftless-plan@my-project.iam.gserviceaccount.com --role "
     "roles/iam.workloadIdentityUser --member \"principalSet://iam."
     "googleapis.com/projects/NUMBER/locations/global/workloadIdentityPools/"
     "github/attribute.repository/acme/platform\""): (SKIP, GCLOUD),
    # docs/cli.md
    ("docs/cli.md", "driftless plan"): (SANDBOX, REPO, {0}),
    ("docs/cli.md", "driftless plan --source "
     "https://github.com/acme/platform.git --ref main"): (SKIP, URL),
    ("docs/cli.md", "driftless plan --only CloudRunService/prediction-worker"
     " --format json"): (SANDBOX, REPO, {0}),
    ("docs/cli.md", "driftless plan --format markdown --detailed-exitcode "
     "--out plan.json >plan.md"): (SANDBOX, REPO, {2}),
    # docs/controller.md
    ("docs/controller.md", "driftless --log-format json run --source "
     "https://github.com/acme/infra.git --ref main --interval 3m --listen "
     "0.0.0.0:9090 --webhook-secret-file /secrets/webhook"): (SKIP, SERVER),
    ("docs/controller.md", "gcloud run jobs create driftless --image "
     "REGION-docker.pkg.dev/PROJECT/tools/driftless:0.1.0 --tasks 4 "
     "--parallelism 4 --max-retries 1 --task-timeout 30m --service-account "
     "driftless@PROJECT.iam.gserviceaccount.com --args=\"--log-format,json,"
     "--log-level,info,run,--once,--source,https://github.com/acme/infra.git"
     ",--ref,main\""): (SKIP, GCLOUD),
    ("docs/controller.md", "gcloud scheduler jobs create http "
     "driftless-every-10m --schedule \"*/10 * * * *\" --uri \"https://run."
     "googleapis.com/v2/projects/PROJECT/locations/REGION/jobs/driftless:run"
     "\" --http-method POST --oauth-service-account-email "
     "scheduler@PROJECT.iam.gserviceaccount.com"): (SKIP, GCLOUD),
    # docs/getting-started.md
    ("docs/getting-started.md", "scripts/demo"):
        (SKIP, "the demo-end-to-end test runs it"),
    ("docs/getting-started.md", "cmake -B build && cmake --build build -j2"):
        (SKIP, "the build this test runs from"),
    ("docs/getting-started.md", "scripts/sandbox up .sandbox"):
        (SANDBOX, CHECKOUT, {0}),
    ("docs/getting-started.md", "tests/sample/make-monorepo.sh "
     "/tmp/monorepo"): (SANDBOX, CHECKOUT, {0}),
    ("docs/getting-started.md", "tests/scenario/first-user/seed "
     ".sandbox/env /tmp/monorepo"): (SANDBOX, CHECKOUT, {0}),
    ("docs/getting-started.md", ". .sandbox/env && export "
     "GOOGLE_APPLICATION_CREDENTIALS=$DL_SANDBOX_SA_KEY"):
        (SANDBOX, CHECKOUT, {0}),
    ("docs/getting-started.md", "build/driftless plan --source "
     "/tmp/monorepo"): (SANDBOX, CHECKOUT, {0}),
    ("docs/getting-started.md", "build/driftless plan --source "
     "/tmp/monorepo --format markdown"): (SANDBOX, CHECKOUT, {0}),
    ("docs/getting-started.md", "scripts/sandbox down .sandbox"):
        (SANDBOX, CHECKOUT, {0}),
    ("docs/getting-started.md", "scripts/install-deps"):
        (SKIP, "installs Debian packages as root"),
    ("docs/getting-started.md", "cmake -B build -DCMAKE_BUILD_TYPE=Release "
     "&& cmake --build build -j\"$(nproc)\""):
        (SKIP, "a second build of the tree"),
    ("docs/getting-started.md", "sudo install build/driftless "
     "/usr/local/bin/"): (SKIP, "installs into the system as root"),
    ("docs/getting-started.md", "driftless validate"):
        (OFFLINE, REPO, {0}),
    ("docs/getting-started.md", "gcloud auth application-default login"):
        (SKIP, "gcloud: an interactive Google login"),
    ("docs/getting-started.md", "driftless plan"): (SANDBOX, REPO, {0}),
    ("docs/getting-started.md", "P=my-project-id"):
        (SKIP, "part of the gcloud setup below"),
    ("docs/getting-started.md", "SA=driftless-plan@$P.iam."
     "gserviceaccount.com"): (SKIP, "part of the gcloud setup below"),
    ("docs/getting-started.md", "gcloud iam service-accounts create "
     "driftless-plan --project \"$P\""): (SKIP, GCLOUD),
    ("docs/getting-started.md", "for role in roles/run.viewer "
     "roles/iam.securityReviewer roles/datastore.viewer "
     "roles/bigquery.metadataViewer; do gcloud projects "
     "add-iam-policy-binding \"$P\" --member \"serviceAccount:$SA\" --role "
     "\"$role\" --condition None; done"): (SKIP, GCLOUD),
    ("docs/getting-started.md", "gcloud iam roles create "
     "driftlessBucketReader --project \"$P\" --permissions "
     "storage.buckets.list,storage.objects.list"): (SKIP, GCLOUD),
    ("docs/getting-started.md", "gcloud projects add-iam-policy-binding "
     "\"$P\" --member \"serviceAccount:$SA\" --role \"projects/$P/roles/"
     "driftlessBucketReader\" --condition None"): (SKIP, GCLOUD),
    ("docs/getting-started.md", "driftless plan --ref main"):
        (SANDBOX, REPO, {0}),
    ("docs/getting-started.md", "driftless plan --format json --out "
     "plan.json"): (SANDBOX, REPO, {0}),
    # docs/operations.md
    ("docs/operations.md", "driftless --log-format json --log-level info "
     "run --source https://github.com/acme/platform.git --ref main --listen "
     ":8080 --interval 3m --lease-duration 5m"): (SKIP, SERVER),
    ("docs/operations.md", "gcloud run services replace "
     "docs/examples/cloudrun-service.yaml --region us-central1"):
        (SKIP, GCLOUD),
    ("docs/operations.md", "gcloud run jobs create driftless --image "
     "us-docker.pkg.dev/my-project/tools/driftless:0.1.0 --tasks 4 "
     "--parallelism 4 --max-retries 1 --task-timeout 30m --service-account "
     "driftless-controller@my-project.iam.gserviceaccount.com "
     "--args=\"--log-format,json,--log-level,info,run,--once,--source,"
     "https://github.com/acme/platform.git,--ref,main\""): (SKIP, GCLOUD),
    ("docs/operations.md", "curl -s -H \"Authorization: Bearer $(gcloud "
     "auth print-access-token)\" \"https://firestore.googleapis.com/v1/"
     "projects/my-project/databases/(default)/documents/driftless_leases/"
     "my-project\""): (SKIP, GCLOUD),
    # docs/examples/
    ("docs/examples/github-driftless.yml", "driftless plan --format "
     "markdown --detailed-exitcode --out plan.json >plan.md"):
        (SANDBOX, REPO, {2}),
    ("docs/examples/github-driftless.yml", "driftless --log-format json "
     "apply --plan reviewed/plan.json --auto-approve --lock-timeout 10m "
     "--report report.json 2>apply.err"): (SKIP, APPLY),
    ("docs/examples/github-driftless.yml", "driftless --log-format json "
     "apply --plan replanned/plan.json --auto-approve --lock-timeout 10m "
     "--report report.json"): (SKIP, APPLY),
    ("docs/examples/cloudbuild-plan.yaml", "driftless plan --source repo "
     "--format markdown --detailed-exitcode --out plan.json >plan.md"):
        (SANDBOX, CLOUDBUILD, {2}),
    ("docs/examples/cloudbuild-apply.yaml", "driftless --log-format json "
     "apply --source repo --plan approved.json --auto-approve "
     "--lock-timeout 10m"): (SKIP, APPLY),
    ("docs/examples/cloudbuild-apply.yaml", "driftless --log-format json "
     "apply --source repo --plan reviewed.json --auto-approve "
     "--lock-timeout 10m 2>apply.err"): (SKIP, APPLY),
    ("docs/examples/cloudbuild-apply.yaml", "driftless plan --source repo "
     "--format markdown --detailed-exitcode --out plan.json >plan.md"):
        (SANDBOX, CLOUDBUILD, {2}),
    ("docs/examples/cloudrun-service.yaml", "driftless --log-format json "
     "--log-level info run --listen :8080 --source "
     "https://github.com/acme/platform.git --ref main --interval 3m "
     "--poll-interval 1m --lease-duration 5m --cache-dir "
     "/tmp/driftless-cache"): (SKIP, SERVER),
    ("docs/examples/driftless.service", "driftless --log-format json "
     "--log-level info run --source https://github.com/acme/platform.git "
     "--ref main --cache-dir /var/cache/driftless --listen 127.0.0.1:9090 "
     "--interval 3m --lease-duration 5m --webhook-secret-file "
     "%d/webhook"): (SKIP, SERVER + "; the unit is checked by "
                     "systemd-analyze verify"),
}


def norm(s):
    s = re.sub(r"\s+#\s.*$", "", s.strip())  # a trailing comment
    return " ".join(s.split())


def md_commands(path):
    """(line, command) of the shell blocks of a markdown file."""
    out, block, lang = [], None, None
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        m = re.match(r"\s*```(\w*)", line)
        if m:
            if block is None:
                block, lang = [], m.group(1)
            else:
                if lang in ("sh", "bash", "shell"):
                    out.extend(logical(block))
                block = None
            continue
        if block is not None:
            block.append((n, line.rstrip("\n")))
    return out


def logical(lines):
    """Join continuation lines and for/while ... done loops."""
    out, cur, start, depth = [], "", 0, 0
    for n, line in lines:
        text = line.rstrip()
        if not cur:
            start = n
            if not text.strip() or text.lstrip().startswith("#"):
                continue
        cont = text.endswith("\\")
        cur += " " + (text[:-1] if cont else text)
        words = re.findall(r"[a-z]+", norm(text))
        depth += words.count("do") - words.count("done")
        if not cont and depth > 0 and not re.search(r"\b(do|then)$",
                                                    norm(text)):
            cur += ";"  # a newline inside a loop
        if not cont and depth <= 0:
            out.append((start, norm(cur)))
            cur, depth = "", 0
    return out


def example_commands(path):
    """(0, command) of the driftless invocations in an example file."""
    found = []
    text = open(path, encoding="utf-8").read()
    if path.endswith(".service"):
        joined = re.sub(r"\\\n\s*", " ", text)
        for m in re.finditer(r"^ExecStart=\S*driftless(.*)$", joined, re.M):
            found.append("driftless" + m.group(1))
        return [(0, norm(c)) for c in found]
    strings = []

    # Only what a shell or a container runs: GitHub's `run`, Cloud Build's
    # and Cloud Run's `args` (not names, descriptions or comments).
    def walk(node, key=None):
        if isinstance(node, str):
            if key in ("run", "args", "script", "command"):
                strings.append(node)
        elif isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            if "run" in node and all(isinstance(x, str) for x in node) and \
                    node and node[0].startswith("--"):
                found.append("driftless " + " ".join(node))
            for v in node:
                walk(v, key)
    for doc in yaml.safe_load_all(text):
        walk(doc)
    for s in strings:
        for line in re.sub(r"\\\n\s*", " ", s).split("\n"):
            m = re.match(r"\s*(?:exec\s+)?(?:\S*/)?driftless(\s.*)$", line)
            d = re.search(r'"\$DRIFTLESS_IMAGE"(\s.*)$', line)
            if m:
                found.append("driftless" + m.group(1))
            elif d:
                found.append("driftless" + d.group(1))
    return [(0, norm(c)) for c in dict.fromkeys(found)]


def where_of(f, n):
    return "%s:%d" % (f, n) if n else f


def collect():
    cmds = []
    for path in [os.path.join(top, "README.md")] + sorted(
            glob.glob(os.path.join(top, "docs", "*.md"))):
        rel = os.path.relpath(path, top)
        cmds += [(rel, n, c) for n, c in md_commands(path)]
    for path in sorted(glob.glob(os.path.join(top, "docs", "examples", "*"))):
        rel = os.path.relpath(path, top)
        if path.endswith((".yml", ".yaml", ".service")):
            cmds += [(rel, n, c) for n, c in example_commands(path)]
    return cmds


def verify_units(work, fails):
    units = glob.glob(os.path.join(top, "docs", "examples", "*.service"))
    man = os.path.join(work, "man", "man1")
    os.makedirs(man, exist_ok=True)
    shutil.copy(os.path.join(top, "docs", "driftless.1"), man)
    for u in units:
        text = open(u).read().replace("/usr/local/bin/driftless",
                                      os.path.join(bindir, "driftless"))
        # The credential file must exist for verify; any readable file does.
        text = re.sub(r"LoadCredential=(\w+):\S+", r"LoadCredential=\1:" +
                      os.path.join(top, "README.md"), text)
        dst = os.path.join(work, os.path.basename(u))
        open(dst, "w").write(text)
        p = subprocess.run(["systemd-analyze", "verify", dst],
                           capture_output=True, text=True,
                           env=dict(os.environ, MANPATH=os.path.join(
                               work, "man")))
        rel = os.path.relpath(u, top)
        if p.returncode != 0 or p.stderr.strip():
            fails.append("%s: systemd-analyze verify: %s" %
                         (rel, (p.stdout + p.stderr).strip()))
        else:
            print("ok   %s: systemd-analyze verify" % rel)


def main():
    fails = []
    cmds = collect()
    seen = set()
    plan = []  # (file, line, cmd, class, where, codes)
    for f, n, c in cmds:
        key = (f, c)
        if key in seen:
            continue
        seen.add(key)
        cls = COMMANDS.get(key)
        if cls is None:
            fails.append("%s: a command no test runs or skips: %r "
                         "(classify it in run-docs.py)" % (where_of(f, n), c))
        elif cls[0] == SKIP:
            print("skip %s: %s  [%s]" % (where_of(f, n), c, cls[1]))
        else:
            plan.append((f, n, c) + cls)
    for key in COMMANDS:
        if key not in seen:
            fails.append("%s: %r is classified but no longer in the docs "
                         "(remove it from run-docs.py)" % key)

    work = tempfile.mkdtemp(prefix="dl-run-docs-")
    checkout = os.path.join(work, "checkout")
    os.makedirs(checkout)
    os.symlink(bindir, os.path.join(checkout, "build"))
    for d in ("scripts", "tests", "docs"):
        os.symlink(os.path.join(top, d), os.path.join(checkout, d))
    # A copy: make-monorepo.sh copies it with cp -R (a link would stay one).
    shutil.copytree(os.path.join(top, "desired-state"),
                    os.path.join(checkout, "desired-state"))
    os.makedirs(os.path.join(work, "bin"))
    os.symlink(os.path.join(bindir, "driftless"),
               os.path.join(work, "bin", "driftless"))
    repo = os.path.join(work, "monorepo")
    cb = os.path.join(work, "cloudbuild")
    os.makedirs(cb)
    os.symlink(repo, os.path.join(cb, "repo"))
    os.makedirs(os.path.join(work, "tmp"))
    dirs = {CHECKOUT: checkout, REPO: repo, CLOUDBUILD: cb}
    env = dict(os.environ, PATH=os.path.join(work, "bin") + ":" +
               os.environ["PATH"], NO_COLOR="1",
               TMPDIR=os.path.join(work, "tmp"),
               XDG_CACHE_HOME=os.path.join(work, "cache"))

    # One session: the sandbox block up to its `down`, then every other
    # command (offline ones without the sandbox's variables), then `down`.
    setup = [p for p in plan if p[0] == "docs/getting-started.md"
             and p[4] == CHECKOUT]
    down = [p for p in setup if "sandbox down" in p[2]]
    setup = [p for p in setup if p not in down]
    rest = [p for p in plan if p not in setup and p not in down]
    order = setup + rest + down
    lines = ["set -u", "fails=0"]
    for i, (f, n, c, cls, where, codes) in enumerate(order):
        c = c.replace("/tmp/monorepo", repo)
        lines.append("cd %s" % shlex.quote(dirs[where]))
        if cls == OFFLINE:
            run = ("env -i PATH=\"$PATH\" HOME=\"$HOME\" TMPDIR=\"$TMPDIR\" "
                   "XDG_CACHE_HOME=\"$XDG_CACHE_HOME\" NO_COLOR=1 "
                   "bash -c %s" % shlex.quote(c))
        else:
            run = c
        want = " ".join(str(x) for x in sorted(codes))
        lines.append("echo %s" % shlex.quote("---- %s: %s" % (where_of(f, n),
                                                               c)))
        out = "%s/out.%d" % (shlex.quote(work), i)
        lines.append("%s >%s 2>&1 </dev/null; rc=$?" % (run, out))
        if cls == SANDBOX:
            # The one known limit an overloaded machine hits: a runQuery is
            # one request under the client's 60 s per-attempt timeout
            # (docs/internals/gcp.md). Said, and tried once more.
            lines.append('if ! case " %s " in *" $rc "*) true;; *) false;; '
                         'esac && grep -q "Timeout was reached" %s; then '
                         'echo "note: a request timed out (an overloaded '
                         'machine?): once more"; %s >%s 2>&1 </dev/null; '
                         'rc=$?; fi' % (" ".join(str(x) for x in
                                                  sorted(codes)), out, run,
                                        out))
        lines.append('case " %s " in *" $rc "*) echo "ok   %s (%s, exit '
                     '$rc)";; *) echo "FAIL %s: exit $rc, want %s"; '
                     'tail -n 20 %s/out.%d; fails=1;; esac' % (
                         want, where_of(f, n), cls, where_of(f, n), want,
                         shlex.quote(work), i))
    lines.append("exit $fails")
    script = os.path.join(work, "session.sh")
    open(script, "w").write("\n".join(lines) + "\n")
    try:
        p = subprocess.run(["bash", script], env=env, timeout=600)
        if p.returncode != 0:
            fails.append("a documented command failed (see above)")
        verify_units(work, fails)
    finally:
        sb = os.path.join(checkout, ".sandbox")
        if os.path.exists(os.path.join(sb, "env")):
            subprocess.run([os.path.join(top, "scripts", "sandbox"), "down",
                            sb], env=env)
            fails.append("the sandbox was left running (stopped now)")
        shutil.rmtree(work, ignore_errors=True)
    nrun = len(order)
    nskip = sum(1 for k in seen if COMMANDS.get(k, ("",))[0] == SKIP)
    for f in fails:
        print("FAIL " + f)
    print("%d commands in the docs: %d run (%d offline, %d in the sandbox), "
          "%d skipped with a reason" % (
              len(seen), nrun, sum(1 for p in order if p[3] == OFFLINE),
              sum(1 for p in order if p[3] == SANDBOX), nskip))
    return 1 if fails or nrun == 0 else 0


sys.exit(main())
