#!/usr/bin/env bats
# The control socket and tcpproxyctl against a live daemon: every
# command, with connections open; what the socket refuses.

load helper

CTL=${TCPPROXYCTL:-$TOP/tcpproxyctl}

setup() {
	free_ports 3
	P1=${PORTS[0]} P2=${PORTS[1]} P3=${PORTS[2]}
	CONF=$(cd "$BATS_TEST_TMPDIR" && pwd -P)/tcpproxy.conf
	SOCK=$BATS_TEST_TMPDIR/ctl.sock
	start_server echo
}

teardown() {
	exec 5>&- 6>&- 2>/dev/null || true
	helper_teardown
}

# conf [TOP-STATEMENT...]: P1 (and P2 with TWO=1) to the echo server
conf() {
	{
		printf '%s\n' "$@"
		printf 'listen 127.0.0.1 %s {\n\tremote: 127.0.0.1 %s;\n};\n' \
		    "$P1" "$SERVER_PORT"
		[[ -z ${TWO:-} ]] ||
		    printf 'listen 127.0.0.1 %s {\n\tremote: 127.0.0.1 %s;\n};\n' \
		    "$P2" "$SERVER_PORT"
	} >"$CONF"
}

start() {
	start_tcpproxy -S "$SOCK" -c "$CONF" "$@"
	wait_for_port "$P1"
}

# ctl ARGS...: tcpproxyctl on this test's socket, output in $output
ctl() {
	run_timeout 30 "$CTL" -s "$SOCK" "$@"
}

# ctlj FILTER ARGS...: tcpproxyctl -j ARGS, then jq -r FILTER on it
ctlj() {
	local filter=$1
	shift
	ctl -j "$@"
	[ "$status" -eq 0 ] || { echo "tcpproxyctl -j $*: $status: $output" >&2; return 1; }
	jq -er "$filter" <<<"$output"
}

# raw TEXT: send TEXT (printf %b) as it is to the control socket
raw() {
	run_timeout 10 sh -c 'printf "%b" "$1" | "$0" -w "$2"' \
	    "$TBIN/tp-unix" "$1" "$SOCK"
}

# open_conn FD: a connection through P1 held open on bash fd FD
open_conn() {
	eval "exec $1<>/dev/tcp/127.0.0.1/$P1"
}

# echo_on FD WORD: WORD goes through the connection on FD and comes back
echo_on() {
	local got
	printf '%s\n' "$2" >&"$1"
	read -r -t 5 -u "$1" got
	[ "$got" = "$2" ]
}

