#!/usr/bin/env bats
# Type=notify: what the master tells the service manager on NOTIFY_SOCKET
# (t/bin/tp-notify plays the manager's end).

load helper

setup() {
	free_ports 2
	P1=${PORTS[0]} P2=${PORTS[1]}
	CONF=$(cd "$BATS_TEST_TMPDIR" && pwd -P)/tcpproxy.conf
	NSOCK=$BATS_TEST_TMPDIR/notify.sock
	NOUT=$BATS_TEST_TMPDIR/notify.out
	start_server echo
	conf
}

conf() {
	printf 'listen 127.0.0.1 %s {\n\tremote: 127.0.0.1 %s;\n};\n' \
	    "$P1" "$SERVER_PORT" >"$CONF"
}

# manager [SOCKET]: tp-notify on SOCKET (default NSOCK), lines in NOUT
manager() {
	local ready=$BATS_TEST_TMPDIR/notify.ready
	setsid "$TBIN/tp-notify" -T 60 -r "$ready" "${1:-$NSOCK}" \
	    </dev/null >"$NOUT" 2>&1 3>&- &
	register_pid $!
	for i in $(seq 100); do
		[[ -e $ready ]] && return 0
		sleep 0.05
	done
	return 1
}

start() {
	start_tcpproxy_via env NOTIFY_SOCKET="${1:-$NSOCK}" -- -S none \
	    -c "$CONF" "${@:2}"
	wait_for_port "$P1"
}

@test "READY=1 once every worker serves, with a STATUS" {
	manager
	start "$NSOCK" -w 2
	wait_for_log "ready: 1 listeners" "$TP_LOG"
	wait_for_log "^READY=1 STATUS=serving 1 listeners with 2 workers" "$NOUT"
	run_timeout 10 "$TBIN/tp-client" -m echo -n 100 127.0.0.1 "$P1"
	[ "$output" = "ok 100" ]
}

@test "a reload: RELOADING=1 with MONOTONIC_USEC, then READY=1" {
	manager
	start "$NSOCK"
	wait_for_count 1 "^READY=1" "$NOUT"
	kill -HUP "$TP_PID"
	wait_for_count 2 "^READY=1" "$NOUT"
	grep -Eq "^RELOADING=1 MONOTONIC_USEC=[0-9]+" "$NOUT"
	[ "$(grep -n RELOADING "$NOUT" | cut -d: -f1)" -lt \
	    "$(grep -n 'READY=1.*generation 2' "$NOUT" | cut -d: -f1)" ]
}

@test "a failed reload still ends with READY=1, its STATUS says so" {
	manager
	start "$NSOCK"
	wait_for_count 1 "^READY=1" "$NOUT"
	printf 'listen {\n' >"$CONF"
	kill -HUP "$TP_PID"
	wait_for_log "^READY=1 STATUS=reload failed with [0-9]+ errors?; still serving generation 1" "$NOUT"
	grep -q "^RELOADING=1" "$NOUT"
}

@test "SIGTERM sends STOPPING=1, a graceful stop too" {
	manager
	start "$NSOCK"
	wait_for_count 1 "^READY=1" "$NOUT"
	stop_tcpproxy
	wait_for_log "^STOPPING=1" "$NOUT"
	: >"$NOUT"
	start "$NSOCK" --shutdown-timeout 5s
	kill -TERM "$TP_PID"
	wait_for_log "^STOPPING=1" "$NOUT"
}

@test "an abstract socket, and unprivileged workers" {
	manager "@tcpproxy-test-$P1"
	start "@tcpproxy-test-$P1" -w 1 -u nobody
	wait_for_log "^READY=1" "$NOUT"
}

@test "without NOTIFY_SOCKET nothing is sent and nothing complains" {
	manager
	start_tcpproxy -S none -c "$CONF"
	wait_for_port "$P1"
	kill -HUP "$TP_PID"
	wait_for_log "reload complete" "$TP_LOG"
	[ ! -s "$NOUT" ]
	! grep -qi notify "$TP_LOG"
}

@test "an upgrade tells the manager the new MAINPID" {
	manager
	start "$NSOCK" -S "$BATS_TEST_TMPDIR/ctl.sock"
	wait_for_count 1 "^READY=1" "$NOUT"
	run_timeout 30 "$TOP/tcpproxyctl" -s "$BATS_TEST_TMPDIR/ctl.sock" upgrade
	[ "$status" -eq 0 ]
	new=${output##*pid }
	wait_for_log "^MAINPID=$new READY=1" "$NOUT"
}
