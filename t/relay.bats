#!/usr/bin/env bats
# The data path: every byte, both ways, over every address family, with
# half-close, backpressure, connect fallback and reset propagation.

load helper

setup() {
	free_ports 2
	P=${PORTS[0]} P2=${PORTS[1]}
}

teardown() {
	# put back what a test lowered
	if [[ -n ${SAVED_PIPE_SOFT:-} ]]; then
		echo "$SAVED_PIPE_SOFT" >/proc/sys/fs/pipe-user-pages-soft
	fi
	helper_teardown
}

@test "bytes are relayed both ways, v4 to v4" {
	start_server echo
	start_tcpproxy -w 2 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_port "$P"
	run_timeout 30 "$TBIN/tp-client" -m echo -n 5000000 127.0.0.1 "$P"
	[ "$status" -eq 0 ]
	[ "$output" = "ok 5000000" ]
}

@test "v4 client to v6 remote and v6 client to v4 remote" {
	start_server peer -l ::1
	start_tcpproxy -w 1 -l 127.0.0.1 -p "$P" -r ::1 -o "$SERVER_PORT"
	wait_for_port "$P"
	run_timeout 10 "$TBIN/tp-client" -m line 127.0.0.1 "$P"
	[ "$status" -eq 0 ]
	[[ $output =~ ^::1\ [0-9]+$ ]]

	start_server peer -l 127.0.0.1
	start_tcpproxy -w 1 -l ::1 -p "$P2" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_port "$P2" ::1
	run_timeout 10 "$TBIN/tp-client" -m line ::1 "$P2"
	[ "$status" -eq 0 ]
	[[ $output =~ ^127\.0\.0\.1\ [0-9]+$ ]]
	# log lines show IPv6 addresses unambiguously
	wait_for_log "new client \[::1\]:[0-9]+ on \[::1\]:$P2"
}

@test "v6 to v6 with echo of 1 MB" {
	start_server echo -l ::1
	start_tcpproxy -w 1 -l ::1 -p "$P" -r ::1 -o "$SERVER_PORT"
	wait_for_port "$P" ::1
	run_timeout 30 "$TBIN/tp-client" -m echo -n 1000000 ::1 "$P"
	[ "$output" = "ok 1000000" ]
}

@test "-t restricts the local address to one family" {
	start_server echo
	start_tcpproxy -w 1 -t 6 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_port "$P" ::1
	run "$TBIN/tp-client" -m connect -T 2 127.0.0.1 "$P"
	[ "$status" -ne 0 ]
	# a port answers before the master logs it: wait for its last word
	wait_for_log "ready"
	grep -q "listening on \[::\]:$P" "$TP_LOG"
	! grep -q "listening on 0.0.0.0:$P" "$TP_LOG" || false

	start_tcpproxy -w 1 -t ipv4 -p "$P2" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_port "$P2" 127.0.0.1
	run "$TBIN/tp-client" -m connect -T 2 ::1 "$P2"
	[ "$status" -ne 0 ]
}

@test "without -l both 0.0.0.0 and :: listen" {
	start_server echo
	start_tcpproxy -w 1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_port "$P" 127.0.0.1
	wait_for_port "$P" ::1
	run_timeout 10 "$TBIN/tp-client" -m echo -n 1000 ::1 "$P"
	[ "$output" = "ok 1000" ]
}

@test "every resolved remote address is tried in order (fallback)" {
	printf '::1 dual.test\n127.0.0.1 dual.test\n' >"$BATS_TEST_TMPDIR/hosts"
	start_server echo -l 127.0.0.1
	start_tcpproxy_via "${WITH_HOSTS[@]}" "$BATS_TEST_TMPDIR/hosts" -- \
	    -w 1 -l 127.0.0.1 -p "$P" -r dual.test -o "$SERVER_PORT"
	wait_for_port "$P"
	run_timeout 10 "$TBIN/tp-client" -m echo -n 1000 127.0.0.1 "$P"
	[ "$output" = "ok 1000" ]
	# workers' lines reach the log through the master, a little later
	wait_for_log "connect to \[::1\]:$SERVER_PORT failed: Connection refused"
	wait_for_log "connected to 127.0.0.1:$SERVER_PORT"
}

