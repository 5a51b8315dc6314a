#!/usr/bin/env bats
# Many connections at once: no FD_SETSIZE ceiling, a listen backlog
# sized for bursts, every connection's bytes intact.

load helper

setup() {
	free_ports 1
	P=${PORTS[0]}
}

@test "3000 concurrent connections are all held, then all echo their bytes" {
	start_server echo
	TP_LOGLEVEL=3 start_tcpproxy -w 2 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_port "$P"
	run_timeout 120 "$TBIN/tp-load" -c 3000 -n 256 -T 110 127.0.0.1 "$P"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "established 3000" ]
	[ "${lines[-1]}" = "ok 3000" ]
}

@test "a burst of connects is not refused or dropped by a small backlog" {
	start_server echo
	TP_LOGLEVEL=3 start_tcpproxy -w 1 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_port "$P"
	# ss shows a listener's backlog as its Send-Q (the original's was 0)
	backlog=$(ss -ltnH "sport = :$P" | awk '{ print $3 }')
	[ "$backlog" -ge 1024 ]
	run_timeout 60 "$TBIN/tp-load" -c 1000 -n 16 -T 50 127.0.0.1 "$P"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "ok 1000" ]
}

# cpu_ticks PID: user + system clock ticks PID has used
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

@test "at the descriptor limit new clients wait in the queue; nothing dies or spins" {
	start_server echo
	# 32 descriptors leave room for (32 - 16) / 2 = 8 connections
	start_tcpproxy_via prlimit --nofile=32:32 -- -w 1 \
	    -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_log "ready"
	hold_clients 8 "$P"
	wait_for_count 8 "relay [0-9]+: new client"
	admitted=("${HOLDERS[@]}")
	hold_clients 4 "$P"
	wait_for_log "8 connections open, as many as the descriptor limit allows"
	sleep 0.5
	[ "$(grep -c 'relay [0-9]*: new client' "$TP_LOG")" -eq 8 ]
	[ "$(grep -c 'as many as the descriptor limit allows' "$TP_LOG")" -eq 1 ]
	# paused, not spinning: far less than a second of CPU in a second
	w=$(pgrep -P "$TP_PID")
	t0=$(cpu_ticks "$w")
	sleep 1
	t1=$(cpu_ticks "$w")
	[ $((t1 - t0)) -lt 30 ]
	# four leave, the four that waited are served
	kill "${admitted[@]:0:4}"
	wait_for_count 12 "relay [0-9]+: new client"
	kill "${admitted[@]:4:4}"
	run_timeout 10 "$TBIN/tp-client" -m echo -n 10000 127.0.0.1 "$P"
	[ "$output" = "ok 10000" ]
	kill -0 "$TP_PID"
}