@test "show listeners: every listener, aligned text and JSON" {
	TWO=1 conf
	start
	ctl show listeners
	[ "$status" -eq 0 ]
	[[ ${lines[0]} =~ ^ID\ +LOCAL\ +REMOTES\ +STATE ]]
	[[ $output == *"127.0.0.1:$P1"*"127.0.0.1:$SERVER_PORT"*accepting* ]]
	[ "$(ctlj '.listeners | length' show listeners)" -eq 2 ]
	[ "$(ctlj ".listeners[] | select(.local == \"127.0.0.1:$P2\") | .state" show listeners)" = accepting ]
	[ "$(ctlj '.ok' show listeners)" = true ]
}

@test "show connections: each open connection, by listener too" {
	TWO=1 conf
	start -w 2
	open_conn 5
	echo_on 5 hello
	eval "exec 6<>/dev/tcp/127.0.0.1/$P2"
	printf 'hi\n' >&6
	read -r -t 5 -u 6 _
	[ "$(ctlj '.connections | length' show connections)" -eq 2 ]
	id1=$(ctlj ".listeners[] | select(.local == \"127.0.0.1:$P1\") | .id" show listeners)
	[ "$(ctlj '.connections | length' show connections "$id1")" -eq 1 ]
	[ "$(ctlj '.connections[0].state' show connections "$id1")" = established ]
	[ "$(ctlj '.connections[0].bytes_sent' show connections "$id1")" -eq 6 ]
	[ "$(ctlj '.connections[0].bytes_received' show connections "$id1")" -eq 6 ]
	[ "$(ctlj '.connections[0].remote' show connections "$id1")" = "127.0.0.1:$SERVER_PORT" ]
	[[ $(ctlj '.connections[0].id' show connections "$id1") =~ ^[12]\.[0-9]+$ ]]
	ctl show connections 999
	[ "$status" -eq 1 ]
	[[ $output == *"no listener 999"* ]]
}

@test "show stats and show workers count what went through" {
	conf
	start -w 2
	# wait_for_port made connections too: count from here
	before=$(ctlj '.total.accepted' show stats)
	for i in 1 2 3; do
		run_timeout 10 "$TBIN/tp-client" -m echo -n 10000 127.0.0.1 "$P1"
		[ "$output" = "ok 10000" ]
	done
	wait_for_count 3 "reason=eof"
	[ "$(ctlj '.total.accepted' show stats)" -eq $((before + 3)) ]
	[ "$(ctlj '.total.bytes_sent' show stats)" -eq 30000 ]
	[ "$(ctlj '.total.bytes_received' show stats)" -eq 30000 ]
	[ "$(ctlj '.total.connections' show stats)" -eq 0 ]
	[ "$(ctlj '.listeners[0].accepted' show stats)" -eq $((before + 3)) ]
	[ "$(ctlj '.workers | length' show workers)" -eq 2 ]
	[ "$(ctlj '[.workers[] | select(.state == "running")] | length' show workers)" -eq 2 ]
	# the pids are the master's children
	for pid in $(ctlj '.workers[].pid' show workers); do
		[ "$(ps -o ppid= -p "$pid" | tr -d ' ')" = "$TP_PID" ]
	done
	ctl show workers
	[ "$status" -eq 0 ]
	[[ ${lines[0]} =~ ^ID\ +PID\ +STATE ]]
}

@test "show metrics: Prometheus text that promtool accepts" {
	conf
	start
	run_timeout 10 "$TBIN/tp-client" -m echo -n 1000 127.0.0.1 "$P1"
	wait_for_count 1 "reason=eof"
	ctl show metrics
	[ "$status" -eq 0 ]
	[[ $output == *"# TYPE tcpproxy_listener_accepted_total counter"* ]]
	[[ $output == *"tcpproxy_listener_accepted_total{"*"} 1"* ]]
	[[ $output == *"tcpproxy_listener_sent_bytes_total{"*"} 1000"* ]]
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/metrics.txt"
	run promtool check metrics <"$BATS_TEST_TMPDIR/metrics.txt"
	[ "$status" -eq 0 ]
}

@test "reload waits for the workers and reports kept, added, removed" {
	conf
	start -w 2
	TWO=1 conf
	ctl reload
	[ "$status" -eq 0 ]
	[[ $output == *"reload complete"* ]]
	# synchronous: the new listener serves as soon as the command returns
	run_timeout 10 "$TBIN/tp-client" -m echo -n 100 127.0.0.1 "$P2"
	[ "$output" = "ok 100" ]
	conf
	ctl -j reload
	[ "$status" -eq 0 ]
	[ "$(jq -r '.reload.removed' <<<"$output")" -eq 1 ]
	[ "$(jq -r '.reload.kept' <<<"$output")" -eq 1 ]
	[ "$(jq -r '.reload.added' <<<"$output")" -eq 0 ]
	[ "$(jq -r '.reload.generation' <<<"$output")" -eq 3 ]
	[ "$(ctlj '.total.reloads' show stats)" -eq 2 ]
}

@test "a failed reload exits 1 with every error as file:line:col" {
	conf
	start
	printf 'listen 127.0.0.1 %s {\n\tremote: 127.0.0.1 %s;\n\tbogus: 1;\n\tother: 2;\n};\n' \
	    "$P1" "$SERVER_PORT" >"$CONF"
	ctl reload
	[ "$status" -eq 1 ]
	[[ $output == *"$CONF:3:2: unknown keyword 'bogus'"* ]]
	[[ $output == *"$CONF:4:2: unknown keyword 'other'"* ]]
	[[ $output == *"reload failed: 2 errors; still serving generation 1"* ]]
	run_timeout 10 "$TBIN/tp-client" -m echo -n 100 127.0.0.1 "$P1"
	[ "$output" = "ok 100" ]
}

@test "kill connection closes that one only, with reason killed" {
	conf
	start -w 1
	open_conn 5
	echo_on 5 one
	open_conn 6
	echo_on 6 two
	id=$(ctlj '.connections | sort_by(.age_ms) | last | .id' show connections)
	ctl kill connection "$id"
	[ "$status" -eq 0 ]
	wait_for_log "relay ${id#*.}: close .*reason=killed"
	# the first connection is gone, the second one still works
	! read -r -t 5 -u 5 _
	echo_on 6 still
	ctl kill connection "$id"
	[ "$status" -eq 1 ]
	[[ $output == *"no such connection"* ]]
	ctl kill connection 9.1
	[ "$status" -eq 1 ]
	ctl kill connection nonsense
	[ "$status" -ne 0 ]
}

@test "drain refuses new clients, keeps open ones; enable accepts again" {
	conf
	start -w 2
	open_conn 5
	echo_on 5 before
	ctl drain listener 127.0.0.1 "$P1"
	[ "$status" -eq 0 ]
	run_timeout 10 "$TBIN/tp-client" -m connect -T 2 127.0.0.1 "$P1"
	[ "$status" -eq 3 ]	# refused, not left waiting
	echo_on 5 during
	[ "$(ctlj '.listeners[0].state' show listeners)" = draining ]
	# a reload keeps it drained
	ctl reload
	[ "$status" -eq 0 ]
	run_timeout 10 "$TBIN/tp-client" -m connect -T 2 127.0.0.1 "$P1"
	[ "$status" -eq 3 ]
	ctl enable listener 127.0.0.1 "$P1"
	[ "$status" -eq 0 ]
	run_timeout 10 "$TBIN/tp-client" -m echo -n 100 127.0.0.1 "$P1"
	[ "$output" = "ok 100" ]
	echo_on 5 after
	ctl drain listener 127.0.0.1 1
	[ "$status" -eq 1 ]
	[[ $output == *"no listener 127.0.0.1 1"* ]]
	ctl drain listener localhost "$P1"
	[ "$status" -eq 1 ]
}

@test "log reopen starts a new log file" {
	conf
	start -L "file:5,$BATS_TEST_TMPDIR/tp.log"
	mv "$BATS_TEST_TMPDIR/tp.log" "$BATS_TEST_TMPDIR/tp.log.1"
	ctl log reopen
	[ "$status" -eq 0 ]
	wait_for_log "log files reopened" "$BATS_TEST_TMPDIR/tp.log"
}

@test "stop --drain: new clients refused, open ones finish, then exit" {
	conf
	start -w 2 -P "$BATS_TEST_TMPDIR/tp.pid"
	open_conn 5
	echo_on 5 before
	ctl stop --drain 30
	[ "$status" -eq 0 ]
	wait_for_log "stopping; open connections may finish for 30000 ms"
	run_timeout 10 "$TBIN/tp-client" -m connect -T 2 127.0.0.1 "$P1"
	[ "$status" -eq 3 ]
	echo_on 5 during
	ctl show workers
	[ "$status" -eq 0 ]
	exec 5>&-
	wait_for_log "shutdown complete"
	stop_tcpproxy
	[ "$TP_STATUS" -eq 0 ]
	[ ! -e "$BATS_TEST_TMPDIR/tp.pid" ]
	[ ! -e "$SOCK" ]
	! grep -q "reason=shutdown" "$TP_LOG"
}

@test "SIGTERM with shutdown-timeout: connections get that long, then reason=shutdown" {
	conf "shutdown-timeout: 1s;"
	start -w 1
	open_conn 5
	echo_on 5 before
	kill -TERM "$TP_PID"
	wait_for_log "SIGTERM received: stopping; open connections may finish for 1000 ms"
	echo_on 5 during
	wait_for_log "shutdown timeout: closing the connections left"
	wait_for_log "reason=shutdown"
	stop_tcpproxy
	[ "$TP_STATUS" -eq 0 ]
}

@test "without a shutdown timeout SIGTERM closes at once, as before" {
	conf
	start -w 1
	open_conn 5
	echo_on 5 before
	stop_tcpproxy
	grep -q "SIGTERM received, shutting down" "$TP_LOG"
	grep -q "reason=shutdown" "$TP_LOG"
	run grep -c "may finish" "$TP_LOG"
	[ "$output" = 0 ]
}

@test "--shutdown-timeout on the command line, overridden by the file" {
	conf "shutdown-timeout: 0;"
	start -w 1 --shutdown-timeout 30s
	stop_tcpproxy
	grep -q "SIGTERM received, shutting down" "$TP_LOG"
	conf
	start -w 1 --shutdown-timeout 30s
	kill -TERM "$TP_PID"
	wait_for_log "may finish for 30000 ms" "$TP_LOG"
}

@test "the control socket refuses unknown, oversized and broken requests" {
	conf
	start
	raw 'show everything\n'
	[ "$output" = "error unknown command" ]
	raw 'show  listeners\n'
	[ "$output" = "error empty word in request" ]
	raw "$(head -c 600 /dev/zero | tr '\0' a)\n"
	[ "$output" = "error request longer than 511 bytes" ]
	raw 'show workers\nshow workers\n'
	[ "$output" = "error one request per line, and nothing after it" ]
	raw 'show \001workers\n'
	[ "$output" = "error request is not printable ASCII" ]
	raw 'stop drain forever\n'
	[ "$output" = "error drain takes seconds from 0 to 86400" ]
	raw 'kill connection 1.x\n'
	[ "$output" = "error a connection is WORKER.NUMBER" ]
	ctl show workers
	[ "$status" -eq 0 ]
}

@test "a client that says nothing is dropped and stalls no one" {
	conf
	start
	# 16 silent clients take every place; the 17th is told so
	for i in $(seq 16); do
		setsid "$TBIN/tp-unix" -T 60 "$SOCK" < <(sleep 30) >/dev/null 2>&1 3>&- &
		register_pid $!
	done
	sleep 0.5
	raw 'show workers\n'
	[ "$output" = "error too many control clients" ]
	# within the 5 s a request may take, they are dropped; then it works
	for i in $(seq 100); do
		ctl show workers
		[ "$status" -eq 0 ] && break
		sleep 0.1
	done
	[ "$status" -eq 0 ]
	# the proxy carried on meanwhile
	run_timeout 10 "$TBIN/tp-client" -m echo -n 100 127.0.0.1 "$P1"
	[ "$output" = "ok 100" ]
}

@test "the socket is 0660 and refuses users outside its group" {
	conf
	# a directory anyone may pass through: only the socket's mode decides
	PUBDIR=$(mktemp -d)
	chmod 0755 "$PUBDIR"
	SOCK=$PUBDIR/ctl.sock
	start --control-group nogroup
	[ "$(stat -c %a:%G "$SOCK")" = "660:nogroup" ]
	run_timeout 10 setpriv --reuid=nobody --regid=daemon --clear-groups \
	    "$CTL" -s "$SOCK" show workers
	[ "$status" -eq 2 ]
	[[ $output == *"Permission denied"* ]]
	run_timeout 10 setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    "$CTL" -s "$SOCK" show workers
	[ "$status" -eq 0 ]
	stop_tcpproxy
	rm -rf "$PUBDIR"
}

@test "control works with unprivileged, chrooted workers" {
	conf
	jail=$(mktemp -d)
	start -w 2 -u nobody -C "$jail"
	open_conn 5
	echo_on 5 hello
	[ "$(ctlj '.connections | length' show connections)" -eq 1 ]
	id=$(ctlj '.connections[0].id' show connections)
	ctl kill connection "$id"
	[ "$status" -eq 0 ]
	ctl reload
	[ "$status" -eq 0 ]
	rmdir "$jail"
}

@test "-S: a path that cannot be made, or one in use, fails the start" {
	conf
	expect_fail_line 1 "^tcpproxy: -S: control socket $BATS_TEST_TMPDIR/no/such/ctl.sock: No such file or directory$" \
	    "$TCPPROXY" -D -S "$BATS_TEST_TMPDIR/no/such/ctl.sock" -c "$CONF"
	start
	expect_fail_line 1 "^tcpproxy: -S: control socket $SOCK: in use by another process$" \
	    "$TCPPROXY" -D -S "$SOCK" -l 127.0.0.1 -p "$P3" -r 127.0.0.1 -o 1
	expect_fail_line 1 "^tcpproxy: --control-group: unknown group 'no-such-group'$" \
	    "$TCPPROXY" -n -c "$CONF" --control-group no-such-group
	# a stale socket, left by a master killed outright, is replaced
	stop_tcpproxy KILL
	[ -S "$SOCK" ]
	start
	ctl show workers
	[ "$status" -eq 0 ]
}

@test "-S none: no control socket" {
	conf
	start_tcpproxy -S none -c "$CONF"
	wait_for_port "$P1"
	run ss -xlpn
	[ "$status" -eq 0 ]
	[[ $output != *"pid=$TP_PID,"* ]]
	! grep -q "control socket" "$TP_LOG"
}

@test "shutdown-timeout belongs at the top of the file" {
	printf 'listen 127.0.0.1 %s {\n\tremote: 127.0.0.1 1;\n\tshutdown-timeout: 1s;\n};\n' "$P1" >"$CONF"
	expect_fail_line 1 "^tcpproxy: $CONF:3:2: 'shutdown-timeout' belongs at the top of the file, outside any listen stanza$" \
	    sh -c '"$0" -n -c "$1" 2>&1 | grep -v "configuration has"; exit 1' "$TCPPROXY" "$CONF"
	printf 'shutdown-timeout: forever;\n' >"$CONF"
	run "$TCPPROXY" -n -c "$CONF"
	[ "$status" -eq 1 ]
	[[ $output == *"$CONF:1:19: invalid time 'forever'"* ]]
}