@test "-R restricts the remote to one family" {
	printf '::1 dual.test\n127.0.0.1 dual.test\n' >"$BATS_TEST_TMPDIR/hosts"
	run with_hosts "$BATS_TEST_TMPDIR/hosts" "$TCPPROXY" -n -p "$P" -r dual.test -o 1 -R 4
	[ "$status" -eq 0 ]
	start_server peer -l 127.0.0.1
	start_tcpproxy_via "${WITH_HOSTS[@]}" "$BATS_TEST_TMPDIR/hosts" -- \
	    -w 1 -l 127.0.0.1 -p "$P" -r dual.test -R 4 -o "$SERVER_PORT"
	wait_for_port "$P"
	run_timeout 10 "$TBIN/tp-client" -m line 127.0.0.1 "$P"
	[[ $output =~ ^127\.0\.0\.1\  ]]
	# never even tried ::1 (a try would be logged before the connect)
	wait_for_log "connected to 127.0.0.1:$SERVER_PORT"
	! grep -q "connect to \[::1\]" "$TP_LOG" || false
}

@test "-s sets the source address, IPv4 and IPv6" {
	start_server peer -l 127.0.0.1
	start_tcpproxy -w 1 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT" -s 127.0.0.2
	wait_for_port "$P"
	run_timeout 10 "$TBIN/tp-client" -m line 127.0.0.1 "$P"
	[[ $output =~ ^127\.0\.0\.2\ [0-9]+$ ]]

	start_server peer -l ::1
	start_tcpproxy -w 1 -l 127.0.0.1 -p "$P2" -r ::1 -o "$SERVER_PORT" -s ::1
	wait_for_port "$P2"
	run_timeout 10 "$TBIN/tp-client" -m line 127.0.0.1 "$P2"
	[[ $output =~ ^::1\ [0-9]+$ ]]
}

@test "half-close: the client's EOF reaches the remote, the reply comes back" {
	start_server reply
	start_tcpproxy -w 1 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_port "$P"
	run_timeout 10 "$TBIN/tp-client" -m send -n 123456 127.0.0.1 "$P"
	[ "$status" -eq 0 ]
	[ "$output" = "REPLY:123456" ]
	wait_for_log "close .*sent=123456 received=13 .*reason=eof"
}

@test "half-close the other way: the remote's EOF reaches the client first" {
	start_server blob -n 300000
	start_tcpproxy -w 1 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_port "$P"
	run_timeout 10 "$TBIN/tp-client" -m verify -n 300000 127.0.0.1 "$P"
	[ "$output" = "ok 300000" ]
}

@test "a slow reader receives every byte of a large transfer" {
	start_server blob -n 20000000
	start_tcpproxy -w 1 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_port "$P"
	run_timeout 120 "$TBIN/tp-client" -m slowverify -n 20000000 -b 30000 -d 500 -T 110 127.0.0.1 "$P"
	[ "$status" -eq 0 ]
	[ "$output" = "ok 20000000" ]
	wait_for_log "close .*sent=0 received=20000000 .*reason=eof"
}

@test "tiny and odd buffer sizes still relay every byte" {
	start_server echo
	start_tcpproxy -w 1 -b 1 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	start_tcpproxy -w 1 -b 1000 -l 127.0.0.1 -p "$P2" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_port "$P"
	wait_for_port "$P2"
	run_timeout 60 "$TBIN/tp-client" -m echo -n 20000 127.0.0.1 "$P"
	[ "$output" = "ok 20000" ]
	run_timeout 60 "$TBIN/tp-client" -m echo -n 3000000 127.0.0.1 "$P2"
	[ "$output" = "ok 3000000" ]
}

