#!/usr/bin/env bats
# Processes: the master binds and supervises, the workers drop
# privileges and relay; daemonizing, pid file, restart and shutdown.

load helper

setup() {
	free_ports 2
	P=${PORTS[0]} P2=${PORTS[1]}
}




@test "-u/-g: workers run as the user and group only, the master keeps root" {
	start_server echo
	start_tcpproxy -w 2 -u nobody -g nogroup -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_port "$P"
	wait_workers "$TP_PID" 2
	uid=$(id -u nobody) gid=$(getent group nogroup | cut -d: -f3)
	for w in $(workers_of "$TP_PID"); do
		[ "$(status_field "$w" Uid)" = "$uid $uid $uid $uid" ]
		[ "$(status_field "$w" Gid)" = "$gid $gid $gid $gid" ]
		[ "$(status_field "$w" Groups)" = "$gid" ]
		[[ $(tr '\0' ' ' <"/proc/$w/cmdline") == *"worker "[12]* ]]
	done
	[ "$(status_field "$TP_PID" Uid | cut -d" " -f1)" = 0 ]
	run_timeout 10 "$TBIN/tp-client" -m echo -n 100000 127.0.0.1 "$P"
	[ "$output" = "ok 100000" ]
}

@test "-u alone uses the user's primary group; -g alone changes only the group" {
	start_server echo
	start_tcpproxy -w 1 -u nobody -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_port "$P"
	wait_workers "$TP_PID" 1
	w=$(workers_of "$TP_PID")
	[ "$(status_field "$w" Gid | cut -d" " -f1)" = "$(id -g nobody)" ]

	start_tcpproxy -w 1 -g nogroup -l 127.0.0.1 -p "$P2" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_port "$P2"
	wait_workers "$TP_PID" 1
	w=$(workers_of "$TP_PID")
	[ "$(status_field "$w" Uid | cut -d" " -f1)" = 0 ]
	[ "$(status_field "$w" Gid)" = "65534 65534 65534 65534" ]
	[ "$(status_field "$w" Groups)" = 65534 ]
}

@test "-C: workers are jailed in the chroot and still relay" {
	jail=$BATS_TEST_TMPDIR/jail
	mkdir -m 0755 "$jail"
	start_server echo
	start_tcpproxy -w 2 -u nobody -C "$jail" -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_port "$P"
	wait_workers "$TP_PID" 2
	for w in $(workers_of "$TP_PID"); do
		[ "$(readlink "/proc/$w/root")" = "$jail" ]
		[ "$(readlink "/proc/$w/cwd")" = "$jail" ]
	done
	[ "$(readlink "/proc/$TP_PID/root")" = / ]
	run_timeout 10 "$TBIN/tp-client" -m echo -n 100000 127.0.0.1 "$P"
	[ "$output" = "ok 100000" ]
}

@test "unprivileged start: nothing to drop, said at debug level" {
	start_server echo
	start_tcpproxy_via setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
	    -w 1 -u nobody -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_port "$P"
	run_timeout 10 "$TBIN/tp-client" -m echo -n 1000 127.0.0.1 "$P"
	[ "$output" = "ok 1000" ]
	grep -q "DEBUG: worker 1: not dropping privileges: not running as root, already uid $(id -u nobody)" "$TP_LOG"
}

# socket inodes of PID in TCP state ST (hex, 01 = established)
tcp_inodes() {
	local pid=$1 st=$2 ino
	for ino in $(find "/proc/$pid/fd" -lname 'socket:*' -printf '%l\n' 2>/dev/null | tr -dc '0-9\n'); do
		awk -v i="$ino" -v s="$st" '$10 == i && $4 == s { print i }' /proc/net/tcp /proc/net/tcp6
	done
}

@test "the master never holds a client or remote connection" {
	start_server hang
	start_tcpproxy -w 1 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_port "$P"
	hold_clients 1 "$P" 30
	wait_for_log "relay [0-9]+: connected to 127.0.0.1:$SERVER_PORT" "$TP_LOG"
	w=$(workers_of "$TP_PID")
	[ "$(tcp_inodes "$w" 01 | wc -l)" -ge 2 ]
	[ -z "$(tcp_inodes "$TP_PID" 01)" ]
	# the listener is the master's (0A = listen)
	[ "$(tcp_inodes "$TP_PID" 0A | wc -l)" -eq 1 ]
}

@test "a killed worker is logged and replaced; the other keeps its connections" {
	start_server echo
	start_tcpproxy -w 2 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_port "$P"
	wait_workers "$TP_PID" 2
	exec 5<>"/dev/tcp/127.0.0.1/$P"
	printf 'one\n' >&5
	read -t 10 -r line <&5
	[ "$line" = one ]
	# the worker serving fd 5 is the one whose relay is still open
	sleep 0.2
	n=$(grep -E "worker [12]: relay [0-9]+: connected" "$TP_LOG" | tail -1 | sed -E 's/.*worker ([12]):.*/\1/')
	other=$((3 - n))
	victim=$(grep -E "started worker $other, pid" "$TP_LOG" | tail -1 | sed -E 's/.*pid ([0-9]+).*/\1/')
	kill -9 "$victim"
	wait_for_log "worker $other \(pid $victim\) killed by signal 9"
	wait_for_log "started worker $other, pid"
	wait_workers "$TP_PID" 2
	! workers_of "$TP_PID" | grep -qx "$victim" || false
	printf 'two\n' >&5
	read -t 10 -r line <&5
	[ "$line" = two ]
	exec 5>&-
	for i in 1 2 3 4; do
		run_timeout 10 "$TBIN/tp-client" -m echo -n 1000 127.0.0.1 "$P"
		[ "$output" = "ok 1000" ]
	done
}

