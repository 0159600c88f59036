#!/usr/bin/env bash
# Makes the table of docs/reliability.md from the committed results, so that the doc and the
# data cannot disagree:
#   bench/reliability-table.sh [DATA_DIR]      (bench/data by default)
# Reads reliability-fuzz.tsv (scripts/fuzz.sh with FUZZ_RECORD), reliability-broker-faults.tsv
# (roost_broker_faults_test with ROOST_RELIABILITY_OUT), reliability-conn-load.tsv
# (bench/conn_load --tsv), reliability-soak.tsv (scripts/soak.sh with SOAK_RECORD) and
# reliability-bad-input.tsv (roost_broker_faults_test's bad_input cases with
# ROOST_BAD_INPUT_OUT); each row's figures are from the latest date in its file: medians
# with their range (min-max) over that date's runs. Text between `<!-- reliability:table -->`
# and `<!-- /reliability:table -->` in docs/reliability.md is replaced.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-bench/data}
for f in reliability-fuzz reliability-broker-faults reliability-conn-load reliability-soak \
  reliability-bad-input; do
  [ -f "$data/$f.tsv" ] || { echo "reliability-table: $data/$f.tsv is missing" >&2; exit 1; }
done
doc=docs/reliability.md
table=$(mktemp)
trap 'rm -f "$table"' EXIT

# stat VALUES...: "median (min-max)", or the one value.
lib='
function sort_n(a, n,   i, j, t) { for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t } }
function commas(x,   s) { x = sprintf("%.0f", x); s = ""
  while (length(x) > 3) { s = "," substr(x, length(x) - 2) s; x = substr(x, 1, length(x) - 3) }
  return x s }
function stat(key,   a, n, i, m) { n = cnt[key]; for (i = 1; i <= n; i++) a[i] = val[key, i] + 0
  sort_n(a, n); m = n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  return a[1] == a[n] ? commas(m) : commas(m) " (" commas(a[1]) "–" commas(a[n]) ")" }
function add(key, v) { val[key, ++cnt[key]] = v }
# The same with two decimals (slopes, milliseconds).
function stat2(key,   a, n, i, m) { n = cnt[key]; for (i = 1; i <= n; i++) a[i] = val[key, i] + 0
  sort_n(a, n); m = n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  return a[1] == a[n] ? sprintf("%.2f", m) : sprintf("%.2f (%.2f–%.2f)", m, a[1], a[n]) }
# The latest date of a file (column 1, after the header).
function latest(file,   line, f, d) { d = ""; while ((getline line < file) > 0) { split(line, f, "\t"); if (f[1] != "date" && f[1] > d) d = f[1] } close(file); return d }
'

