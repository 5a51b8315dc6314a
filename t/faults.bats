#!/usr/bin/env bats
# Hostile and broken peers: each fault hits only the connections it
# belongs to, and every other connection's bytes arrive intact.

load helper

setup() {
	free_ports 3
	P=${PORTS[0]} P2=${PORTS[1]} P3=${PORTS[2]}
	CONF=$BATS_TEST_TMPDIR/t.conf
}

rss_kb() {
	awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status"
}

@test "a backend that resets mid-transfer hurts only its own connection" {
	start_server echo
	echo_port=$SERVER_PORT
	start_server reset -n 200000
	printf 'listen 127.0.0.1 %s { remote: 127.0.0.1 %s; };\nlisten 127.0.0.1 %s { remote: 127.0.0.1 %s; };\n' \
	    "$P" "$echo_port" "$P2" "$SERVER_PORT" >"$CONF"
	start_tcpproxy -w 1 -c "$CONF"
	wait_for_log "ready"
	setsid "$TBIN/tp-client" -m echo -n 20000000 -T 60 127.0.0.1 "$P" \
	    </dev/null >"$BATS_TEST_TMPDIR/good.out" 2>&1 3>&- &
	good=$!
	register_pid $good
	run_timeout 20 "$TBIN/tp-client" -m echo -n 5000000 127.0.0.1 "$P2"
	[ "$status" -ne 0 ]
	wait_for_log "close listener=127.0.0.1:$P2 .*reason=reset"
	wait "$good"
	[ "$(cat "$BATS_TEST_TMPDIR/good.out")" = "ok 20000000" ]
}

@test "a backend that accepts and never answers ties up nothing else" {
	start_server echo
	echo_port=$SERVER_PORT
	start_server hang
	printf 'listen 127.0.0.1 %s { remote: 127.0.0.1 %s; };\nlisten 127.0.0.1 %s { remote: 127.0.0.1 %s; fin-timeout: 1; };\n' \
	    "$P" "$echo_port" "$P2" "$SERVER_PORT" >"$CONF"
	start_tcpproxy -w 1 -c "$CONF"
	wait_for_log "ready"
	hold_clients 5 "$P2"
	run_timeout 20 "$TBIN/tp-load" -c 50 -n 10000 127.0.0.1 "$P"
	[ "${lines[-1]}" = "ok 50" ]
	# a client that gives up on it is let go after fin-timeout
	run_timeout 20 "$TBIN/tp-client" -m read -T 15 127.0.0.1 "$P2"
	[ "$status" -eq 0 ]
	wait_for_log "reason=fin-timeout"
}

@test "2000 idle clients (slowloris) do not starve 50 working ones" {
	start_server echo
	TP_LOGLEVEL=3 start_tcpproxy -w 2 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_port "$P"
	setsid "$TBIN/tp-load" -H -c 2000 -T 120 127.0.0.1 "$P" \
	    </dev/null >"$BATS_TEST_TMPDIR/idle.out" 2>&1 3>&- &
	register_pid $!
	wait_for_log "^established 2000$" "$BATS_TEST_TMPDIR/idle.out" 60
	run_timeout 60 "$TBIN/tp-load" -c 50 -n 100000 -T 50 127.0.0.1 "$P"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "ok 50" ]
}