@test "a worker that keeps dying is restarted with back-off" {
	start_server echo
	start_tcpproxy -w 1 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_port "$P"
	for ms in 250 500 1000; do
		wait_workers "$TP_PID" 1
		kill -9 "$(workers_of "$TP_PID")"
		wait_for_log "restarting worker 1 in $ms ms"
	done
	wait_workers "$TP_PID" 1
	wait_for_port "$P"
}

@test "daemon: returns once serving, writes and removes the pid file" {
	start_server echo
	pidf=$BATS_TEST_TMPDIR/tp.pid
	# a control socket of its own: another daemon on this machine may
	# hold the default one
	run_timeout 20 "$TCPPROXY" -w 2 -P "$pidf" -L "file:5,$BATS_TEST_TMPDIR/d.log" \
	    -S "$BATS_TEST_TMPDIR/ctl.sock" \
	    -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	# cleaned up even if a check below fails
	[ ! -s "$pidf" ] || register_pid "$(cat "$pidf")"
	[ "$status" -eq 0 ]
	[ -z "$output" ] || { echo "output: $output" >&2; false; }
	pid=$(cat "$pidf")
	kill -0 "$pid"
	[ "$(awk '{ print $4 }' "/proc/$pid/stat")" != "$$" ]
	# serving already: no wait needed
	run_timeout 10 "$TBIN/tp-client" -m echo -n 1000 127.0.0.1 "$P"
	[ "$output" = "ok 1000" ]
	grep -q "ready: 1 listeners, 2 workers" "$BATS_TEST_TMPDIR/d.log"
	[ "$(readlink "/proc/$pid/fd/0")" = /dev/null ]
	[ "$(readlink "/proc/$pid/cwd")" = / ]
	# no process keeps the starting shell's output open
	for w in $(workers_of "$pid"); do
		for fd in 0 1 2; do
			[ "$(readlink "/proc/$w/fd/$fd")" = /dev/null ]
		done
	done
	[ "$(readlink "/proc/$pid/fd/2")" = /dev/null ]

	# a second instance with the same pid file refuses to start
	expect_fail_line 1 "^tcpproxy: -P: already running as pid $pid" \
	    "$TCPPROXY" -P "$pidf" -l 127.0.0.1 -p "$P2" -r 127.0.0.1 -o 1

	ws=$(workers_of "$pid")
	[ "$(echo "$ws" | wc -l)" -eq 2 ]
	kill -TERM "$pid"
	wait_gone "$pid"
	wait_gone $ws
	[ ! -e "$pidf" ]
	grep -q "SIGTERM received, shutting down" "$BATS_TEST_TMPDIR/d.log"
}

@test "daemon: a failed start exits non-zero with the reason on stderr" {
	start_server echo -l 127.0.0.1
	run_timeout 20 "$TCPPROXY" -l 127.0.0.1 -p "$SERVER_PORT" -r 127.0.0.1 -o 1
	[ "$status" -eq 1 ]
	[[ $output == *"cannot listen on 127.0.0.1:$SERVER_PORT: Address already in use"* ]]
}

@test "SIGINT, SIGTERM and SIGQUIT stop master and workers; no process is left" {
	for sig in INT TERM QUIT; do
		start_tcpproxy -w 3 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o 1
		wait_for_port "$P"
		wait_workers "$TP_PID" 3
		ws=$(workers_of "$TP_PID")
		stop_tcpproxy "$sig"
		[ "$TP_STATUS" -eq 0 ]
		wait_gone $ws
		grep -q "SIG$sig received, shutting down" "$TP_LOG"
		run "$TBIN/tp-client" -m connect -T 2 127.0.0.1 "$P"
		[ "$status" -ne 0 ]
	done
}

@test "a master killed with SIGKILL takes its workers with it" {
	start_tcpproxy -w 2 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o 1
	wait_for_port "$P"
	wait_workers "$TP_PID" 2
	ws=$(workers_of "$TP_PID")
	kill -9 "$TP_PID"
	wait_gone $ws
}

@test "SIGHUP, SIGUSR1 and SIGUSR2 sent during start-up wait for the master; they do not kill it" {
	start_server echo
	case $(uname -m) in
	x86_64)	nr=49 ;;	# bind(2)
	aarch64) nr=200 ;;
	*)	skip "no bind(2) number for $(uname -m)" ;;
	esac
	# strace holds the master's first bind(2) for 3 s: past main()'s
	# first lines, before the master's signal handlers exist
	start_tcpproxy_via strace -D -o /dev/null -e trace=bind \
	    -e inject=bind:delay_enter=3000000:when=1 -- \
	    -w 1 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	for i in $(seq 200); do
		[[ $(cat "/proc/$TP_PID/syscall" 2>/dev/null) == "$nr "* ]] && break
		sleep 0.05
	done
	[[ $(cat "/proc/$TP_PID/syscall") == "$nr "* ]]
	kill -USR1 "$TP_PID"
	kill -USR2 "$TP_PID"
	kill -HUP "$TP_PID"
	wait_for_log "ready: 1 listeners, 1 workers"
	# each one is acted on once the master handles signals
	wait_for_log "NOTICE: master: 1 listener, generation 1, 0 connections open$"
	wait_for_log "NOTICE: master: end of the connection list$"
	wait_for_log "SIGHUP: no config file to reload"
	kill -0 "$TP_PID"
	run_timeout 10 "$TBIN/tp-client" -m echo -n 1000 127.0.0.1 "$P"
	[ "$output" = "ok 1000" ]
}
