#!/bin/bash
# make soak: t/bin/tp-soak's random connections through tcpproxy -w 2
# for SOAK_SECONDS (60), while the config is reloaded every 200 ms (a
# listener added and removed, the kept one's settings changed) and worker
# 1 is killed every 3 s.  Worker 2 lives through it all, so its
# descriptors and memory show any leak.  Fails when tp-soak counts a
# failure, a reload fails, a worker breaks the protocol, worker 2 was
# replaced or holds more descriptors than before, its RSS grew by more
# than SOAK_RSS_SLACK_KB (4096) over the run's first quarter (not under
# ASan: SOAK_ASAN=1 or ASAN_OPTIONS set), or a sanitizer reported
# anything.
set -euo pipefail
cd "$(dirname "$0")/.."

SOAK_SECONDS=${SOAK_SECONDS:-60}
SOAK_CONNS=${SOAK_CONNS:-100}
SOAK_RSS_SLACK_KB=${SOAK_RSS_SLACK_KB:-4096}
TCPPROXY=${TCPPROXY:-./tcpproxy}
TBIN=t/bin

dir=$(mktemp -d /tmp/tcpproxy-soak.XXXXXX)
log=$dir/tcpproxy.log
master='' reloader='' soak=''
cleanup() {
	[[ -n $reloader ]] && kill "$reloader" 2>/dev/null
	[[ -n $soak ]] && kill "$soak" 2>/dev/null
	if [[ -n $master ]] && kill -0 "$master" 2>/dev/null; then
		kill "$master"
		wait "$master" 2>/dev/null || true
	fi
	rm -rf "$dir"
}
trap cleanup EXIT

die() {
	echo "soak: FAIL: $*" >&2
	echo "--- last lines of $log" >&2
	grep -v ' INFO: ' "$log" | tail -n 30 >&2 || true
	exit 1
}

# wait_for N REGEX: until the log has N lines that match, for 20 s
wait_for() {
	local i n
	for ((i = 0; i < 400; i++)); do
		# the log may not exist yet
		n=$(grep -Ec -- "$2" "$log" 2>/dev/null) || n=0
		((n >= $1)) && return 0
		sleep 0.05
	done
	die "no $1 lines /$2/ in the log"
}

worker_pid() {
	grep -E "started worker $1, pid" "$log" | tail -n 1 |
	    sed -E 's/.*pid ([0-9]+).*/\1/'
}

fds_of() { ls "/proc/$1/fd" | wc -l; }
rss_of() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status"; }

read -r P S P3 P4 <<<"$("$TBIN/tp-freeport" -n 4 | tr '\n' ' ')"
main="listen 127.0.0.1 $P { remote: 127.0.0.1 $S; };"
# the kept listener changes settings; another is added, then removed
printf '%s\n' "$main" >"$dir/a.conf"
printf 'listen 127.0.0.1 %s { remote: 127.0.0.1 %s; idle-timeout: 600; };\nlisten 127.0.0.1 %s { remote: 127.0.0.1 %s; };\n' \
    "$P" "$S" "$P3" "$S" >"$dir/b.conf"
printf 'listen 127.0.0.1 %s { remote: 127.0.0.1 %s; fin-timeout: 300; };\nlisten 127.0.0.1 %s { remote: 127.0.0.1 %s; };\n' \
    "$P" "$S" "$P4" "$S" >"$dir/c.conf"
cp "$dir/a.conf" "$dir/tcpproxy.conf"

"$TCPPROXY" -D -L stderr:5 -w 2 -S none -c "$dir/tcpproxy.conf" >"$log" 2>&1 &
master=$!
wait_for 1 "ready: 1 listeners, 2 workers"
w2=$(worker_pid 2)
fds_before=$(fds_of "$w2")

(
	set +e
	while :; do
		for c in b a c a; do
			cp "$dir/$c.conf" "$dir/tcpproxy.conf.new"
			mv "$dir/tcpproxy.conf.new" "$dir/tcpproxy.conf"
			kill -HUP "$master" || exit 0
			sleep 0.2
		done
	done
) &
reloader=$!

"$TBIN/tp-soak" -c "$SOAK_CONNS" -t "$SOAK_SECONDS" -k 3000 -m "$master" \
    -w 1 "$S" 127.0.0.1 "$P" >"$dir/soak.out" 2>&1 &
soak=$!
sleep $((SOAK_SECONDS / 4 + 1))
rss_warm=$(rss_of "$w2")
rc=0
wait "$soak" || rc=$?
soak=''
kill "$reloader"
wait "$reloader" 2>/dev/null || true
reloader=''
cat "$dir/soak.out"
((rc == 0)) || die "tp-soak exited with status $rc"

# back to the first config, as when the descriptors were counted
done_before=$(grep -c "reload complete" "$log" || true)
cp "$dir/a.conf" "$dir/tcpproxy.conf"
kill -HUP "$master"
wait_for $((done_before + 1)) "reload complete"

reloads=$(grep -c "reloading $dir/tcpproxy.conf" "$log" || true)
completed=$(grep -c "reload complete" "$log" || true)
kills=$(grep -c "worker 1 (pid [0-9]*) killed by signal 9" "$log" || true)
if grep -q "reload failed" "$log"; then
	die "a reload failed: $(grep -m1 -A1 'reload failed' "$log")"
fi
if grep -q "protocol violation" "$log"; then
	die "$(grep -m1 'protocol violation' "$log")"
fi
((reloads >= 2 * SOAK_SECONDS)) || die "only $reloads reloads in $SOAK_SECONDS s"
# most are superseded by the next before every worker switched; some
# must complete (a worker waiting out its restart back-off is not
# waited for)
((completed >= SOAK_SECONDS / 4 + 1)) ||
    die "only $completed of $reloads reloads completed"
((kills >= 1)) || die "worker 1 was never killed"
[[ $(worker_pid 2) == "$w2" ]] || die "worker 2 was replaced"

# worker 2 lets go of its last relays within a few seconds
for ((i = 0; i < 100; i++)); do
	fds_after=$(fds_of "$w2")
	((fds_after <= fds_before)) && break
	sleep 0.1
done
((fds_after <= fds_before)) ||
    die "worker 2 holds $fds_after descriptors, $fds_before before the run"
rss_end=$(rss_of "$w2")
if [[ -z ${SOAK_ASAN:-}${ASAN_OPTIONS:-} ]] && ((rss_end > rss_warm + SOAK_RSS_SLACK_KB)); then
	die "worker 2 grew from $rss_warm KiB to $rss_end KiB"
fi

kill "$master"
wait "$master" || die "tcpproxy exited with status $?"
master=''
if grep -Eq 'Sanitizer|runtime error:' "$log"; then
	die "sanitizer report: $(grep -Em1 'Sanitizer|runtime error:' "$log")"
fi
echo "soak: ok: ${SOAK_SECONDS} s, $reloads reloads ($completed completed)," \
    "worker 1 killed $kills" \
    "times; worker 2: $fds_before descriptors before and $fds_after after," \
    "RSS $rss_warm KiB at a quarter, $rss_end KiB at the end"
