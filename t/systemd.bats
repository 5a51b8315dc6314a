#!/usr/bin/env bats
# The shipped systemd units: they verify, and the service keeps its
# measured exposure score (systemd-analyze security, offline).

load helper

setup() {
	# verify wants the binaries it names: install into a DESTDIR and
	# point copies of the units at it
	ROOT=$BATS_TEST_TMPDIR/root
	make -C "$TOP" -s install DESTDIR="$ROOT" PREFIX=/usr/local >/dev/null
	UNITS=$BATS_TEST_TMPDIR/units
	mkdir -p "$UNITS"
	for u in tcpproxy.service tcpproxy.socket; do
		sed "s|/usr/local/sbin/|$ROOT/usr/local/sbin/|g" \
		    "$TOP/conf/$u" >"$UNITS/$u"
	done
}

@test "systemd-analyze verify: the service and socket units are clean" {
	run systemd-analyze verify --man=no "$UNITS/tcpproxy.service" \
	    "$UNITS/tcpproxy.socket"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "the service is Type=notify and reloads through tcpproxyctl" {
	grep -qx "Type=notify" "$TOP/conf/tcpproxy.service"
	grep -q "^ExecReload=/usr/local/sbin/tcpproxyctl -s /run/tcpproxy/control.sock reload$" \
	    "$TOP/conf/tcpproxy.service"
	grep -q "^ExecStart=.* -S /run/tcpproxy/control.sock " "$TOP/conf/tcpproxy.service"
	grep -qx "RuntimeDirectory=tcpproxy" "$TOP/conf/tcpproxy.service"
	grep -q "^CapabilityBoundingSet=.*CAP_KILL" "$TOP/conf/tcpproxy.service"
}

@test "the master runs as its own user with ambient capabilities, the workers as another" {
	grep -qx "User=tcpproxy" "$TOP/conf/tcpproxy.service"
	grep -qx "AmbientCapabilities=CAP_NET_BIND_SERVICE CAP_SETUID CAP_SETGID CAP_KILL" \
	    "$TOP/conf/tcpproxy.service"
	grep -q "^ExecStart=.* -u tcpproxy-relay -g tcpproxy-relay " \
	    "$TOP/conf/tcpproxy.service"
}

@test "systemd-analyze security: exposure 2.0 at most" {
	run systemd-analyze security --offline=true "$UNITS/tcpproxy.service"
	[ "$status" -eq 0 ]
	score=$(sed -n 's/.*Overall exposure level for tcpproxy.service: \([0-9.]*\).*/\1/p' <<<"$output")
	echo "score: $score"
	[ -n "$score" ]
	awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'
}
