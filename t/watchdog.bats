#!/usr/bin/env bats
# The watchdog: a worker whose loop stops answering the master's
# heartbeat is killed and replaced, so that clients stop waiting on it.

load helper

setup() {
	free_ports 1
	P=${PORTS[0]}
}

# echo_clients N: N clients one after the other, none may hang
echo_clients() {
	local i
	for ((i = 0; i < $1; i++)); do
		run_timeout 10 "$TBIN/tp-client" -m echo -T 5 -n 1000 127.0.0.1 "$P"
		[ "$output" = "ok 1000" ] || return 1
	done
}

@test "a stopped worker misses its heartbeat, is killed and replaced; every client is then served" {
	start_server echo
	start_tcpproxy -w 2 --watchdog-timeout 1s -u nobody \
	    -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_port "$P"
	wait_workers "$TP_PID" 2
	stuck=$(workers_of "$TP_PID" | head -1)
	kill -STOP "$stuck"
	wait_for_log "worker [12] \(pid $stuck\) did not answer its heartbeat for [0-9]+ ms; killing it"
	wait_for_log "worker [12] \(pid $stuck\) killed by signal 9"
	wait_replaced "$TP_PID" "$stuck" 2
	# Both workers serve again: 40 clients spread over them, none hangs.
	echo_clients 40
}

@test "a replacement stuck before it takes its table is killed too" {
	start_server echo
	stall=$BATS_TEST_TMPDIR/stall
	TCPPROXY_TEST_HOOKS=$stall start_tcpproxy -w 2 --watchdog-timeout 1s \
	    -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_log "ready: 1 listeners, 2 workers"
	victim=$(workers_of "$TP_PID" | head -1)
	# its replacement starts while the stall file exists, and waits
	touch "$stall"
	kill -KILL "$victim"
	wait_for_log "worker [12] \(pid $victim\) killed by signal 9"
	wait_for_log "worker [12] \(pid [0-9]+\) did not take its table in [0-9]+ ms; killing it"
	rm "$stall"
	wait_for_count 2 "killed by signal 9"
	wait_for_count 3 "now serving 1 listeners of generation 1"
	echo_clients 20
}

@test "busy or idle, a worker that answers is never killed by the watchdog" {
	start_server echo
	start_tcpproxy -w 2 --watchdog-timeout 300ms \
	    -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_port "$P"
	wait_workers "$TP_PID" 2
	before=$(workers_of "$TP_PID")
	# Some three heartbeats each, with traffic through the workers.
	for ((i = 0; i < 10; i++)); do
		run_timeout 10 "$TBIN/tp-client" -m echo -n 200000 127.0.0.1 "$P"
		[ "$output" = "ok 200000" ]
	done
	sleep 1
	[ "$(workers_of "$TP_PID")" = "$before" ]
	! grep -q "heartbeat" "$TP_LOG" || false
}

@test "--watchdog-timeout 0 turns it off: a stopped worker is left alone" {
	start_tcpproxy -w 2 --watchdog-timeout 0 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o 1
	wait_for_port "$P"
	wait_workers "$TP_PID" 2
	stuck=$(workers_of "$TP_PID" | head -1)
	kill -STOP "$stuck"
	sleep 1.5
	kill -0 "$stuck"
	! grep -q "heartbeat" "$TP_LOG" || false
	kill -CONT "$stuck"
}

@test "--watchdog-timeout: a bad time is a one-line usage error" {
	expect_fail_line 1 "^tcpproxy: --watchdog-timeout: invalid time 'soon': " \
	    "$TCPPROXY" -w 1 --watchdog-timeout soon -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o 1
}
