#!/usr/bin/env bats
# The hitless upgrade (tcpproxyctl upgrade, SIGURG): a new master takes
# over every socket; no client is refused or reset, open connections
# finish on the old one.

load helper

CTL=${TCPPROXYCTL:-$TOP/tcpproxyctl}

setup() {
	free_ports 2
	P1=${PORTS[0]} P2=${PORTS[1]}
	CONF=$(cd "$BATS_TEST_TMPDIR" && pwd -P)/tcpproxy.conf
	SOCK=$BATS_TEST_TMPDIR/ctl.sock
	PIDF=$BATS_TEST_TMPDIR/tp.pid
	# the binary the daemon runs, which a test may replace
	BIN=$BATS_TEST_TMPDIR/tcpproxy
	cp "$TCPPROXY" "$BIN"
	start_server echo
	printf 'listen 127.0.0.1 %s {\n\tremote: 127.0.0.1 %s;\n};\n' \
	    "$P1" "$SERVER_PORT" >"$CONF"
}

teardown() {
	exec 5>&- 2>/dev/null || true
	touch "$BATS_TEST_TMPDIR/stop"
	# every master that ever ran, old ones still draining included
	pkill -f -- "-S $SOCK" 2>/dev/null || true
	helper_teardown
}

# start ARGS...: the copied binary, with a control socket and pid file
start() {
	local TCPPROXY=$BIN
	start_tcpproxy -S "$SOCK" -P "$PIDF" -c "$CONF" "$@"
	wait_for_port "$P1"
}

ctl() {
	run_timeout 30 "$CTL" -s "$SOCK" "$@"
}

# upgrade N: N upgrades through tcpproxyctl, each checked
upgrade() {
	local i old new
	for ((i = 0; i < $1; i++)); do
		old=$(cat "$PIDF")
		ctl upgrade
		if [[ $status -ne 0 ]]; then
			echo "upgrade $i: $output" >&2
			return 1
		fi
		new=$(cat "$PIDF")
		[[ $output == "upgraded: pid $old -> pid $new" ]] || {
			echo "upgrade $i: '$output', pid file $new" >&2
			return 1
		}
	done
}

# load_start: echo connections one after another until the stop file
# appears; each result, "ok 2000" or the failure, a line of load.out
load_start() {
	setsid bash -c '
		while [[ ! -e $1/stop ]]; do
			"$2" -m echo -n 2000 -T 10 127.0.0.1 "$3" >>"$1/load.out" 2>&1 ||
			    echo "failed: $?" >>"$1/load.out"
		done' _ "$BATS_TEST_TMPDIR" "$TBIN/tp-client" "$P1" \
	    </dev/null >/dev/null 2>&1 3>&- &
	register_pid $!
	LOADER=$!
}

load_stop() {
	touch "$BATS_TEST_TMPDIR/stop"
	for i in $(seq 100); do
		_alive "$LOADER" || break
		sleep 0.1
	done
}

@test "ten upgrades under load: no client refused or reset, every byte echoed" {
	start -w 2
	exec 5<>"/dev/tcp/127.0.0.1/$P1"
	printf 'before\n' >&5
	read -r -t 5 -u 5 got
	[ "$got" = before ]
	load_start
	sleep 0.3
	upgrade 10
	sleep 0.3
	load_stop
	total=$(wc -l <"$BATS_TEST_TMPDIR/load.out")
	good=$(grep -c '^ok 2000$' "$BATS_TEST_TMPDIR/load.out" || true)
	echo "connections: $total, good: $good" >&2
	[ "$total" -gt 20 ]
	[ "$good" -eq "$total" ]
	# the connection of before the first upgrade still works, and ends
	printf 'after ten upgrades\n' >&5
	read -r -t 5 -u 5 got
	[ "$got" = "after ten upgrades" ]
	exec 5>&-
	# the pid file and the control socket name the newest master
	pid=$(cat "$PIDF")
	[ "$(ctl -j show workers; jq -r '.workers | length' <<<"$output")" -eq 2 ]
	_alive "$pid"
	for w in $(pgrep -P "$pid"); do
		[[ $(tr '\0' ' ' <"/proc/$w/cmdline") == *worker* ]]
	done
}

