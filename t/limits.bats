#!/usr/bin/env bats
# Timeouts and limits: connect, idle and half-close timeouts; connection
# caps per listener and per source, enforced across all workers.

load helper

setup() {
	free_ports 2
	P=${PORTS[0]} P2=${PORTS[1]}
	CONF=$BATS_TEST_TMPDIR/t.conf
}

teardown() {
	# take away a route a test added
	if [[ -n ${ROUTE_ADDED:-} ]]; then
		ip route del table local local "$ROUTE_ADDED" dev lo || true
	fi
	helper_teardown
}

@test "connect-timeout: a remote that never answers is given up on" {
	start_server blackhole
	printf 'listen 127.0.0.1 %s {\n remote: 127.0.0.1 %s;\n connect-timeout: 1;\n};\n' "$P" "$SERVER_PORT" >"$CONF"
	start_tcpproxy -w 1 -c "$CONF"
	wait_for_log "ready"
	run_timeout 20 "$TBIN/tp-client" -m hold -T 15 127.0.0.1 "$P"
	[ "$status" -eq 0 ]
	[ "$output" = closed ]
	wait_for_log "connect to 127.0.0.1:$SERVER_PORT failed: Connection timed out"
	wait_for_log "reason=connect-failed"
}

@test "connect-timeout moves on to the next remote address" {
	printf '127.0.0.1 dual.test\n::1 dual.test\n' >"$BATS_TEST_TMPDIR/hosts"
	# getaddrinfo puts ::1 first: it never answers, 127.0.0.1 does
	start_server blackhole -l ::1
	bh=$SERVER_PORT
	start_server echo -l 127.0.0.1 -p "$bh"
	printf 'listen 127.0.0.1 %s {\n remote: dual.test %s;\n connect-timeout: 1;\n};\n' "$P" "$bh" >"$CONF"
	start_tcpproxy_via "${WITH_HOSTS[@]}" "$BATS_TEST_TMPDIR/hosts" -- -w 1 -c "$CONF"
	wait_for_log "ready"
	run_timeout 20 "$TBIN/tp-client" -m echo -n 1000 127.0.0.1 "$P"
	[ "$output" = "ok 1000" ]
	wait_for_log "connect to \[::1\]:$bh failed: Connection timed out"
	wait_for_log "connected to 127.0.0.1:$bh"
}

@test "idle-timeout closes a connection that moves no bytes; off by default" {
	start_server echo
	printf 'listen 127.0.0.1 %s {\n remote: 127.0.0.1 %s;\n idle-timeout: 1;\n};\nlisten 127.0.0.1 %s {\n remote: 127.0.0.1 %s;\n};\n' \
	    "$P" "$SERVER_PORT" "$P2" "$SERVER_PORT" >"$CONF"
	start_tcpproxy -w 1 -c "$CONF"
	wait_for_log "ready"
	run_timeout 20 "$TBIN/tp-client" -m hold -T 15 127.0.0.1 "$P"
	[ "$output" = closed ]
	wait_for_log "reason=idle-timeout"
	# no idle timeout on the other listener: still open after 3 s
	run_timeout 10 "$TBIN/tp-client" -m hold -T 3 127.0.0.1 "$P2"
	[ "$status" -eq 2 ]
}

@test "--idle-timeout on the command line is the default for every stanza" {
	start_server echo
	start_tcpproxy -w 1 --idle-timeout 1 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_log "ready"
	run_timeout 20 "$TBIN/tp-client" -m hold -T 15 127.0.0.1 "$P"
	[ "$output" = closed ]
	wait_for_log "reason=idle-timeout"
}

@test "fin-timeout closes a half-closed connection the other side never ends" {
	start_server hang
	printf 'listen 127.0.0.1 %s {\n remote: 127.0.0.1 %s;\n fin-timeout: 1;\n};\n' "$P" "$SERVER_PORT" >"$CONF"
	start_tcpproxy -w 1 -c "$CONF"
	wait_for_log "ready"
	# read mode half-closes at once, then waits for EOF
	run_timeout 20 "$TBIN/tp-client" -m read -T 15 127.0.0.1 "$P"
	[ "$status" -eq 0 ]
	[[ $output == "0 "* ]]
	wait_for_log "reason=fin-timeout"
}

