#!/usr/bin/env bats
# Log targets: levels, files, flushing, rotation; workers' records reach
# the master's targets.

load helper

setup() {
	free_ports 1
	P=${PORTS[0]}
}

@test "file targets: each with its own level, workers' records included" {
	start_server echo
	start_tcpproxy -w 2 -L "file:3,$BATS_TEST_TMPDIR/notice.log" -L "file:4,$BATS_TEST_TMPDIR/info.log" \
	    -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_port "$P"
	run_timeout 10 "$TBIN/tp-client" -m echo -n 100 127.0.0.1 "$P"
	wait_for_log "INFO: worker [12]: relay [0-9]+: close .*sent=100 received=100" "$BATS_TEST_TMPDIR/info.log"
	grep -q "NOTICE: master: ready" "$BATS_TEST_TMPDIR/notice.log"
	! grep -q "INFO:" "$BATS_TEST_TMPDIR/notice.log" || false
	! grep -q "DEBUG:" "$BATS_TEST_TMPDIR/info.log" || false
	# the line format: ctime-like stamp, level, process, message
	grep -Eq "^[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} [0-9]{4} NOTICE: master: ready" "$BATS_TEST_TMPDIR/notice.log"
}

@test "stdout lines are written as they happen, never buffered" {
	start_server echo
	setsid "$TCPPROXY" -U -w 1 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT" \
	    </dev/null >"$TP_LOG" 2>/dev/null 3>&- &
	TP_PID=$!
	register_pid "$TP_PID"
	wait_for_log "NOTICE: master: ready"
	run_timeout 10 "$TBIN/tp-client" -m echo -n 10 127.0.0.1 "$P"
	wait_for_log "DEBUG|INFO: worker 1: relay 1: close"
	stop_tcpproxy
	[ "$(grep -c "NOTICE: master: ready" "$TP_LOG")" -eq 1 ]
	grep -q "shutdown complete" "$TP_LOG"
}

@test "daemon: relative log and pid file names keep working after chdir /" {
	start_server echo
	cd "$BATS_TEST_TMPDIR"
	run_timeout 20 "$TCPPROXY" -w 1 -P rel.pid -L file:5,rel.log -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	[ "$status" -eq 0 ]
	pid=$(cat rel.pid)
	register_pid "$pid"
	kill -HUP "$pid"
	wait_for_log "log files reopened" "$BATS_TEST_TMPDIR/rel.log"
	[ ! -e /rel.log ]
	kill -TERM "$pid"
	wait_gone "$pid"
	[ ! -e "$BATS_TEST_TMPDIR/rel.pid" ]
	grep -q "shutdown complete" "$BATS_TEST_TMPDIR/rel.log"
}

@test "SIGHUP reopens log files, so rotation works" {
	start_server echo
	log=$BATS_TEST_TMPDIR/rot.log
	start_tcpproxy -w 1 -L "file:4,$log" -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_port "$P"
	wait_for_log "ready" "$log"
	mv "$log" "$log.1"
	kill -HUP "$TP_PID"
	wait_for_log "log files reopened" "$log"
	run_timeout 10 "$TBIN/tp-client" -m echo -n 10 127.0.0.1 "$P"
	wait_for_log "relay [0-9]+: close .*sent=10 received=10" "$log"
	! grep -q "sent=10 received=10" "$log.1" || false
}
