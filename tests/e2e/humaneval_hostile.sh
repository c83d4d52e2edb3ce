#!/usr/bin/env bash
# The sandbox of `parrot eval humaneval` against hostile completions (tests/data/hostile): an infinite loop, a
# memory bomb, a fork bomb, writing and deleting files outside its folder and under /etc, a connection to a
# listener on 127.0.0.1, kill(getppid(), 9), setsid() + a daemonized sleep, flooding stdout and stderr - all in
# one run beside benign samples. Each must end failed or timed out; no file outside the sandbox may change, the
# listener must see no connection, no process may be left, and the benign samples must pass within their own
# timeout (the hostile ones delay nobody).
. "$(dirname "$0")/lib.sh"
[ -x "$PARROT" ] || { fail humaneval_hostile "$PARROT not built"; exit 0; }
if [ "$(id -u)" != 0 ]; then ok "humaneval_hostile # skipped: the namespace sandbox needs root"; exit 0; fi
HOST=$DATA/hostile
MARK="900.$$$RANDOM"
VICTIM_DIR=$T/harness; mkdir -p "$VICTIM_DIR"; VICTIM=$VICTIM_DIR/victim.txt; echo "harness data" > "$VICTIM"
ETC=/etc/parrot-test-victim-$MARK; echo "etc data" > "$ETC"
cleanup() { rm -f "$ETC" "$ETC.new" "$ETC.moved" "/root/parrot-hostile-$MARK" "/var/tmp/parrot-hostile-$MARK" \
    "/dev/shm/parrot-hostile-$MARK" "/etc/parrot-hostile-$MARK"; [ -n "${LPID:-}" ] && kill "$LPID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT

# a listener on 127.0.0.1 that logs every connection
"$PYTHON" - "$T/port" "$T/connections" <<'PY' &
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1])); __import__("os").rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    c, a = s.accept()
    with open(sys.argv[2], "a") as f: f.write("connection from %r: %r\n" % (a, c.recv(100)))
    c.close()
PY
LPID=$!
for _ in $(seq 50); do [ -f "$T/port" ] && break; sleep 0.1; done
PORT=$(cat "$T/port")

# problems: HumanEval 0-7 and one per hostile file; samples: canonical solutions and the hostile completions
"$PYTHON" - "$DATA/../../data/humaneval/HumanEval.jsonl.gz" "$HOST" "$T" "$VICTIM" "$ETC" "$PORT" "$MARK" <<'PY' || fail humaneval_hostile_setup
import glob, gzip, json, os, sys
he, host, t, victim, etc, port, mark = sys.argv[1:]
probs = [json.loads(l) for l in gzip.open(he, "rt")][:8]
samples = [{"task_id": p["task_id"], "completion": p["canonical_solution"]} for p in probs]
for i, f in enumerate(sorted(glob.glob(host + "/*.py"))):
    name = "hostile/" + os.path.basename(f)[:-3]
    probs.append({"task_id": name, "prompt": "def hostile():\n", "canonical_solution": "",
                  "test": "def check(f):\n    f()\n    assert False, 'the hostile code returned'\n", "entry_point": "hostile"})
    code = open(f).read().replace("@VICTIM@", victim).replace("@ETC@", etc).replace("@PORT@", port).replace("@MARK@", mark)
    samples.insert(2 * i + 1 if 2 * i + 1 < len(samples) else len(samples), {"task_id": name, "completion": code})
with open(t + "/problems.jsonl", "w") as f:
    for p in probs: f.write(json.dumps(p) + "\n")
with open(t + "/samples.jsonl", "w") as f:
    for s in samples: f.write(json.dumps(s) + "\n")
PY
sum_before=$(sha256sum "$T/problems.jsonl" "$T/samples.jsonl" "$VICTIM" "$ETC")
TO=2
start=$(date +%s%N)
"$PARROT" eval humaneval --problems "$T/problems.jsonl" --samples "$T/samples.jsonl" --timeout $TO --threads 2 \
    -o "$T/results.jsonl" --json > "$T/summary.json" 2> "$T/err" &