@test "max-connections: extra clients wait in the queue, over all workers" {
	start_server echo
	printf 'listen 127.0.0.1 %s {\n remote: 127.0.0.1 %s;\n max-connections: 3;\n};\n' "$P" "$SERVER_PORT" >"$CONF"
	start_tcpproxy -w 2 -c "$CONF"
	wait_for_log "ready: 1 listeners, 2 workers"
	hold_clients 3 "$P"
	wait_for_count 3 "relay [0-9]+: new client"
	admitted=("${HOLDERS[@]}")
	# two more wait in the queue, however long they are given
	hold_clients 2 "$P"
	sleep 1
	[ "$(grep -c 'relay [0-9]*: new client' "$TP_LOG")" -eq 3 ]
	# two of the admitted leave (not two started at the same time as
	# the queued ones: which of those the kernel queues is not known)
	kill "${admitted[@]:0:2}"
	wait_for_count 5 "relay [0-9]+: new client"
	! grep -q "reason=limit" "$TP_LOG" || false
}

@test "max-connections: workers racing for the last place leave the client queued, never refused" {
	start_server echo
	printf 'listen 127.0.0.1 %s {\n remote: 127.0.0.1 %s;\n max-connections: 1;\n};\n' "$P" "$SERVER_PORT" >"$CONF"
	# Every accept4(2) returns 300 ms late, so both workers are inside
	# one at once: a place taken only after the accept would go to two
	# clients, and the second would be accepted and closed.
	start_tcpproxy_via strace -D -f -o /dev/null -e trace=accept4 \
	    -e inject=accept4:delay_exit=300000 -- -w 2 -c "$CONF"
	wait_for_log "ready: 1 listeners, 2 workers"
	hold_clients 8 "$P"
	wait_for_count 1 "relay [0-9]+: new client"
	sleep 2
	[ "$(grep -c 'relay [0-9]*: new client' "$TP_LOG")" -eq 1 ]
	! grep -q "reason=limit" "$TP_LOG" || false
}

@test "max-per-source: counted per source prefix over all workers" {
	start_server echo
	printf 'listen 127.0.0.1 %s {\n remote: 127.0.0.1 %s;\n max-per-source: 2;\n};\n' "$P" "$SERVER_PORT" >"$CONF"
	start_tcpproxy -w 2 -c "$CONF"
	wait_for_log "ready: 1 listeners, 2 workers"
	hold_clients 2 "$P"
	wait_for_count 2 "connected to"
	# a third from 127.0.0.1 is refused, wherever it lands
	for i in 1 2 3; do
		run_timeout 10 "$TBIN/tp-client" -m hold -T 5 127.0.0.1 "$P"
		[ "$output" = closed ]
	done
	wait_for_count 3 "reason=limit"
	grep -q "max-per-source 2 reached" "$TP_LOG"
	# another source is its own count
	run_timeout 10 "$TBIN/tp-client" -s 127.0.0.2 -m echo -n 100 127.0.0.1 "$P"
	[ "$output" = "ok 100" ]
}

@test "policy values are checked with their position" {
	printf 'listen 127.0.0.1 %s {\n remote: 127.0.0.1 1;\n idle-timeout: soon;\n keepalive: maybe;\n max-connections: -1;\n proxy-protocol: v3;\n max-per-source: 1 /200;\n};\n' "$P" >"$CONF"
	run "$TCPPROXY" -n -c "$CONF"
	[ "$status" -eq 1 ]
	[[ $output == *"$CONF:3:16: invalid time 'soon'"* ]]
	[[ $output == *"$CONF:4:13: invalid keepalive 'maybe'"* ]]
	[[ $output == *"$CONF:5:19: invalid number '-1'"* ]]
	[[ $output == *"$CONF:6:18: invalid proxy-protocol 'v3'"* ]]
	[[ $output == *"$CONF:7:20: invalid IPv6 prefix length '/200'"* ]]
	expect_fail_line 1 "^tcpproxy: --connect-timeout: invalid time 'x'" \
	    "$TCPPROXY" -D --connect-timeout x -p "$P" -r 127.0.0.1 -o 1
}

