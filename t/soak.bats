#!/usr/bin/env bats
# The soak (make soak runs it for a minute): a short run passes, and a
# worker killed behind tp-soak's back is caught, so that a proxy which
# cut or garbled connections could not pass it.

load helper

setup() {
	free_ports 2
	P=${PORTS[0]} S=${PORTS[1]}
}

@test "a short soak: reloads and worker kills lose no connection that should survive" {
	SOAK_SECONDS=4 run_timeout 120 t/soak.sh
	echo "$output"
	[ "$status" -eq 0 ]
	[[ ${lines[-1]} == "soak: ok: 4 s, "* ]]
	[[ $output =~ worker\ kills,\ [0-9]+\ cut\ by\ them,\ 0\ failures ]]
}

@test "tp-soak counts the connections a kill it did not make cuts short as failures" {
	start_tcpproxy -w 1 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$S"
	wait_for_log "ready: 1 listeners, 1 workers"
	(sleep 2; pkill -KILL -P "$TP_PID") &
	register_pid $!
	run_timeout 60 "$TBIN/tp-soak" -c 50 -t 4 "$S" 127.0.0.1 "$P"
	[ "$status" -eq 1 ]
	[[ $output == *"FAIL "*" end: "* ]]
	[[ ${lines[-1]} =~ ,\ 0\ worker\ kills,\ 0\ cut\ by\ them,\ [1-9][0-9]*\ failures$ ]]
}
