#!/usr/bin/env bash
# roost record, replay and shadow with real peers: the NestJS conformance service is recorded
# through `roost record`, the recording is replayed against roost's (roost_peer), and `roost
# shadow` is put in front of NestJS with roost as the candidate.
#   migrate_test.sh ROOST_BINARY ROOST_PEER NEST_NODE_SH
set -uo pipefail
roost=$1 roost_peer=$2 nest=$3
. "$(dirname "${BASH_SOURCE[0]}")/migrate_lib.sh"

# proxy NAME ARGS...: starts `roost ARGS` (record or shadow) listening on a free port; sets
# proxy_pid and proxy_port.
proxy() {
  start "$1" 'listening on 127\.0\.0\.1:[0-9]+,' "${@:2}"
  proxy_pid=$started_pid
  proxy_port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\),.*/\1/p' "$work/$1.err")
}

serve nest tcp://127.0.0.1:0 "$nest"
nest_port=$port
serve roost tcp://127.0.0.1:0 "$roost_peer"
roost_port=$port

# ---- record the NestJS service ----
proxy record record --listen 127.0.0.1:0 --to "tcp://127.0.0.1:$nest_port" --out "$work/rec.jsonl"
u=tcp://127.0.0.1:$proxy_port
drive() {  # the traffic: answers as NestJS gives them, through the proxy
  "$roost" call "$u" sum '[1,2,3]' &&
    "$roost" call "$u" '{"role":"math","cmd":"sum"}' '[4,5]' &&
    "$roost" call "$u" echo '{"n":1,"when":"2026-12-07T21:00:00Z","s":"é 😀"}' &&
    "$roost" stream "$u" count 3 &&
    "$roost" call "$u" records 0 &&
    "$roost" emit "$u" record '"x"' &&
    "$roost" call "$u" records 0 &&
    "$roost" stream "$u" ctx 0
  "$roost" call "$u" fail.rpc '"bad"'
  "$roost" call "$u" nope 1
  "$roost" stream "$u" count.then-fail 2
}
drive >"$work/drive.out" 2>"$work/drive.err"
want_drive=$(printf '%s\n' 6 9 '{"n":1,"when":"2026-12-07T21:00:00Z","s":"é 😀"}' 0 1 2 '[]' '["x"]')
if [ "$(head -8 "$work/drive.out")" = "$want_drive" ]; then pass; else
  fail "the proxy changed the replies: [$(cat "$work/drive.out")] [$(cat "$work/drive.err")]"
fi
# Malformed traffic is forwarded and noted; the proxy keeps serving.
exec 3<>"/dev/tcp/127.0.0.1/$proxy_port" && printf 'abc#{}' >&3 && exec 3>&-
[ "$("$roost" call "$u" sum '[2,2]')" = 4 ] && pass || fail "the proxy stopped serving after malformed traffic"
wait_for "$work/record.err" 'broke the framing' && pass || fail "malformed traffic not noted: $(cat "$work/record.err")"
stop "$proxy_pid" record
lines=$(grep -c '"kind":"request"' "$work/rec.jsonl")
events=$(grep -c '"kind":"event"' "$work/rec.jsonl")
[ "$lines" = 11 ] && [ "$events" = 1 ] && pass ||
  fail "recorded $lines requests and $events events, want 11 and 1: $(cat "$work/rec.jsonl")"
grep -q '"pattern":"count","data":3,"id":"[0-9a-f]*","replies":\[0,1,2\]' "$work/rec.jsonl" && pass ||
  fail "the streamed reply is not recorded in order"
grep -q '"pattern":"count.then-fail".*"replies":\[0,1\],"error":{"status":"error","message":"stream broke"}' "$work/rec.jsonl" &&
  pass || fail "a stream ending in an error is not recorded"
grep -q '"kind":"note".*broke the framing' "$work/rec.jsonl" && pass || fail "no note of the malformed traffic"
grep -q "requests and 1 events recorded" "$work/record.err" && pass || fail "no summary on SIGTERM"