@test "fin-timeout counts silence, not age: a long reply to a half-closed client completes" {
	start_server blob -n 20000000
	printf 'listen 127.0.0.1 %s {\n remote: 127.0.0.1 %s;\n fin-timeout: 1;\n};\n' "$P" "$SERVER_PORT" >"$CONF"
	start_tcpproxy -w 1 -c "$CONF"
	wait_for_log "ready"
	# slowverify half-closes at once, then reads for some seconds
	run_timeout 60 "$TBIN/tp-client" -m slowverify -n 20000000 -b 3000 -d 500 -T 50 127.0.0.1 "$P"
	[ "$output" = "ok 20000000" ]
	! grep -q "reason=fin-timeout" "$TP_LOG" || false
}

@test "on SIGTERM every open connection gets its close line, reason shutdown" {
	start_server echo
	start_tcpproxy -w 2 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_log "ready"
	hold_clients 3 "$P"
	wait_for_count 3 "connected to"
	stop_tcpproxy TERM
	[ "$(grep -c 'reason=shutdown' "$TP_LOG")" -eq 3 ]
	# and they come before the master's last word
	[ "$(tail -1 "$TP_LOG" | grep -c 'shutdown complete')" -eq 1 ]
}

# sockets_of: the TCP options of every connected socket of the one worker
sockets_of() {
	"$TBIN/tp-sockopt" "$(pgrep -P "$TP_PID")" | grep -v "peer=- -"
}

# sockets_settle N REGEX: wait (10 s at most) until N of the worker's
# sockets match, since keepalive is set by the once-a-second sweep;
# leaves the last listing in $output
sockets_settle() {
	local i
	for i in $(seq 100); do
		output=$(sockets_of)
		(($(grep -Ec -- "$2" <<<"$output") == $1)) && return 0
		sleep 0.1
	done
	echo "sockets_settle: not $1 sockets match /$2/:" >&2
	echo "$output" >&2
	return 1
}

@test "after a burst of 600 connections, keepalive reaches them over several sweeps, 256 at most each" {
	start_server echo
	start_tcpproxy -w 1 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_port "$P"
	setsid "$TBIN/tp-load" -H -c 600 -T 120 127.0.0.1 "$P" \
	    </dev/null >"$BATS_TEST_TMPDIR/idle.out" 2>&1 3>&- &
	register_pid $!
	wait_for_log "^established 600$" "$BATS_TEST_TMPDIR/idle.out" 60
	# 601 with wait_for_port's probe, if a sweep caught it
	for i in $(seq 100); do
		n=$(grep -o "sweep: keepalive set on [0-9]* connections" "$TP_LOG" | awk '{ s += $5 } END { print s + 0 }')
		((n >= 600)) && break
		sleep 0.1
	done
	grep "sweep: keepalive set on" "$TP_LOG" >&2
	((n >= 600))
	# no sweep did more than 256
	! grep -o "sweep: keepalive set on [0-9]* connections" "$TP_LOG" | awk '$5 > 256 { bad = 1 } END { exit !bad }' || false
	(( $(grep -c "sweep: keepalive set on" "$TP_LOG") >= 3 ))
}

