#!/usr/bin/env bats
# Clients queued on a dead worker's socket: the kernel hands them to the
# other workers of the SO_REUSEPORT group instead of resetting them.

load helper

NCLIENTS=30

setup() {
	free_ports 1
	P=${PORTS[0]}
}

teardown() {
	helper_teardown
	[ -z "${D:-}" ] || rm -rf "$D"
}

# queue_behind_stuck_worker: -w 2, one worker stopped, NCLIENTS echo
# clients started; those the kernel put in the stopped worker's queue
# wait there.  STUCK=its pid, CLIENTS=(the clients' pids), each writing
# its result to $BATS_TEST_TMPDIR/client.N.
queue_behind_stuck_worker() {
	local i
	start_server echo
	start_tcpproxy -w 2 "$@" -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_port "$P"
	wait_workers "$TP_PID" 2
	STUCK=$(workers_of "$TP_PID" | head -1)
	kill -STOP "$STUCK"
	CLIENTS=()
	for ((i = 0; i < NCLIENTS; i++)); do
		"$TBIN/tp-client" -m echo -T 30 -n 5000 127.0.0.1 "$P" \
		    >"$BATS_TEST_TMPDIR/client.$i" 2>&1 </dev/null 3>&- &
		CLIENTS+=($!)
		register_pid $!
	done
}

# wait_queued N: a listening socket on $P holds N clients not accepted
wait_queued() {
	local i q
	for ((i = 0; i < 200; i++)); do
		q=$(ss -Hltn "sport = :$P" | awk '{ if ($2 > m) m = $2 } END { print m + 0 }')
		((q >= $1)) && return 0
		sleep 0.05
	done
	echo "wait_queued: $q of $1 clients queued on port $P" >&2
	ss -ltn "sport = :$P" >&2
	return 1
}

# every_client_served: all NCLIENTS echoed their 5000 bytes
every_client_served() {
	local i
	wait "${CLIENTS[@]}" || true
	for ((i = 0; i < NCLIENTS; i++)); do
		echo "client $i: $(cat "$BATS_TEST_TMPDIR/client.$i")"
		[ "$(cat "$BATS_TEST_TMPDIR/client.$i")" = "ok 5000" ]
	done
}

@test "a killed worker's queued clients are served by the other worker, not reset" {
	queue_behind_stuck_worker --watchdog-timeout 0
	# Some of them wait in the stopped worker's accept queue.
	wait_queued 5
	kill -KILL "$STUCK"
	every_client_served
	wait_replaced "$TP_PID" "$STUCK" 2
	! grep -q "migration program" "$TP_LOG" || false
}

@test "a worker the watchdog kills hands its queue over too, with -u nobody" {
	queue_behind_stuck_worker --watchdog-timeout 1s -u nobody
	wait_for_log "worker [12] \(pid $STUCK\) killed by signal 9"
	every_client_served
}

@test "a master that may not load the program says so once, unless the host migrates" {
	start_server echo
	D=$(mktemp -d /tmp/tp-migrate.XXXXXX)
	chmod 0755 "$D"
	cat >"$D/c.conf" <<-EOF
	listen 127.0.0.1 $P { remote: 127.0.0.1 $SERVER_PORT; };
	listen 127.0.0.1 $((P + 1)) { remote: 127.0.0.1 $SERVER_PORT; };
	EOF
	# Not root and no capability at all: the program cannot be loaded.
	start_tcpproxy_via setpriv --reuid=daemon --regid=daemon --init-groups \
	    --inh-caps=-all --bounding-set=-all -- -w 2 -S none -c "$D/c.conf"
	wait_for_port "$P"
	wait_workers "$TP_PID" 2
	"$TBIN/tp-client" -m echo -n 100 127.0.0.1 "$P"
	# A reload builds the table again: still one notice in all.
	echo "listen 127.0.0.1 $((P + 2)) { remote: 127.0.0.1 $SERVER_PORT; };" >>"$D/c.conf"
	kill -HUP "$TP_PID"
	wait_for_log "reload complete"
	"$TBIN/tp-client" -m echo -n 100 127.0.0.1 "$((P + 2))"
	cat "$TP_LOG"
	if [ "$(cat /proc/sys/net/ipv4/tcp_migrate_req)" = 1 ]; then
		! grep -q "migration program" "$TP_LOG" || false
	else
		[ "$(grep -c "cannot attach the migration program: Operation not permitted; net.ipv4.tcp_migrate_req=1" "$TP_LOG")" = 1 ]
	fi
}
