#!/usr/bin/env bats
# The workers' sandbox and the master's suspicion of them: a worker that
# makes a forbidden system call, or sends the master garbage, dies and is
# replaced; the others keep serving.  TCPPROXY_TEST_HOOKS lets the suite
# make a worker misbehave on purpose (see worker.c).

load helper

setup() {
	free_ports 1
	P=${PORTS[0]}
	start_server echo
}

worker_pid() {
	grep -E "started worker $1, pid" "$TP_LOG" | tail -1 | sed -E 's/.*pid ([0-9]+).*/\1/'
}

# replaced N OLDPID: wait until worker N has been started anew
replaced() {
	local i
	for i in $(seq 200); do
		[ "$(worker_pid "$1")" != "$2" ] && return 0
		sleep 0.05
	done
	echo "worker $1 was not replaced" >&2
	return 1
}

@test "workers run under seccomp with no_new_privs" {
	start_tcpproxy -w 2 -u nobody -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_port "$P"
	wait_for_log "worker 2: sandbox: seccomp-bpf"
	for w in $(pgrep -P "$TP_PID"); do
		[ "$(awk '$1 == "Seccomp:" { print $2 }' "/proc/$w/status")" = 2 ]
		[ "$(awk '$1 == "NoNewPrivs:" { print $2 }' "/proc/$w/status")" = 1 ]
	done
	# and everything the relay needs is allowed: splice, copy, v6, source
	run_timeout 30 "$TBIN/tp-load" -c 200 -n 20000 127.0.0.1 "$P"
	[ "${lines[-1]}" = "ok 200" ]
	! grep -q "killed by signal" "$TP_LOG" || false
}

@test "a forbidden system call kills the worker; it is replaced, others serve on" {
	TCPPROXY_TEST_HOOKS=1 start_tcpproxy -w 2 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_port "$P"
	wait_for_log "worker 2: sandbox: seccomp-bpf"
	victim=$(worker_pid 1)
	kill -USR2 "$victim"
	wait_for_log "worker 1 \(pid $victim\) killed by signal 31 \(Bad system call\)"
	replaced 1 "$victim"
	for i in 1 2 3 4; do
		run_timeout 10 "$TBIN/tp-client" -m echo -n 10000 127.0.0.1 "$P"
		[ "$output" = "ok 10000" ]
	done
}

@test "a worker that sends the master garbage is killed and replaced" {
	TCPPROXY_TEST_HOOKS=1 start_tcpproxy -w 2 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_port "$P"
	wait_for_log "worker 2: sandbox"
	victim=$(worker_pid 2)
	kill -USR1 "$victim"
	wait_for_log "worker 2 \(pid $victim\): protocol violation: unknown message type; killing it"
	wait_for_log "worker 2 \(pid $victim\) killed by signal 9"
	replaced 2 "$victim"
	run_timeout 10 "$TBIN/tp-load" -c 50 -n 1000 127.0.0.1 "$P"
	[ "${lines[-1]}" = "ok 50" ]
}

@test "without the test hooks, the same signals do nothing to a worker" {
	start_tcpproxy -w 1 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_port "$P"
	wait_for_log "worker 1: sandbox"
	w=$(worker_pid 1)
	kill -USR1 "$w"
	kill -USR2 "$w"
	kill -WINCH "$w"
	sleep 0.5
	kill -0 "$w"
	! grep -q "protocol violation\|killed by signal" "$TP_LOG" || false
}

@test "a worker's fatal error reaches the log even when its channel is full" {
	TCPPROXY_TEST_HOOKS=1 start_tcpproxy -w 1 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_port "$P"
	wait_for_log "worker 1: sandbox"
	victim=$(worker_pid 1)
	# With the master stopped nobody reads: the filler lines fill the
	# channel, and the dying worker must wait to send its last one.
	kill -STOP "$TP_PID"
	kill -WINCH "$victim"
	sleep 1
	state=$(awk '{ print $3 }' "/proc/$victim/stat")
	kill -CONT "$TP_PID"
	[ "$state" != Z ]
	wait_for_log "worker 1: test hook: fatal error after 8192 lines"
	wait_for_log "worker 1 \(pid $victim\) exited with status 1"
	replaced 1 "$victim"
	run_timeout 10 "$TBIN/tp-client" -m echo -n 10000 127.0.0.1 "$P"
	[ "$output" = "ok 10000" ]
}

@test "a worker cannot write another worker's connection counts" {
	# the fault is expected: under ASan, let it kill without a report
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}handle_segv=0 \
	TCPPROXY_TEST_HOOKS=1 start_tcpproxy -w 2 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_log "ready: 1 listeners, 2 workers"
	victim=$(worker_pid 1)
	kill -TTOU "$victim"
	wait_for_log "worker 1 \(pid $victim\) killed by signal 11"
	! grep -q "wrote another worker's counts" "$TP_LOG" || false
	replaced 1 "$victim"
	run_timeout 10 "$TBIN/tp-client" -m echo -n 1000 127.0.0.1 "$P"
	[ "$output" = "ok 1000" ]
}

@test "a worker that forges its own counts admits no one beyond max-connections" {
	printf 'listen 127.0.0.1 %s {\n remote: 127.0.0.1 %s;\n max-connections: 2;\n};\n' "$P" "$SERVER_PORT" >"$BATS_TEST_TMPDIR/t.conf"
	# no watchdog: it would replace the stopped worker and clear its row
	TCPPROXY_TEST_HOOKS=1 start_tcpproxy -w 2 --watchdog-timeout 0 -c "$BATS_TEST_TMPDIR/t.conf"
	wait_for_log "ready: 1 listeners, 2 workers"
	forger=$(worker_pid 1)
	# 2^32 - 1 in its row: a 32-bit sum would wrap to one below the
	# other worker's count and let it admit one more than the limit
	kill -TTIN "$forger"
	wait_for_log "worker 1: test hook: forged own counts"
	kill -STOP "$forger"
	hold_clients 20 "$P"
	sleep 1.5
	admitted=$(grep -c 'relay [0-9]*: new client' "$TP_LOG") || true
	kill -CONT "$forger"
	[ "$admitted" -le 2 ]
}

@test "--no-sandbox leaves the workers unfiltered, and says so" {
	start_tcpproxy -w 1 --no-sandbox -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_port "$P"
	wait_for_log "worker 1: sandbox: off"
	w=$(pgrep -P "$TP_PID")
	[ "$(awk '$1 == "Seccomp:" { print $2 }' "/proc/$w/status")" = 0 ]
}