@test "a client that never reads cannot make the proxy buffer more than -b each way" {
	start_server echo
	start_tcpproxy -w 1 -b 64k -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_port "$P"
	w=$(pgrep -P "$TP_PID")
	before=$(rss_kb "$w")
	run_timeout 60 "$TBIN/tp-client" -m flood -n 500000000 -T 50 127.0.0.1 "$P"
	[ "$status" -eq 0 ]
	sent=${output#sent }
	# flow control stopped the client long before 500 MB
	[ "$sent" -lt 100000000 ]
	after=$(rss_kb "$w")
	[ $((after - before)) -lt 4096 ]
	# everyone else is still served
	run_timeout 20 "$TBIN/tp-client" -m echo -n 1000000 127.0.0.1 "$P"
	[ "$output" = "ok 1000000" ]
}

# local_port FD: the local port of this shell's socket FD
local_port() {
	local ino hex
	ino=$(readlink "/proc/$$/fd/$1" | tr -dc '0-9')
	hex=$(awk -v i="$ino" '$10 == i { split($2, a, ":"); print a[2] }' /proc/net/tcp)
	echo $((16#$hex))
}

@test "kill -9 of a worker loses only that worker's connections" {
	start_server echo
	start_tcpproxy -w 2 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_port "$P"
	fds=()
	for i in $(seq 12); do
		exec {fd}<>"/dev/tcp/127.0.0.1/$P"
		fds+=("$fd")
	done
	declare -A owner
	for fd in "${fds[@]}"; do
		port=$(local_port "$fd")
		wait_for_log "worker [12]: relay [0-9]+: new client 127.0.0.1:$port "
		owner[$fd]=$(grep -E "relay [0-9]+: new client 127.0.0.1:$port " "$TP_LOG" | sed -E 's/.*worker ([12]):.*/\1/')
	done
	victim_id=1
	victim=$(grep -E "started worker 1, pid" "$TP_LOG" | tail -1 | sed -E 's/.*pid ([0-9]+).*/\1/')
	kill -9 "$victim"
	wait_for_log "worker 1 \(pid $victim\) killed by signal 9"
	alive=0 lost=0
	for fd in "${fds[@]}"; do
		line=
		printf 'ping %s\n' "$fd" >&"$fd" 2>/dev/null || true
		read -t 5 -r line <&"$fd" || true
		if [ "${owner[$fd]}" = "$victim_id" ]; then
			[ "$line" != "ping $fd" ]
			lost=$((lost + 1))
		else
			[ "$line" = "ping $fd" ]
			alive=$((alive + 1))
		fi
		exec {fd}>&-
	done
	echo "alive=$alive lost=$lost"
	[ $((alive + lost)) -eq 12 ]
}

# listen_inodes PID PORT: the inodes of PID's listening sockets on PORT
listen_inodes() {
	local hex ino
	hex=$(printf '%04X' "$2")
	for ino in $(find "/proc/$1/fd" -lname 'socket:*' -printf '%l\n' 2>/dev/null | tr -dc '0-9\n'); do
		awk -v i="$ino" -v p=":$hex" '$10 == i && $4 == "0A" &&
		    substr($2, length($2) - 4) == p { print i }' /proc/net/tcp
	done | sort
}

@test "each worker accepts from a socket of its own; a dead worker's goes with it" {
	start_server echo
	start_tcpproxy -w 2 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_port "$P"
	pid1=$(grep -E "started worker 1, pid" "$TP_LOG" | tail -1 | sed -E 's/.*pid ([0-9]+).*/\1/')
	pid2=$(grep -E "started worker 2, pid" "$TP_LOG" | tail -1 | sed -E 's/.*pid ([0-9]+).*/\1/')
	s1=$(listen_inodes "$pid1" "$P") s2=$(listen_inodes "$pid2" "$P")
	# one each, not the same, and the master holds exactly these two
	[ "$(echo "$s1" | wc -l)" -eq 1 ] && [ "$(echo "$s2" | wc -l)" -eq 1 ]
	[ "$s1" != "$s2" ]
	[ "$(listen_inodes "$TP_PID" "$P" | tr '\n' ' ')" = "$(printf '%s\n' "$s1" "$s2" | sort | tr '\n' ' ')" ]
	# both get clients
	for i in $(seq 40); do
		run_timeout 10 "$TBIN/tp-client" -m echo -n 10 127.0.0.1 "$P"
		[ "$output" = "ok 10" ]
	done
	wait_for_count 40 "relay [0-9]+: close .*reason=eof"
	grep -q "worker 1: relay [0-9]*: new client" "$TP_LOG"
	grep -q "worker 2: relay [0-9]*: new client" "$TP_LOG"

	kill -9 "$pid1"
	wait_for_log "worker 1 \(pid $pid1\) killed by signal 9"
	wait_for_count 2 "started worker 1, pid"
	wait_for_count 2 "worker 1: now serving"
	new1=$(grep -E "started worker 1, pid" "$TP_LOG" | tail -1 | sed -E 's/.*pid ([0-9]+).*/\1/')
	n1=$(listen_inodes "$new1" "$P")
	# the replacement has a new socket; the dead one's is closed everywhere
	[ "$(echo "$n1" | wc -l)" -eq 1 ]
	[ "$n1" != "$s1" ]
	[ "$(listen_inodes "$TP_PID" "$P" | tr '\n' ' ')" = "$(printf '%s\n' "$n1" "$s2" | sort | tr '\n' ' ')" ]
	[ -z "$(awk -v i="$s1" '$10 == i' /proc/net/tcp)" ]
	for i in $(seq 20); do
		run_timeout 10 "$TBIN/tp-client" -m echo -n 10 127.0.0.1 "$P"
		[ "$output" = "ok 10" ]
	done
}
