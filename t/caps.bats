#!/usr/bin/env bats
# A master that is not root but holds ambient capabilities, as a systemd
# unit with User= and AmbientCapabilities= starts it: it binds low ports,
# reloads, supervises workers of another user, and the workers keep no
# capability at all.

load helper

# What the shipped unit grants, in setpriv's spelling; and with what its
# comments add for chrooted workers.
CAPS=+net_bind_service,+setuid,+setgid,+kill
CAPS_JAIL=$CAPS,+sys_chroot

setup() {
	free_ports 1
	P=${PORTS[0]}
	# A directory the unprivileged master can read: bats' own is 0700.
	D=$(mktemp -d /tmp/tp-caps.XXXXXX)
	chmod 0755 "$D"
	mkdir -m 0755 "$D/jail"
	# The master's own runtime directory, as RuntimeDirectory= makes it.
	mkdir -m 0755 "$D/run"
	chown daemon:daemon "$D/run"
	# A low port on an address of its own, so no other test holds it.
	LOW_ADDR=127.0.0.93 LOW=93 LOW2=94
}

teardown() {
	# a master started by an upgrade is not TP_PID
	pkill -f -- "-S $D/run/ctl.sock" 2>/dev/null || true
	helper_teardown
	rm -rf "$D"
}

# as_daemon: the wrapper that starts tcpproxy as user daemon with CAPS
as_daemon=(setpriv --reuid=daemon --regid=daemon --init-groups
    --inh-caps="$CAPS" --ambient-caps="$CAPS")

# start_capable: the master as daemon with CAPS, workers as nobody, as
# the unit runs them, serving $D/c.conf, its control socket in $D/run
start_capable() {
	start_tcpproxy_via "${as_daemon[@]}" -- -w 2 -u nobody \
	    -S "$D/run/ctl.sock" -c "$D/c.conf" "$@"
	wait_for_port "$LOW" "$LOW_ADDR"
	wait_workers "$TP_PID" 2
}

@test "ambient capabilities: a non-root master binds a low port and runs workers with none" {
	start_server echo
	echo "listen $LOW_ADDR $LOW { remote: 127.0.0.1 $SERVER_PORT; };" >"$D/c.conf"
	start_capable

	daemon_uid=$(id -u daemon) nobody_uid=$(id -u nobody)
	[ "$(status_field "$TP_PID" Uid)" = "$daemon_uid $daemon_uid $daemon_uid $daemon_uid" ]
	# The master keeps what it was given, nothing more.
	[ "$(status_field "$TP_PID" CapEff)" = 00000000000004e0 ]
	wait_for_log "worker 2: sandbox: seccomp-bpf"
	for w in $(workers_of "$TP_PID"); do
		[ "$(status_field "$w" Uid)" = "$nobody_uid $nobody_uid $nobody_uid $nobody_uid" ]
		for set in CapInh CapPrm CapEff CapAmb; do
			[ "$(status_field "$w" "$set")" = 0000000000000000 ]
		done
		# no chroot: the filter is what keeps them off the files
		[ "$(status_field "$w" Seccomp)" = 2 ]
	done
	run_timeout 10 "$TBIN/tp-client" -m echo -n 100000 "$LOW_ADDR" "$LOW"
	[ "$output" = "ok 100000" ]
	# The control socket works for a master that cannot write /run.
	run_timeout 10 "$TOP/tcpproxyctl" -s "$D/run/ctl.sock" show workers
	[ "$status" -eq 0 ]
	[ "$(grep -c running <<<"$output")" -eq 2 ]
}

@test "ambient capabilities: with CAP_SYS_CHROOT added, -C jails the workers too" {
	start_server echo
	echo "listen $LOW_ADDR $LOW { remote: 127.0.0.1 $SERVER_PORT; };" >"$D/c.conf"
	start_tcpproxy_via setpriv --reuid=daemon --regid=daemon --init-groups \
	    --inh-caps="$CAPS_JAIL" --ambient-caps="$CAPS_JAIL" -- \
	    -w 2 -u nobody -C "$D/jail" -c "$D/c.conf"
	wait_for_port "$LOW" "$LOW_ADDR"
	wait_workers "$TP_PID" 2
	[ "$(status_field "$TP_PID" CapEff)" = 00000000000404e0 ]
	for w in $(workers_of "$TP_PID"); do
		[ "$(readlink "/proc/$w/root")" = "$D/jail" ]
		[ "$(status_field "$w" CapEff)" = 0000000000000000 ]
	done
	run_timeout 10 "$TBIN/tp-client" -m echo -n 100000 "$LOW_ADDR" "$LOW"
	[ "$output" = "ok 100000" ]
}

