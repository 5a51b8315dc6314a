#!/usr/bin/env bats
# conf/tcpproxy.rc, the OpenBSD rc.d script, read by a stand-in for
# rc.subr(8) that keeps what the script sets: its pattern must be the
# master's process title (rc.subr matches it with pgrep -xf), and its
# configtest must pass a good file and fail a bad one.

load helper

setup() {
	free_ports 1
	P=${PORTS[0]}
	D=$BATS_TEST_TMPDIR
	# rc.subr's default pattern, set when it is sourced; rc_cmd reports
	cat >"$D/rc.subr" <<-'EOS'
	pexp="${daemon}${daemon_flags:+ ${daemon_flags}}"
	rc_cmd() {
		case $1 in
		pexp) echo "$pexp" ;;
		configtest) rc_configtest ;;
		esac
	}
	EOS
	sed -e "s|/etc/rc.d/rc.subr|$D/rc.subr|" \
	    -e "s|^daemon=.*|daemon=\"$TCPPROXY\"|" \
	    -e "s|^daemon_flags=.*|daemon_flags=\"-w 1 -c $D/c.conf\"|" \
	    "$TOP/conf/tcpproxy.rc" >"$D/tcpproxy.rc"
	grep -q "daemon_flags=\"-w 1 -c $D/c.conf\"" "$D/tcpproxy.rc"
}

@test "rc.d: pexp is the master's process title, which rc.subr's default is not" {
	echo "listen 127.0.0.1 $P { remote: 127.0.0.1 1; };" >"$D/c.conf"
	run sh "$D/tcpproxy.rc" pexp
	[ "$status" -eq 0 ]
	pexp=$output
	start_tcpproxy -w 1 -c "$D/c.conf"
	wait_for_port "$P"
	# the title, up to the first NUL (libbsd may leave bytes after it);
	# it starts with the program's name, tcpproxy-asan under ASan
	title=$(tr '\0' '\n' <"/proc/$TP_PID/cmdline" | sed -n 1p)
	[ "$pexp" = "tcpproxy: master" ]
	[ "$title" = "$(basename "$TCPPROXY"): master" ]
	[ "$title" != "$TCPPROXY -w 1 -c $D/c.conf" ]
}

@test "rc.d: rc_configtest passes a good file and names the error in a bad one" {
	echo "listen 127.0.0.1 $P { remote: 127.0.0.1 1; };" >"$D/c.conf"
	run sh "$D/tcpproxy.rc" configtest
	[ "$status" -eq 0 ]
	echo "listen 127.0.0.1 $P { remote: 127.0.0.1 1 };" >"$D/c.conf"
	run sh "$D/tcpproxy.rc" configtest
	[ "$status" -eq 1 ]
	[[ $output == *"$D/c.conf:1:"* ]]
}
