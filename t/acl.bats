#!/usr/bin/env bats
# allow/deny: first match wins, any allow denies the rest, global rules
# first; a denied client is closed before anything is connected.

load helper

setup() {
	free_ports 2
	P=${PORTS[0]} P2=${PORTS[1]}
	CONF=$BATS_TEST_TMPDIR/t.conf
	start_server echo
}

# from SRC: echo through the proxy from source address SRC
from() {
	run_timeout 10 "$TBIN/tp-client" -s "$1" -m echo -n 100 "${2:-127.0.0.1}" "${3:-$P}"
}

@test "an allow rule lets in only what it matches" {
	printf 'listen 127.0.0.1 %s {\n remote: 127.0.0.1 %s;\n allow: 127.0.0.2;\n};\n' "$P" "$SERVER_PORT" >"$CONF"
	start_tcpproxy -w 2 -c "$CONF"
	wait_for_log "ready"
	from 127.0.0.2
	[ "$output" = "ok 100" ]
	from 127.0.0.1
	[ "$output" != "ok 100" ]
	wait_for_log "client denied by no allow rule matched"
	wait_for_log "close listener=127.0.0.1:$P client=127.0.0.1:[0-9]+ source=- remote=- sent=0 received=0 .*reason=denied"
	# denied before any connect to the remote; the allowed one's close
	# line may come from the other worker, so wait for it first
	wait_for_log "close listener=127.0.0.1:$P client=127.0.0.2:.*reason=eof"
	[ "$(grep -c 'connected to' "$TP_LOG")" -eq 1 ]
	# SIGUSR1 sums each listener's counters over both workers
	kill -USR1 "$TP_PID"
	wait_for_log "listener [0-9]+ counters: accepted=2 denied=1 limit=0 connect-failed=0 sent=100 received=100 proxy-rejected=0$"
}

@test "the first matching rule decides" {
	printf 'listen 127.0.0.1 %s {\n remote: 127.0.0.1 %s;\n deny: 127.0.0.2;\n allow: 127.0.0.0/8;\n};\n' "$P" "$SERVER_PORT" >"$CONF"
	start_tcpproxy -w 1 -c "$CONF"
	wait_for_log "ready"
	from 127.0.0.1
	[ "$output" = "ok 100" ]
	from 127.0.0.3
	[ "$output" = "ok 100" ]
	from 127.0.0.2
	[ "$output" != "ok 100" ]
	wait_for_log "client denied by deny 127.0.0.2/32"
}

@test "IPv6 rules match IPv6 clients" {
	printf 'listen ::1 %s {\n remote: 127.0.0.1 %s;\n deny: ::1/128;\n};\nlisten 127.0.0.1 %s {\n remote: 127.0.0.1 %s;\n deny: ::/0;\n};\n' \
	    "$P" "$SERVER_PORT" "$P2" "$SERVER_PORT" >"$CONF"
	start_tcpproxy -w 1 -c "$CONF"
	wait_for_log "ready"
	from ::1 ::1 "$P"
	[ "$output" != "ok 100" ]
	wait_for_log "client denied by deny ::1/128"
	# an IPv6 rule never matches an IPv4 client
	from 127.0.0.1 127.0.0.1 "$P2"
	[ "$output" = "ok 100" ]
}

@test "global rules at the top of the file come before each stanza's" {
	printf 'deny: 127.0.0.3;\nlisten 127.0.0.1 %s {\n remote: 127.0.0.1 %s;\n allow: 127.0.0.0/8;\n};\n' "$P" "$SERVER_PORT" >"$CONF"
	start_tcpproxy -w 1 -c "$CONF"
	wait_for_log "ready"
	from 127.0.0.1
	[ "$output" = "ok 100" ]
	from 127.0.0.3
	[ "$output" != "ok 100" ]
	wait_for_log "client denied by deny 127.0.0.3/32"
}

@test "bad rules are errors with their position" {
	printf 'allow: 10.0.0.1/8;\nlisten 127.0.0.1 %s {\n remote: 127.0.0.1 1;\n deny: 300.1.1.1;\n allow: ::1/129;\n};\n' "$P" >"$CONF"
	run "$TCPPROXY" -n -c "$CONF"
	[ "$status" -eq 1 ]
	[[ $output == *"$CONF:1:8: allow: '10.0.0.1/8' has bits set beyond its /8 prefix"* ]]
	[[ $output == *"$CONF:4:8: deny: invalid address or prefix '300.1.1.1'"* ]]
	[[ $output == *"$CONF:5:9: allow: invalid address or prefix '::1/129'"* ]]
	printf 'listen 127.0.0.1 %s {\n remote: 127.0.0.1 1;\n};\nremote: 127.0.0.1 2;\n' "$P" >"$CONF"
	run "$TCPPROXY" -n -c "$CONF"
	[[ $output == *"$CONF:4:1: expected 'listen', found remote:"* ]]
}

@test "IPv4-mapped clients of a dual-stack socket match IPv4 rules" {
	# a service manager may pass a dual-stack [::] socket
	printf 'listen :: %s {\n remote: 127.0.0.1 %s;\n deny: 127.0.0.2;\n};\n' "$P" "$SERVER_PORT" >"$CONF"
	start_tcpproxy_via "$TBIN/tp-activate" -d -l "[::]:$P" -- -w 1 -c "$CONF"
	wait_for_log "ready"
	from 127.0.0.1
	[ "$output" = "ok 100" ]
	wait_for_log "new client \[::ffff:127.0.0.1\]:[0-9]+"
	from 127.0.0.2
	[ "$output" != "ok 100" ]
	wait_for_log "client denied by deny 127.0.0.2/32"
}
