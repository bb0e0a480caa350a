#!/usr/bin/env bash
# make-monorepo.sh DEST - build a small, deterministic sample of the first
# user's monorepo as a git repository in DEST:
#   - an application skeleton with a Dockerfile per service
#     (data_processors/{raw,analytics,precompute}/Dockerfile,
#     predictions/worker/Dockerfile), as desired-state/ references them;
#   - a short history: the skeleton, a heartbeat writer with the bug (the run
#     ID in the document ID), the fix tagged `heartbeat-fix`, then two later
#     commits (the last one adds desired-state/, copied from this checkout);
#   - fixed names and dates, so every commit ID is the same on every run.
# DEST must not exist or be an empty directory. Prints DEST's HEAD commit.
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
    echo "usage: make-monorepo.sh DEST" >&2
    exit 1
fi
dest=$1
top=$(cd "$(dirname "$0")/../.." && pwd)
if [ -e "$dest" ] && [ -n "$(ls -A "$dest" 2>/dev/null)" ]; then
    echo "make-monorepo.sh: '$dest' exists and is not empty" >&2
    exit 1
fi
mkdir -p "$dest"
cd "$dest"

export GIT_AUTHOR_NAME="NBA Props Dev" GIT_AUTHOR_EMAIL="dev@nba-props.example"
export GIT_COMMITTER_NAME="NBA Props Dev"
export GIT_COMMITTER_EMAIL="dev@nba-props.example"
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null TZ=UTC
n=0
commit() { # message
    n=$((n + 1))
    local date="2026-01-$(printf '%02d' $((10 + n)))T12:00:00Z"
    git add -A
    GIT_AUTHOR_DATE=$date GIT_COMMITTER_DATE=$date \
        git -c commit.gpgsign=false commit -q -m "$1"
}

git init -q -b main .

dockerfile() { # dir module
    mkdir -p "$1"
    cat >"$1/Dockerfile" <<DOCKER
FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY shared/ shared/
COPY $1/ $1/
CMD ["python", "-m", "$2"]
DOCKER
}

cat >README.md <<'TXT'
# nba-props-platform

Scrapers, processors and the prediction worker of the NBA props platform.
TXT
echo "google-cloud-firestore==2.16.0" >requirements.txt
mkdir -p shared
cat >shared/__init__.py <<'TXT'
TXT
for d in raw analytics precompute; do
    mkdir -p "data_processors/$d"
    printf 'def main():\n    print("%s processor")\n' "$d" \
        >"data_processors/$d/main.py"
    dockerfile "data_processors/$d" "data_processors.$d.main"
done
mkdir -p predictions/worker
printf 'def main():\n    print("prediction worker")\n' \
    >predictions/worker/main.py
dockerfile predictions/worker predictions.worker.main
commit "Application skeleton: processors and prediction worker"

cat >shared/heartbeat.py <<'TXT'
from google.cloud import firestore


def beat(processor, run_id):
    doc_id = f"{processor}_{run_id}"
    firestore.Client().collection("processor_heartbeats").document(
        doc_id).set({"last_heartbeat": firestore.SERVER_TIMESTAMP})
TXT
commit "Processors write a heartbeat document per run"

cat >shared/heartbeat.py <<'TXT'
from google.cloud import firestore


def beat(processor, run_id):
    # One document per processor: the run ID goes in the body, not the ID
    # (the collection had grown to 106,349 documents).
    firestore.Client().collection("processor_heartbeats").document(
        processor).set({"last_heartbeat": firestore.SERVER_TIMESTAMP,
                        "run_id": run_id})
TXT
commit "Fix heartbeat document IDs: one document per processor"
git tag heartbeat-fix

printf 'def main():\n    print("raw processor, retries")\n' \
    >data_processors/raw/main.py
commit "Raw processor: retry transient errors"

cp -R "$top/desired-state" desired-state
commit "Declare the platform in desired-state/"

git rev-parse HEAD
