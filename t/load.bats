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