@test "remote refused: the client is closed and the reason logged" {
	start_tcpproxy -w 1 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$P2"
	wait_for_port "$P"
	run_timeout 10 "$TBIN/tp-client" -m read 127.0.0.1 "$P"
	[ "$status" -eq 0 ]
	[[ $output == "0 "* ]]
	wait_for_log "cannot connect to any remote of 127.0.0.1:$P, last error: Connection refused"
	wait_for_log "close .*remote=127.0.0.1:$P2 sent=0 received=0 .*reason=connect-failed"
}

@test "remote down, then up: new clients get through without a restart" {
	start_tcpproxy -w 2 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$P2"
	wait_for_port "$P"
	run_timeout 10 "$TBIN/tp-client" -m read 127.0.0.1 "$P"
	[[ $output == "0 "* ]]
	start_server echo -p "$P2"
	run_timeout 10 "$TBIN/tp-client" -m echo -n 1000 127.0.0.1 "$P"
	[ "$output" = "ok 1000" ]
}

@test "a reset from the remote resets the client" {
	start_server reset -n 5
	start_tcpproxy -w 1 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_port "$P"
	run_timeout 10 "$TBIN/tp-client" -m hold -n 5 -T 5 127.0.0.1 "$P"
	[ "$status" -eq 0 ]
	[ "$output" = "reset" ]
	wait_for_log "close .*reason=reset"
}

@test "a reset from the client resets the remote" {
	start_server sink
	start_tcpproxy -w 1 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_port "$P"
	run_timeout 10 "$TBIN/tp-client" -m reset -d 300000 127.0.0.1 "$P"
	[ "$status" -eq 0 ]
	wait_for_log "close .*reason=reset"
	# the server's side was reset too, not closed
	wait_for_log "tp-server: read: Connection reset by peer" "$SERVER_LOG"
}

