#!/usr/bin/env bats
# metrics: ADDR PORT; serves the counters over HTTP from an unprivileged
# process, in the Prometheus text format.

load helper

setup() {
	free_ports 3
	P1=${PORTS[0]} PM=${PORTS[1]} PM2=${PORTS[2]}
	CONF=$(cd "$BATS_TEST_TMPDIR" && pwd -P)/tcpproxy.conf
	start_server echo
}

conf() {
	{
		printf '%s\n' "$@"
		printf 'listen 127.0.0.1 %s {\n\tremote: 127.0.0.1 %s;\n};\n' \
		    "$P1" "$SERVER_PORT"
	} >"$CONF"
}

# get PATH [PORT]: the HTTP response (headers and body) in $output
get() {
	run_timeout 10 curl -s -i "http://127.0.0.1:${2:-$PM}$1"
}

# metrics_pid: the metrics process of the tcpproxy in TP_PID
metrics_pid() {
	local p
	for p in $(pgrep -P "$TP_PID"); do
		[[ $(tr '\0' ' ' <"/proc/$p/cmdline") == *metrics* ]] && echo "$p"
	done
}

@test "GET /metrics: the counters, in a format promtool accepts" {
	conf "metrics: 127.0.0.1 $PM;"
	start_tcpproxy -S none -w 2 -c "$CONF"
	wait_for_port "$P1"
	wait_for_port "$PM"
	run_timeout 10 "$TBIN/tp-client" -m echo -n 5000 127.0.0.1 "$P1"
	[ "$output" = "ok 5000" ]
	wait_for_count 1 "reason=eof"
	get /metrics
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == "HTTP/1.0 200 OK"* ]]
	[[ $output == *"Content-Type: text/plain; version=0.0.4"* ]]
	[[ $output == *"tcpproxy_listener_accepted_total{"*"} 1"* ]]
	[[ $output == *"tcpproxy_listener_sent_bytes_total{"*"} 5000"* ]]
	run_timeout 10 curl -s "http://127.0.0.1:$PM/metrics"
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/m.txt"
	run promtool check metrics <"$BATS_TEST_TMPDIR/m.txt"
	[ "$status" -eq 0 ]
}

@test "the metrics process is unprivileged; the master never serves HTTP" {
	conf "metrics: 127.0.0.1 $PM;"
	jail=$(mktemp -d)
	start_tcpproxy -S none -w 1 -u nobody -C "$jail" -c "$CONF"
	wait_for_port "$PM"
	mp=$(metrics_pid)
	[ -n "$mp" ]
	[ "$(awk '/^Uid:/ { print $2 }' "/proc/$mp/status")" = "$(id -u nobody)" ]
	[ "$(awk '/^Seccomp:/ { print $2 }' "/proc/$mp/status")" = 2 ]
	get /metrics
	[[ ${lines[0]} == "HTTP/1.0 200 OK"* ]]
	# the master holds the socket only to hand it over
	run ss -tnp state established "( sport = :$PM )"
	[[ $output != *"pid=$TP_PID,"* ]]
	rmdir "$jail"
}

@test "other paths, other methods and garbage get an HTTP error" {
	conf "metrics: 127.0.0.1 $PM;"
	start_tcpproxy -S none -c "$CONF"
	wait_for_port "$PM"
	get /
	[[ ${lines[0]} == "HTTP/1.0 404 Not Found"* ]]
	run_timeout 10 curl -s -i -X POST "http://127.0.0.1:$PM/metrics"
	[[ ${lines[0]} == "HTTP/1.0 405 Method Not Allowed"* ]]
	run_timeout 10 sh -c 'printf "garbage\r\n\r\n" | "$0" -m send -n 0 127.0.0.1 "$1"' \
	    "$TBIN/tp-client" "$PM"
	run_timeout 10 curl -s -I "http://127.0.0.1:$PM/metrics"
	[[ ${lines[0]} == "HTTP/1.0 200 OK"* ]]
}

@test "a metrics process that dies is restarted" {
	conf "metrics: 127.0.0.1 $PM;"
	start_tcpproxy -S none -c "$CONF"
	wait_for_port "$PM"
	mp=$(metrics_pid)
	kill -KILL "$mp"
	wait_for_log "metrics process killed by signal 9"
	for i in $(seq 50); do
		get /metrics
		[[ ${lines[0]:-} == "HTTP/1.0 200 OK"* ]] && break
		sleep 0.1
	done
	[[ ${lines[0]} == "HTTP/1.0 200 OK"* ]]
	[ "$(metrics_pid)" != "$mp" ]
}

@test "a reload moves, adds or removes the metrics socket" {
	conf
	start_tcpproxy -S none -c "$CONF"
	wait_for_port "$P1"
	[ -z "$(metrics_pid)" ]
	conf "metrics: 127.0.0.1 $PM;"
	kill -HUP "$TP_PID"
	wait_for_log "reload complete: generation 2,"
	wait_for_port "$PM"
	get /metrics
	[[ ${lines[0]} == "HTTP/1.0 200 OK"* ]]
	conf "metrics: 127.0.0.1 $PM2;"
	kill -HUP "$TP_PID"
	wait_for_log "reload complete: generation 3,"
	wait_for_port "$PM2"
	# The old process holds the old socket until it has exited (slow
	# under ASan): refused within 5 s, or the socket never moved.
	for i in $(seq 50); do
		run_timeout 10 "$TBIN/tp-client" -m connect -T 2 127.0.0.1 "$PM"
		[ "$status" -eq 3 ] && break
		sleep 0.1
	done
	[ "$status" -eq 3 ]
	conf
	kill -HUP "$TP_PID"
	wait_for_log "reload complete: generation 4,"
	for i in $(seq 50); do
		[ -z "$(metrics_pid)" ] && break
		sleep 0.1
	done
	[ -z "$(metrics_pid)" ]
}

@test "metrics: a port in use fails start-up and reload with its position" {
	conf "metrics: 127.0.0.1 $P1;"
	expect_fail_line 1 "^tcpproxy: $CONF:1:10: metrics: cannot listen on 127.0.0.1:$P1: Address already in use$" \
	    sh -c '"$0" -D -S none -c "$1" 2>&1 | grep -v "starting\|listening on"; exit 1' \
	    "$TCPPROXY" "$CONF"
	conf
	start_tcpproxy -S none -c "$CONF"
	wait_for_port "$P1"
	conf "metrics: 127.0.0.1 $P1;"
	kill -HUP "$TP_PID"
	wait_for_log "reload failed with 1 error"
	grep -q "$CONF:1:10: metrics: cannot listen on 127.0.0.1:$P1" "$TP_LOG"
}

@test "metrics: misuse is reported by -n with its position" {
	printf 'metrics: 127.0.0.1;\n' >"$CONF"
	run "$TCPPROXY" -n -c "$CONF"
	[ "$status" -eq 1 ]
	[[ $output == *"$CONF:1:1: 'metrics' takes an address and a port"* ]]
	printf 'listen 127.0.0.1 1 {\n\tremote: 127.0.0.1 2;\n\tmetrics: 127.0.0.1 9100;\n};\n' >"$CONF"
	run "$TCPPROXY" -n -c "$CONF"
	[ "$status" -eq 1 ]
	[[ $output == *"$CONF:3:2: 'metrics' belongs at the top of the file"* ]]
	printf 'metrics: 127.0.0.1 notaport;\n' >"$CONF"
	run "$TCPPROXY" -n -c "$CONF"
	[ "$status" -eq 1 ]
	[[ $output == *"$CONF:1:20: "* ]]
}