{
  echo "| test | what it proves | figures (latest run: median, range) | runs in |"
  echo "|---|---|---|---|"
  # Fuzzing, one row per target.
  awk -F'\t' "$lib"'
    BEGIN {
      what["frame_decoder"] = "NestJS TCP frames: any bytes in any pieces give frames or one clear error, the same whatever the reads"
      what["packet_decoder"] = "packets and replies: the fast envelope readers agree with the general parser; what is written reads back"
      what["parsers"] = "routes (a string routes as itself, key order antisymmetric), URLs (parse or invalid_argument), headers (metadata round trip), the JSON reader (prefix, fast paths and general parser agree), W3C trace context (traceparent and headers round trip)"
      what["resp_reader"] = "Redis replies (RESP) in any pieces, classified as a subscriber does"
      what["kafka_record"] = "Kafka records (value and headers) as server and client read them: valid JSON out"
      what["ws_message"] = "WebSocket messages as server and client read them: valid JSON out, the gateway error answer too"
      what["amqp_properties"] = "AMQP message properties as rabbitmq-c decodes them: roost reads the headers table entry for entry, strings byte for byte"
      what["wire_json"] = "gRPC: protobuf wire bytes to JSON by the direct conversion, every field kind; what it reads writes back and reads back the same"
      what["jwt_verify"] = "JWTs: only an allowed algorithm with its key type verifies"
      what["jwks"] = "JWKS documents: a key set or an error; published keys read back the same"
      d = latest(ARGV[1])
    }
    $1 == d { if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 }
      add($2 ",runs", $5); add($2 ",corpus", $6); secs[$2] = $4; if ($3 != 0) bad[$2] = 1 }
    END {
      for (i = 1; i <= n; i++) { t = order[i]
        printf "| fuzz `%s` | %s | %s%s runs in %s s, corpus %s (%s) | `make fuzz` (600 s each), `make test` (its share of 70 s) |\n", t, what[t], bad[t] ? "FAILED; " : "", stat(t ",runs"), secs[t], stat(t ",corpus"), d }
    }' "$data/reliability-fuzz.tsv"
  # Broker faults, one row per setting.
  awk -F'\t' "$lib"'
    BEGIN {
      what["redis_streams"] = "Redis Streams (appendfsync always), broker SIGKILLed and restarted under load: emits fail fast while it is down, both ends reconnect, nothing acknowledged is lost"
      what["nats_jetstream"] = "NATS JetStream, broker SIGKILLed and restarted under load: no emit hangs, both ends reconnect, what is lost and redelivered counted"
      what["mqtt_qos1"] = "MQTT 5, QoS 1, a persistent broker and session, broker SIGKILLed and restarted under load: emits fail fast while it is down, both ends reconnect, what is lost and redelivered counted"
      d = latest(ARGV[1])
    }
    $1 == d { if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 }
      add($2 ",acked", $4); add($2 ",failed", $5); add($2 ",lost", $7); add($2 ",again", $8); add($2 ",ms", $9) }
    END {
      for (i = 1; i <= n; i++) { s = order[i]
        printf "| `roost_broker_faults_test` %s | %s | %s acknowledged, %s failed, **%s lost**, %s redelivered; longest emit %s ms (%d runs, %s) | `make test` (both sanitizer tiers) |\n", s, what[s], stat(s ",acked"), stat(s ",failed"), stat(s ",lost"), stat(s ",again"), stat(s ",ms"), cnt[s ",acked"], d }
    }' "$data/reliability-broker-faults.tsv"
  # Load.
  awk -F'\t' "$lib"'
    BEGIN { d = latest(ARGV[1]) }
    $1 == d { n++; c = $2; hard = $3; add("s", $4); add("base", $5); add("peak", $6); add("per", $8) }
    END {
      printf "| `conn_load` (bench) | %s concurrent TCP connections on one roost server, a call on each, every reply checked | %s bytes of server memory per connection (resident %s KiB before, peak %s KiB); all open and answered in %s s; file limit %s (%d runs, %s) | `make test` (optimized tier, `reliability_conn_load`) |\n", commas(c), stat("per"), stat("base"), stat("peak"), sprintf("%.1f", val["s", 1]), commas(hard), n, d
    }' "$data/reliability-conn-load.tsv"
  # Soak, one row per transport (and the clients' process); the longest run of the date.
  awk -F'\t' "$lib"'
    BEGIN { d = latest(ARGV[1]) }
    $1 == d && $3 + 0 >= secs + 0 { secs = $3 }
    { row[NR] = $0 }
    END {
      for (i = 1; i <= NR; i++) { split(row[i], f, "\t"); if (f[1] != d || f[3] != secs) continue
        t = f[2]; if (!(t in seen)) { seen[t] = 1; order[++n] = t }; rate[t] = f[4]
        add(t ",req", f[5]); add(t ",ev", f[6]); add(t ",fail", f[7]); add(t ",rss0", f[8]); add(t ",rss1", f[9])
        add(t ",rslope", f[10]); add(t ",fd0", f[11]); add(t ",fd1", f[12]); add(t ",fslope", f[13])
        add(t ",p99", f[14]); add(t ",pslope", f[15]); if (f[16] != "pass") bad[t] = 1 }
      for (i = 1; i <= n; i++) { t = order[i]
        if (t == "clients")
          printf "| `soak` clients | the process of every transport'\''s client: its resident memory and file descriptors do not trend upward | %sresident %s → %s KiB (%s KiB/min), descriptors %s → %s (%s a minute) (%d runs of %s s, %s) | `make soak` (600 s), `make test` (60 s, `reliability_soak`) |\n", bad[t] ? "FAILED; " : "", stat(t ",rss0"), stat(t ",rss1"), stat(t ",rslope"), stat(t ",fd0"), stat(t ",fd1"), stat2(t ",fslope"), cnt[t ",req"], secs, d
        else
          printf "| `soak` %s | requests (%s a second) and events (half as many; none on gRPC) for the whole run, every reply and the event count checked; the server'\''s resident memory, file descriptors and p99 latency do not trend upward after the warm-up | %s%s requests, %s events, %s failed; resident %s → %s KiB (%s KiB/min), descriptors %s → %s (%s a minute), p99 %s ms (%s ms a minute) (%d runs of %s s, %s) | `make soak` (600 s), `make test` (60 s, `reliability_soak`) |\n", t, rate[t], bad[t] ? "FAILED; " : "", stat(t ",req"), stat(t ",ev"), stat(t ",fail"), stat(t ",rss0"), stat(t ",rss1"), stat(t ",rslope"), stat(t ",fd0"), stat(t ",fd1"), stat2(t ",fslope"), stat2(t ",p99"), stat2(t ",pslope"), cnt[t ",req"], secs, d }
    }' "$data/reliability-soak.tsv"
  # Bad input, one row per case, the outcome on each transport.
  awk -F'\t' "$lib"'
    BEGIN {
      what["oversized"] = "a request over the server'\''s message size (64 KiB here): the error `Message too large: N bytes, the limit is M`, before it is parsed"
      what["deep nesting"] = "data nested 20,000 deep, past the parser'\''s 512 levels, so no JSON to roost: TCP closes the connection (as NestJS for JSON it cannot parse); WebSocket and the brokers take it as an external event: no reply, the caller'\''s call times out"
      what["invalid UTF-8"] = "bytes that are no UTF-8 in a string: TCP reads them and the handler refuses a string (`Invalid payload: the data must be an array`); WebSocket fails the connection (a text message must be UTF-8); a broker takes it as an external event: no reply"
      what["wrong types"] = "an object where the handler takes numbers: the error `Invalid payload: the data must be an array`"
      what["unknown pattern"] = "a pattern no handler serves: NestJS'\''s `There is no matching message handler defined in the remote service.` (TCP, WebSocket); on a broker nobody is subscribed to it, so nothing"
      what["not JSON"] = "a message that is not JSON: TCP closes that connection (as NestJS); WebSocket and the brokers take it as an external event: no reply"
      what["half-written frame"] = "half a frame, then silence (TCP, WebSocket; a broker delivers whole messages): no handler runs, the connection is closed when the server'\''s timeout passes (TCP'\''s `incompleteMessageTimeout`, 1 s here; WebSocket'\''s `idleTimeout`, 2 s), not before"
      what["flood"] = "2,000 requests in one write from one client: each answered (or refused with `Too many requests in flight` past TCP'\''s and WebSocket'\''s 64 a connection)"
      d = latest(ARGV[1])
    }
    $1 == d { c = $3; if (!(c in seen)) { seen[c] = 1; order[++n] = c }
      k = c SUBSEP $2; if (!(k in runs)) { tn[c]++; ts[c, tn[c]] = $2 }
      runs[k]++; if ($4 != "pass") { bad[k]++; why[k] = $5 } }
    END {
      for (i = 1; i <= n; i++) { c = order[i]; res = ""
        for (j = 1; j <= tn[c]; j++) { t = ts[c, j]; k = c SUBSEP t
          res = res (j > 1 ? ", " : "") t " " (bad[k] ? "**FAILED " bad[k] " of " runs[k] "** (" why[k] ")" : "as expected") }
        printf "| bad input: %s | %s; a well-behaved client'\''s calls all succeed meanwhile | %s (%d runs, %s) | `make test` (both sanitizer tiers, `roost_broker_faults_test`) |\n", c, what[c], res, runs[c SUBSEP ts[c, 1]], d }
    }' "$data/reliability-bad-input.tsv"
  # The tests of each transport that prove the same kind of thing, without figures of their own.
  cat <<'EOF'
| `redis_broker_restart.*` | a private Redis killed under 200 pending requests: all fail with a connection error within 2 s, a call while it is down fails at once, client and server reconnect; with retries off the next call connects again | pass or fail | `make test` |
| `nats_restart.*` | a private nats-server restarted under 16 callers: calls resume (100 more succeed), none left pending; a broker gone for good fails calls; graceful drain finishes calls in flight | pass or fail | `make test` |
| `mqtt_private_broker.*` | a private mosquitto restarted under 16 calls in flight: each completes or fails clearly, both sides subscribe again | pass or fail | `make test` |
| `redis_streams.an_event_survives_the_crash_of_its_consumer` | an event held by a consumer that dies is claimed and handled by another | pass or fail | `make test` |
| `client_wire.the_server_closing_fails_pending_calls_and_the_next_call_reconnects` | TCP: a server that goes away fails pending calls; the next call reconnects | pass or fail | `make test` |
EOF
} >"$table"

awk -v table="$table" '
  /<!-- reliability:table -->/ { print; while ((getline line < table) > 0) print line; skip = 1; next }
  /<!-- \/reliability:table -->/ { skip = 0 }
  !skip' "$doc" >"$doc.new" && mv "$doc.new" "$doc"
echo "reliability-table: $doc"