# ---- replay it against roost's conformance service ----
out=$("$roost" replay "$work/rec.jsonl" "tcp://127.0.0.1:$roost_port" --ignore /impl 2>&1)
rc=$?
[ $rc = 0 ] && grep -q 'replayed 11 requests and 1 events: 11 same, 0 differ' <<<"$out" && pass ||
  fail "replay against roost: exit $rc: $out"
# Without --ignore the one real difference shows: ctx names its implementation.
out=$("$roost" replay "$work/rec.jsonl" "tcp://127.0.0.1:$roost_port" 2>&1)
rc=$?
[ $rc = 1 ] && grep -q 'reply\[0\]/impl: expected "nest[0-9]*", got "roost"' <<<"$out" &&
  grep -q '10 same, 1 differ' <<<"$out" && pass || fail "replay shows the ctx difference: exit $rc: $out"
# A handler changed on purpose (here the recording: sum answered 7).
sed 's/"replies":\[6\]/"replies":[7]/; s/\("replies":\[{"n":1,"when":\)"[^"]*"/\1"x"/' \
  "$work/rec.jsonl" >"$work/changed.jsonl"
out=$("$roost" replay "$work/changed.jsonl" "tcp://127.0.0.1:$roost_port" --ignore /impl 2>&1)
rc=$?
[ $rc = 1 ] && grep -q 'reply\[0\]: expected 7, got 6' <<<"$out" &&
  grep -q 'reply\[0\]/when: expected "x", got "2026-12-07T21:00:00Z"' <<<"$out" &&
  grep -q '9 same, 2 differ' <<<"$out" && pass || fail "replay of a changed recording: exit $rc: $out"
out=$("$roost" replay "$work/changed.jsonl" "tcp://127.0.0.1:$roost_port" --ignore /impl --loose /when --rate 200 2>&1)
rc=$?
[ $rc = 1 ] && grep -q '10 same, 1 differ' <<<"$out" && ! grep -q '/when' <<<"$out" && pass ||
  fail "--loose /when: exit $rc: $out"
# Several in flight: the order-dependent messages (the record event, records) left out.
grep -v '"pattern":"record' "$work/rec.jsonl" >"$work/unordered.jsonl"
out=$("$roost" replay "$work/unordered.jsonl" "tcp://127.0.0.1:$roost_port" --ignore /impl -k 4 2>&1)
rc=$?
[ $rc = 0 ] && grep -q 'replayed 9 requests and 0 events: 9 same, 0 differ' <<<"$out" && pass ||
  fail "replay with 4 in flight: exit $rc: $out"
# A recording written by hand: 6.0 is the number 6; `*` in a path is any index.
cat >"$work/hand.jsonl" <<'EOF'
{"kind":"request","pattern":"sum","data":[1,2,3],"replies":[6.0]}
{"kind":"request","pattern":"echo","data":{"items":[{"id":1,"v":"a"},{"id":2,"v":"b"}]},"replies":[{"items":[{"id":9,"v":"a"},{"id":2,"v":"b"}]}]}
EOF
out=$("$roost" replay "$work/hand.jsonl" "tcp://127.0.0.1:$roost_port" --ignore '/items/*/id' 2>&1)
rc=$?
[ $rc = 0 ] && grep -q '2 same, 0 differ' <<<"$out" && pass || fail "replay of a hand-written recording: exit $rc: $out"
out=$("$roost" replay "$work/hand.jsonl" "tcp://127.0.0.1:$roost_port" 2>&1)
rc=$?
[ $rc = 1 ] && grep -q 'reply\[0\]/items/0/id: expected 9, got 1' <<<"$out" && grep -q '1 same, 1 differ' <<<"$out" &&
  pass || fail "replay of a hand-written recording without --ignore: exit $rc: $out"