@test "ambient capabilities: a reload binds a new low port; a killed worker is replaced" {
	start_server echo
	echo "listen $LOW_ADDR $LOW { remote: 127.0.0.1 $SERVER_PORT; };" >"$D/c.conf"
	start_capable

	cat >"$D/c.conf" <<-EOF
	listen $LOW_ADDR $LOW { remote: 127.0.0.1 $SERVER_PORT; };
	listen $LOW_ADDR $LOW2 { remote: 127.0.0.1 $SERVER_PORT; };
	EOF
	run_timeout 20 "$TOP/tcpproxyctl" -s "$D/run/ctl.sock" reload
	[ "$status" -eq 0 ]
	run_timeout 10 "$TBIN/tp-client" -m echo -n 1000 "$LOW_ADDR" "$LOW2"
	[ "$output" = "ok 1000" ]

	# Signalling a worker of another user needs CAP_KILL; reaping and
	# replacing it needs CAP_SETUID again.
	w=$(workers_of "$TP_PID" | head -1)
	kill -9 "$w"
	wait_for_log "worker [12] \(pid $w\) killed by signal 9"
	wait_replaced "$TP_PID" "$w" 2
	for n in $(workers_of "$TP_PID"); do
		[ "$(status_field "$n" CapEff)" = 0000000000000000 ]
	done
	run_timeout 10 "$TBIN/tp-client" -m echo -n 1000 "$LOW_ADDR" "$LOW"
	[ "$output" = "ok 1000" ]

	# A stop sends SIGTERM to workers of another user: all of them go.
	ws=$(workers_of "$TP_PID")
	stop_tcpproxy TERM
	[ "$TP_STATUS" -eq 0 ]
	wait_gone $ws
}

@test "ambient capabilities: an upgrade's new master keeps them, its workers have none" {
	start_server echo
	echo "listen $LOW_ADDR $LOW { remote: 127.0.0.1 $SERVER_PORT; };" >"$D/c.conf"
	start_capable
	old=$TP_PID
	run_timeout 30 "$TOP/tcpproxyctl" -s "$D/run/ctl.sock" upgrade
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output =~ ^upgraded:\ pid\ $old\ -\>\ pid\ ([0-9]+)$ ]]
	new=${BASH_REMATCH[1]}
	wait_workers "$new" 2
	[ "$(status_field "$new" Uid | cut -d" " -f1)" = "$(id -u daemon)" ]
	[ "$(status_field "$new" CapEff)" = 00000000000004e0 ]
	for w in $(workers_of "$new"); do
		[ "$(status_field "$w" CapEff)" = 0000000000000000 ]
		[ "$(status_field "$w" CapAmb)" = 0000000000000000 ]
	done
	run_timeout 10 "$TBIN/tp-client" -m echo -n 1000 "$LOW_ADDR" "$LOW"
	[ "$output" = "ok 1000" ]
}

@test "ambient capabilities: workers of another user still die with a SIGKILLed master" {
	echo "listen $LOW_ADDR $LOW { remote: 127.0.0.1 1; };" >"$D/c.conf"
	start_capable
	ws=$(workers_of "$TP_PID")
	kill -9 "$TP_PID"
	wait_gone $ws
}

@test "without the capabilities, -u and -C are refused as before" {
	echo "listen $LOW_ADDR $LOW { remote: 127.0.0.1 1; };" >"$D/c.conf"
	expect_fail_line 1 "cannot switch to user 'nobody': not running as root" \
	    setpriv --reuid=daemon --regid=daemon --init-groups \
	    --inh-caps=+net_bind_service --ambient-caps=+net_bind_service \
	    "$TCPPROXY" -D -n -u nobody -c "$D/c.conf"
	expect_fail_line 1 "cannot chroot to '$D/jail': not running as root" \
	    setpriv --reuid=daemon --regid=daemon --init-groups \
	    "$TCPPROXY" -D -n -C "$D/jail" -c "$D/c.conf"
}