@test "keepalive: both ends probe at 60/15/4 with TCP_NODELAY; off, and a reload turning it off, leave it off" {
	start_server echo
	printf 'listen 127.0.0.1 %s {\n remote: 127.0.0.1 %s;\n};\nlisten 127.0.0.1 %s {\n remote: 127.0.0.1 %s;\n keepalive: off;\n};\n' \
	    "$P" "$SERVER_PORT" "$P2" "$SERVER_PORT" >"$CONF"
	start_tcpproxy -w 1 -c "$CONF"
	wait_for_log "ready"
	exec 5<>"/dev/tcp/127.0.0.1/$P" 6<>"/dev/tcp/127.0.0.1/$P2"
	printf 'a\n' >&5; read -t 10 -r x <&5; [ "$x" = a ]
	printf 'b\n' >&6; read -t 10 -r x <&6; [ "$x" = b ]
	on="nodelay=1 keepalive=1 idle=60 intvl=15 cnt=4"
	sockets_settle 2 "$on"
	# through P: the client's end and the remote's end
	[[ $output =~ local=127\.0\.0\.1\ $P\ peer=127\.0\.0\.1\ [0-9]+\ $on ]]
	[ "$(grep -Ec "peer=127\.0\.0\.1 $SERVER_PORT nodelay=1 keepalive=1 idle=60 intvl=15 cnt=4" <<<"$output")" -eq 1 ]
	# through P2: no keepalive on either end, still no Nagle
	[[ $output =~ local=127\.0\.0\.1\ $P2\ peer=127\.0\.0\.1\ [0-9]+\ nodelay=1\ keepalive=0 ]]
	[ "$(grep -Ec "peer=127\.0\.0\.1 $SERVER_PORT nodelay=1 keepalive=0" <<<"$output")" -eq 1 ]

	# the reload keeps P's socket but turns keepalive off: new
	# connections have none, the open one keeps its probes; and the
	# other way round for P2
	printf 'listen 127.0.0.1 %s {\n remote: 127.0.0.1 %s;\n keepalive: off;\n};\nlisten 127.0.0.1 %s {\n remote: 127.0.0.1 %s;\n};\n' \
	    "$P" "$SERVER_PORT" "$P2" "$SERVER_PORT" >"$CONF"
	kill -HUP "$TP_PID"
	wait_for_log "reload complete: generation 2, 2 listeners kept"
	exec 7<>"/dev/tcp/127.0.0.1/$P"
	printf 'c\n' >&7; read -t 10 -r x <&7; [ "$x" = c ]
	exec 8<>"/dev/tcp/127.0.0.1/$P2"
	printf 'd\n' >&8; read -t 10 -r x <&8; [ "$x" = d ]
	# both ends of the first and the last connection: once the sweep
	# has set the last one's, it has passed the one through P too
	sockets_settle 4 "$on"
	[ "$(grep -Ec "local=127\.0\.0\.1 $P peer=127\.0\.0\.1 [0-9]+ $on" <<<"$output")" -eq 1 ]
	[ "$(grep -Ec "local=127\.0\.0\.1 $P peer=127\.0\.0\.1 [0-9]+ nodelay=1 keepalive=0" <<<"$output")" -eq 1 ]
	[ "$(grep -Ec "local=127\.0\.0\.1 $P2 peer=127\.0\.0\.1 [0-9]+ $on" <<<"$output")" -eq 1 ]
	# remote ends: the first and the last with probes, the others none
	[ "$(grep -Ec "peer=127\.0\.0\.1 $SERVER_PORT $on" <<<"$output")" -eq 2 ]
	[ "$(grep -Ec "peer=127\.0\.0\.1 $SERVER_PORT nodelay=1 keepalive=0" <<<"$output")" -eq 2 ]
	exec 5>&- 6>&- 7>&- 8>&-
}

@test "tcpproxy sets no congestion control: a route's congctl reaches both sockets of a relay" {
	[ "$(id -u)" -eq 0 ] || skip "adding a route needs root"
	# 127.0.0.77 gets a route of its own with reno; 127.0.0.1 keeps the
	# system's default, which is never reno
	ip route add table local local 127.0.0.77 dev lo proto kernel \
	    scope host src 127.0.0.77 congctl reno
	ROUTE_ADDED=127.0.0.77
	default=$(cat /proc/sys/net/ipv4/tcp_congestion_control)
	[ "$default" != reno ]
	start_server echo -l 127.0.0.77
	printf 'listen 127.0.0.77 %s { remote: 127.0.0.77 %s; };\nlisten 127.0.0.1 %s { remote: 127.0.0.77 %s; };\n' \
	    "$P" "$SERVER_PORT" "$P2" "$SERVER_PORT" >"$CONF"
	start_tcpproxy -w 1 -c "$CONF"
	wait_for_log "ready"
	hold_clients 1 "$P" 60 127.0.0.77
	hold_clients 1 "$P2"
	wait_for_count 2 "connected to"
	run sockets_of
	echo "$output"
	[ "${#lines[@]}" -eq 4 ]
	# the relay on 127.0.0.77: client and remote side both reno
	[ "$(grep -Ec "local=127\.0\.0\.77 $P .* cc=reno$" <<<"$output")" -eq 1 ]
	# the relay on 127.0.0.1: its client side has the default, its
	# remote side (to 127.0.0.77) reno
	[ "$(grep -Ec "local=127\.0\.0\.1 $P2 .* cc=$default$" <<<"$output")" -eq 1 ]
	[ "$(grep -Ec "peer=127\.0\.0\.77 $SERVER_PORT .* cc=reno$" <<<"$output")" -eq 2 ]
}