out=$("$roost" replay "$work/rec.jsonl" tcp://127.0.0.1:1 2>&1)
rc=$?
[ $rc = 4 ] && pass || fail "replay to nothing: exit $rc (want 4): $out"
"$roost" replay "$work/missing.jsonl" "tcp://127.0.0.1:$roost_port" >/dev/null 2>&1
rc=$?
[ $rc = 2 ] && pass || fail "replay of a missing file: exit $rc (want 2)"
echo '{"not":"a recording"}' >"$work/bad.jsonl"
"$roost" replay "$work/bad.jsonl" "tcp://127.0.0.1:$roost_port" >/dev/null 2>&1
rc=$?
[ $rc = 2 ] && pass || fail "replay of a file that is not a recording: exit $rc (want 2)"
"$roost" replay "$work/rec.jsonl" "tcp://127.0.0.1:$roost_port" --ignore impl >/dev/null 2>&1
rc=$?
[ $rc = 2 ] && pass || fail "a path without / : exit $rc (want 2)"

# ---- shadow: NestJS answers, roost gets a copy ----
# The candidate down: the primary's callers see nothing of it.
proxy shadow-down shadow --listen 127.0.0.1:0 --primary "tcp://127.0.0.1:$nest_port" \
  --candidate tcp://127.0.0.1:1
u=tcp://127.0.0.1:$proxy_port
[ "$("$roost" call "$u" sum '[1,2,3]')" = 6 ] && [ "$("$roost" stream "$u" count 2 | tr '\n' ,)" = 0,1, ] &&
  pass || fail "shadow with the candidate down did not answer"
stop "$proxy_pid" shadow-down
grep -q 'the candidate failed: .*refused' "$work/shadow-down.err" &&
  grep -q '2 requests and 0 events; 0 compared, 0 differ, 0 dropped, 2 candidate failures' "$work/shadow-down.err" &&
  pass || fail "shadow did not count the candidate's failures: $(cat "$work/shadow-down.err")"

# Both up: differences are reported (ctx), the rest compared equal; the primary's latency
# through the shadow proxy under load, against NestJS directly.
proxy shadow shadow --listen 127.0.0.1:0 --primary "tcp://127.0.0.1:$nest_port" \
  --candidate "tcp://127.0.0.1:$roost_port" --report-every 1
u=tcp://127.0.0.1:$proxy_port
"$roost" stream "$u" ctx 0 >/dev/null
"$roost" call "$u" '{"role":"math","cmd":"sum"}' '[4,5]' >/dev/null
direct=$("$roost" bench "tcp://127.0.0.1:$nest_port" sum '[1,2,3]' -k 16 -n 2000 --json)
shadowed=$("$roost" bench "$u" sum '[1,2,3]' -k 16 -n 2000 --json)
grep -q '"requests":2000,"errors":0' <<<"$shadowed" && pass || fail "bench through shadow: $shadowed"
field() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" <<<"$2"; }
echo "primary latency under load (16 in flight, 2000 requests): direct p50 $(field p50_us "$direct") us" \
  "p99 $(field p99_us "$direct") us; through shadow p50 $(field p50_us "$shadowed") us p99 $(field p99_us "$shadowed") us"
wait_for "$work/shadow.err" '2002 requests.* 0 candidate failures'
stop "$proxy_pid" shadow
grep -q 'differs: request "ctx" 0' "$work/shadow.err" &&
  grep -q 'reply\[0\]/impl: primary "nest[0-9]*", candidate "roost"' "$work/shadow.err" && pass ||
  fail "shadow did not report the ctx difference: $(cat "$work/shadow.err")"
summary=$(tail -1 "$work/shadow.err")
grep -Eq '2002 requests and 0 events; [0-9]+ compared, 1 differ, [0-9]+ dropped, 0 candidate failures' <<<"$summary" &&
  pass || fail "shadow summary: $summary"
echo "$summary"

finish