PPID_EVAL=$!
wait $PPID_EVAL
rc=$?
took=$(( ($(date +%s%N) - start) / 1000000 ))
[ $rc = 0 ] && ok humaneval_hostile_harness_survives || fail humaneval_hostile_harness_survives "exit $rc: $(tail -3 "$T/err")"

"$PYTHON" - "$T/results.jsonl" "$T/summary.json" "$took" "$TO" <<'PY' > "$T/verdicts" 2>&1
import json, sys
res = [json.loads(l) for l in open(sys.argv[1])]
summ = json.load(open(sys.argv[2]))
took, to = float(sys.argv[3]) / 1000, float(sys.argv[4])
bad = []
for r in res:
    hostile = r["task_id"].startswith("hostile/")
    if hostile and (r["passed"] or not (r["result"].startswith("failed") or r["result"] == "timed out")):
        bad.append("%s: %s" % (r["task_id"], r["result"]))
    if not hostile and r["result"] != "passed":
        bad.append("benign %s: %s" % (r["task_id"], r["result"]))
    print("%-28s %s" % (r["task_id"], r["result"][:100]))
want = {"hostile/network": "failed: [Errno 101] Network is unreachable", "hostile/files": "failed: files touched: []"}
for r in res:
    if r["task_id"] in want and r["result"] != want[r["task_id"]]:
        bad.append("%s: %r, expected %r" % (r["task_id"], r["result"], want[r["task_id"]]))
if len(res) != 16: bad.append("%d results, expected 16" % len(res))
if not summ.get("isolated"): bad.append("not isolated: " + summ.get("isolation", "?"))
# 4 samples can run to their timeout (loop, memory, fork, flood): on 2 threads that is 2 timeouts, plus start-up
limit = 4 * to / 2 + 10
if took > limit: bad.append("the run took %.1f s, more than %.1f s" % (took, limit))
print("\n".join(bad) or "all as expected", "(%.1f s)" % took)
sys.stderr.write("")
sys.exit(1 if bad else 0)
PY
vrc=$?; [ "${PT_VERBOSE:-0}" = 1 ] && cat "$T/verdicts"; [ $vrc = 0 ] && ok humaneval_hostile_verdicts || fail humaneval_hostile_verdicts "$(cat "$T/verdicts")"

[ "$(sha256sum "$T/problems.jsonl" "$T/samples.jsonl" "$VICTIM" "$ETC")" = "$sum_before" ] &&
    [ ! -e "$ETC.new" ] && [ ! -e "$ETC.moved" ] && [ ! -e "$VICTIM.new" ] && [ ! -e "/root/parrot-hostile-$MARK" ] &&
    [ ! -e "/var/tmp/parrot-hostile-$MARK" ] && [ ! -e "/dev/shm/parrot-hostile-$MARK" ] && [ ! -e "/etc/parrot-hostile-$MARK" ] &&
    ok humaneval_hostile_files_untouched || fail humaneval_hostile_files_untouched "$(ls -la "$VICTIM_DIR" "$ETC"* 2>&1)"
[ ! -s "$T/connections" ] && ok humaneval_hostile_no_network || fail humaneval_hostile_no_network "$(cat "$T/connections")"
# the sandboxes' uids are the run's own (uid BASE+slot, in the isolation sentence): none may own a process now
sleep 0.2
UIDBASE=$(grep -o 'uid [0-9]*+slot' "$T/summary.json" | grep -o '[0-9]*')
[ -n "$UIDBASE" ] || fail humaneval_hostile_uid "no uid in $(head -c 300 "$T/summary.json")"
left=$(ps -eo pid=,uid=,args= | awk -v b="${UIDBASE:-1}" '$2 >= b && $2 < b + 2'; pgrep -af "sleep $MARK")
[ -z "$left" ] && ok humaneval_hostile_no_process_left || fail humaneval_hostile_no_process_left "$left"
! ls -d /sys/fs/cgroup/pids/parrot-eval-$PPID_EVAL-* > /dev/null 2>&1 &&
    ok humaneval_hostile_no_cgroup_left || fail humaneval_hostile_no_cgroup_left "$(ls -d /sys/fs/cgroup/pids/parrot-eval-$PPID_EVAL-*)"