@test "the old master drains: its connection finishes, then it exits" {
	start -w 1
	old=$(cat "$PIDF")
	exec 5<>"/dev/tcp/127.0.0.1/$P1"
	printf 'one\n' >&5
	read -r -t 5 -u 5 got
	upgrade 1
	_alive "$old"
	grep -q "without a time limit" "$TP_LOG"
	printf 'two\n' >&5
	read -r -t 5 -u 5 got
	[ "$got" = two ]
	exec 5>&-
	for i in $(seq 100); do
		_alive "$old" || break
		sleep 0.1
	done
	! _alive "$old"
	# the socket's path is the new master's: it was never removed
	[ -S "$SOCK" ]
	ctl show workers
	[ "$status" -eq 0 ]
}

@test "with a shutdown timeout the old master closes what is left after it" {
	printf 'shutdown-timeout: 1s;\n' | cat - "$CONF" >"$CONF.new"
	mv "$CONF.new" "$CONF"
	start -w 1
	old=$(cat "$PIDF")
	exec 5<>"/dev/tcp/127.0.0.1/$P1"
	printf 'one\n' >&5
	read -r -t 5 -u 5 got
	upgrade 1
	wait_for_log "upgraded to pid [0-9]+: stopping; open connections may finish for 1000 ms"
	wait_for_log "reason=shutdown"
	for i in $(seq 100); do
		_alive "$old" || break
		sleep 0.1
	done
	! _alive "$old"
}

@test "a binary that fails leaves the old master serving, and says why" {
	start -w 2
	old=$(cat "$PIDF")
	# replaced as a package upgrade does it: a new file renamed over it
	printf '#!/bin/sh\nexit 3\n' >"$BIN.new"
	chmod +x "$BIN.new"
	mv "$BIN.new" "$BIN"
	ctl upgrade
	[ "$status" -eq 1 ]
	[[ $output == *"upgrade failed: the new master exited with status 3"* ]]
	rm -f "$BIN"
	ctl upgrade
	[ "$status" -eq 1 ]
	[[ $output == *"upgrade failed: "*"No such file or directory"* ]]
	# still the same master, pid file and all, and it serves
	[ "$(cat "$PIDF")" = "$old" ]
	run_timeout 10 "$TBIN/tp-client" -m echo -n 100 127.0.0.1 "$P1"
	[ "$output" = "ok 100" ]
	cp "$TCPPROXY" "$BIN"
	upgrade 1
	[ "$(cat "$PIDF")" != "$old" ]
}

@test "a new master that cannot take the configuration fails the upgrade" {
	start -w 1
	old=$(cat "$PIDF")
	printf 'listen 127.0.0.1 %s {\n\tbogus;\n};\n' "$P1" >"$CONF"
	ctl upgrade
	[ "$status" -eq 1 ]
	[[ $output == *"upgrade failed: the new master exited with status 1"* ]]
	[ "$(cat "$PIDF")" = "$old" ]
	run_timeout 10 "$TBIN/tp-client" -m echo -n 100 127.0.0.1 "$P1"
	[ "$output" = "ok 100" ]
}

@test "a hand-over of another version is refused" {
	expect_fail_line 1 "^tcpproxy: upgrade: a hand-over of version 9: this binary speaks version 1$" \
	    env TCPPROXY_UPGRADE="9 ready=3" "$TCPPROXY" -n -c "$CONF"
}

@test "SIGURG upgrades too; with -u nobody the workers stay unprivileged" {
	start -w 2 -u nobody
	old=$(cat "$PIDF")
	kill -URG "$old"
	wait_for_log "upgrade: pid [0-9]+ serves; handing over"
	new=$(cat "$PIDF")
	[ "$new" != "$old" ]
	for w in $(pgrep -P "$new"); do
		[ "$(awk '/^Uid:/ { print $2 }' "/proc/$w/status")" = "$(id -u nobody)" ]
	done
	run_timeout 10 "$TBIN/tp-client" -m echo -n 100 127.0.0.1 "$P1"
	[ "$output" = "ok 100" ]
}

@test "metrics and reloads carry on after an upgrade" {
	printf 'metrics: 127.0.0.1 %s;\n' "$P2" | cat - "$CONF" >"$CONF.new"
	mv "$CONF.new" "$CONF"
	start -w 1
	upgrade 2
	run_timeout 10 curl -s "http://127.0.0.1:$P2/metrics"
	[[ $output == *"tcpproxy_generation 1"* ]]
	ctl reload
	[ "$status" -eq 0 ]
}