@test "the close line counts the bytes of each direction" {
	start_server sink
	start_tcpproxy -w 1 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_port "$P"
	run_timeout 10 "$TBIN/tp-client" -m send -n 77777 127.0.0.1 "$P"
	[[ $output =~ ^77777\ [0-9a-f]{16}$ ]]
	len=$((${#output} + 1))
	wait_for_log "relay [0-9]+: close listener=127.0.0.1:$P client=127.0.0.1:[0-9]+ source=127.0.0.1:[0-9]+ remote=127.0.0.1:$SERVER_PORT sent=77777 received=$len duration_ms=[0-9]+ reason=eof"
	grep -Eq "relay [0-9]+: new client 127.0.0.1:[0-9]+ on 127.0.0.1:$P" "$TP_LOG"
	grep -Eq "relay [0-9]+: connected to 127.0.0.1:$SERVER_PORT from 127.0.0.1:[0-9]+" "$TP_LOG"
}

# pipes_of PID: how many pipe descriptors PID holds
pipes_of() {
	find "/proc/$1/fd" -lname 'pipe:*' 2>/dev/null | wc -l
}

@test "the chosen data path is the one used: splice holds a pipe only while bytes wait" {
	start_server blob -n 50000000
	start_tcpproxy -w 1 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	# no wait_for_port: its probe would be a relay of the blob, whose
	# pipe, pooled once empty, would be counted in base
	wait_for_log "ready: 1 listeners, 1 workers"
	w=$(pgrep -P "$TP_PID")
	# (valgrind, when it runs us, holds pipes of its own)
	base=$(pipes_of "$w")
	setsid "$TBIN/tp-client" -m slowverify -n 50000000 -b 1000 -d 2000 -T 60 127.0.0.1 "$P" \
	    </dev/null >"$BATS_TEST_TMPDIR/slow.out" 2>&1 3>&- &
	register_pid $!
	seen=0
	for i in $(seq 200); do
		(( $(pipes_of "$w") > base )) && { seen=1; break; }
		sleep 0.05
	done
	grep -q "splice unavailable" "$TP_LOG" && echo "splice fell back" >&2
	if [[ ${TP_EXTRA_ARGS:-} == *--no-splice* ]]; then
		[ "$seen" -eq 0 ]
	else
		[ "$seen" -eq 1 ]
	fi
}

# pipe_sizes PID: the capacity of every pipe end PID holds, one a line
pipe_sizes() {
	"$TBIN/tp-sockopt" -p "$1" | sed 's/^pipe=//'
}

@test "small exchanges are copied and take no pipe; a pipe that a splice fills grows to 256 KB" {
	start_server echo
	start_tcpproxy -w 1 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	# no wait_for_port: its probe is a relay too
	wait_for_log "ready: 1 listeners, 1 workers"
	w=$(pgrep -P "$TP_PID")
	# (valgrind, when it runs us, holds pipes of its own)
	base=$(pipes_of "$w")
	for i in 1 2 3; do
		run_timeout 10 "$TBIN/tp-client" -m echo -n 1000 127.0.0.1 "$P"
		[ "$output" = "ok 1000" ]
	done
	small=$(pipes_of "$w")
	run_timeout 60 "$TBIN/tp-client" -m echo -n 20000000 127.0.0.1 "$P"
	[ "$output" = "ok 20000000" ]
	echo "pipe ends: $base at start, $small after 3 x 1000 B;" \
	    "after 20 MB: $(pipe_sizes "$w" | sort | uniq -c | tr '\n' ' ')" >&2
	[ "$small" -eq "$base" ]
	if [[ ${TP_EXTRA_ARGS:-} == *--no-splice* ]]; then
		[ "$(pipes_of "$w")" -eq "$base" ]
		return
	fi
	pipe_sizes "$w" | grep -qx 262144
}

# spliced_after SIZE BYTES: a BYTES echo through a proxy with -b SIZE;
# SPLICED=yes when it left a pooled pipe in the worker, no otherwise
spliced_after() {
	local w base i
	start_tcpproxy -w 1 -b "$1" -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_log "ready: 1 listeners, 1 workers"
	w=$(pgrep -P "$TP_PID")
	base=$(pipes_of "$w")
	run_timeout 10 "$TBIN/tp-client" -m echo -n "$2" 127.0.0.1 "$P"
	[ "$output" = "ok $2" ]
	# a relay's empty pipe is pooled when the relay ends
	SPLICED=no
	for i in $(seq 40); do
		(( $(pipes_of "$w") > base )) && { SPLICED=yes; return 0; }
		sleep 0.05
	done
}

# SPLICED says yes, unless this is the copy-path rerun (--no-splice)
spliced_unless_copying() {
	if [[ ${TP_EXTRA_ARGS:-} == *--no-splice* ]]; then
		[ "$SPLICED" = no ]
	else
		[ "$SPLICED" = yes ]
	fi
}

@test "a direction splices once one read fills a buffer smaller than 16 KB" {
	start_server echo
	# -b 1: the first byte read fills the buffer
	spliced_after 1 1000
	spliced_unless_copying
}

@test "with a buffer of 16 KB or more, reads under 16 KB are copied" {
	start_server echo
	# every read of a 12,000 B message is under 16 KB, and under -b
	spliced_after 64k 12000
	[ "$SPLICED" = no ]
}

@test "with a buffer over 16 KB, a read of 16 KB or more starts splicing" {
	start_server echo
	# 60,000 B never fill a 64 KB buffer, so only the 16 KB rule
	# splices them: over loopback they come in one piece or a few
	spliced_after 64k 60000
	spliced_unless_copying
}

@test "a worker grows at most 32 pipes, however many bulk relays wait on slow readers" {
	[[ ${TP_EXTRA_ARGS:-} != *--no-splice* ]] || skip "the copy path uses no pipe"
	start_server blob -n 50000000
	start_tcpproxy -w 1 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	# no wait_for_port: its probe would be a relay of the blob
	wait_for_log "ready: 1 listeners, 1 workers"
	w=$(pgrep -P "$TP_PID")
	# each slow reader keeps its relay's pipe full, hence held
	for i in $(seq 48); do
		setsid "$TBIN/tp-client" -m slowverify -n 50000000 -b 1000 -d 2000 -T 60 \
		    127.0.0.1 "$P" </dev/null >/dev/null 2>&1 3>&- &
		register_pid $!
	done
	for i in $(seq 200); do
		(( $(pipe_sizes "$w" | wc -l) >= 96 )) && break
		sleep 0.05
	done
	sizes=$(pipe_sizes "$w" | sort | uniq -c | tr '\n' ' ')
	echo "pipe ends by size: $sizes" >&2
	(( $(pipe_sizes "$w" | wc -l) >= 96 ))
	# each pipe has two ends
	grown=$(pipe_sizes "$w" | grep -cx 262144)
	((grown > 0 && grown <= 64))
}

@test "past the user's pipe-user-pages-soft, pipes stay small and every byte arrives" {
	[[ ${TP_EXTRA_ARGS:-} != *--no-splice* ]] || skip "the copy path uses no pipe"
	(( EUID == 0 )) || skip "needs root to lower fs.pipe-user-pages-soft"
	SAVED_PIPE_SOFT=$(cat /proc/sys/fs/pipe-user-pages-soft)
	echo 1 >/proc/sys/fs/pipe-user-pages-soft
	start_server echo
	start_tcpproxy -w 1 -u nobody -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_port "$P"
	w=$(pgrep -P "$TP_PID")
	run_timeout 60 "$TBIN/tp-client" -m echo -n 3000000 127.0.0.1 "$P"
	[ "$output" = "ok 3000000" ]
	# a pipe made past the limit has two pages, and may not grow
	# (valgrind, when it runs us, holds 64 KB pipes of its own)
	wait_for_log "cannot grow a pipe: Operation not permitted"
	pipe_sizes "$w" | grep -qx 8192
	! pipe_sizes "$w" | grep -qx 262144 || false
}

@test "the chosen event loop is the one used: epoll on Linux unless --no-epoll" {
	start_server echo
	start_tcpproxy -w 1 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_log "ready"
	run_timeout 10 "$TBIN/tp-client" -m echo -n 1000 127.0.0.1 "$P"
	[ "$output" = "ok 1000" ]
	w=$(pgrep -P "$TP_PID")
	n=$(find "/proc/$w/fd" -lname "anon_inode:\[eventpoll\]" | wc -l)
	if [[ ${TP_EXTRA_ARGS:-} == *--no-epoll* ]]; then
		[ "$n" -eq 0 ]
		grep -q "worker 1: waiting with poll$" "$TP_LOG"
	else
		[ "$n" -eq 1 ]
		grep -q "worker 1: waiting with epoll$" "$TP_LOG"
	fi
}

@test "a worker that cannot make its epoll set waits with poll instead, and relays" {
	[[ ${TP_EXTRA_ARGS:-} != *--no-epoll* ]] || skip "poll is the choice already"
	start_server echo
	# every epoll_create1(2) of the daemon fails, as when out of descriptors
	start_tcpproxy_via strace -D -f -o /dev/null -e trace=epoll_create1 \
	    -e inject=epoll_create1:error=EMFILE -- \
	    -w 1 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_port "$P"
	run_timeout 20 "$TBIN/tp-client" -m echo -n 1000000 127.0.0.1 "$P"
	[ "$output" = "ok 1000000" ]
	wait_for_log "worker 1: waiting with poll$"
	w=$(pgrep -P "$TP_PID")
	[ "$(find "/proc/$w/fd" -lname "anon_inode:\[eventpoll\]" | wc -l)" -eq 0 ]
	! grep -q "killed by signal\|exited with status" "$TP_LOG" || false
}
