#!/usr/bin/env bats
# systemd socket activation: passed sockets are adopted for the stanzas
# they match, so tcpproxy can serve a port below 1024 without being root.

load helper

setup() {
	free_ports 2
	P=${PORTS[0]} P2=${PORTS[1]}
	CONF=$BATS_TEST_TMPDIR/t.conf
}

# a free privileged port on 127.0.0.1
low_port() {
	local p
	for p in $(seq 700 900); do
		if ! "$TBIN/tp-client" -m connect -T 1 127.0.0.1 "$p" >/dev/null 2>&1; then
			echo "$p"
			return
		fi
	done
	return 1
}

@test "passed sockets are adopted; tcpproxy runs as nobody on a port below 1024" {
	start_server echo
	low=$(low_port)
	printf 'listen 127.0.0.1 %s {\n remote: 127.0.0.1 %s;\n};\nlisten ::1 %s {\n remote: 127.0.0.1 %s;\n};\n' \
	    "$low" "$SERVER_PORT" "$P" "$SERVER_PORT" >"$CONF"
	# nobody must be able to read it: not under the test's private dir
	pub=$(mktemp /tmp/tcpproxy-activation.XXXXXX)
	cp "$CONF" "$pub"
	chmod 644 "$pub"
	CONF=$pub
	start_tcpproxy_via "$TBIN/tp-activate" -u nobody -l "127.0.0.1:$low" \
	    -l "[::1]:$P" -- -w 2 -c "$CONF"
	wait_for_log "ready"
	grep -q "using the socket passed by the service manager for 127.0.0.1:$low" "$TP_LOG"
	grep -q "using the socket passed by the service manager for \[::1\]:$P" "$TP_LOG"
	[ "$(awk '$1 == "Uid:" { print $2 }' "/proc/$TP_PID/status")" = "$(id -u nobody)" ]
	run_timeout 10 "$TBIN/tp-client" -m echo -n 100000 127.0.0.1 "$low"
	[ "$output" = "ok 100000" ]
	run_timeout 10 "$TBIN/tp-client" -m echo -n 100000 ::1 "$P"
	[ "$output" = "ok 100000" ]
	rm -f "$pub"
}

@test "a passed socket no stanza wants is closed with a warning; others are bound" {
	start_server echo
	printf 'listen 127.0.0.1 %s {\n remote: 127.0.0.1 %s;\n};\n' "$P" "$SERVER_PORT" >"$CONF"
	start_tcpproxy_via "$TBIN/tp-activate" -l "127.0.0.1:$P2" -- -w 1 -c "$CONF"
	wait_for_log "ready"
	grep -q "no listen stanza for 127.0.0.1:$P2 passed by the service manager: closing it" "$TP_LOG"
	run_timeout 10 "$TBIN/tp-client" -m echo -n 1000 127.0.0.1 "$P"
	[ "$output" = "ok 1000" ]
	run "$TBIN/tp-client" -m connect -T 2 127.0.0.1 "$P2"
	[ "$status" -ne 0 ]
}

@test "LISTEN_FDS meant for another process is ignored" {
	start_server echo
	printf 'listen 127.0.0.1 %s {\n remote: 127.0.0.1 %s;\n};\n' "$P" "$SERVER_PORT" >"$CONF"
	LISTEN_PID=1 LISTEN_FDS=1 start_tcpproxy -w 1 -c "$CONF"
	wait_for_port "$P"
	! grep -q "service manager" "$TP_LOG" || false
}
