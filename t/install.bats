#!/usr/bin/env bats
# make install / uninstall honour PREFIX and DESTDIR and remove exactly
# what they installed.

load helper

@test "make install puts binary, man pages and examples under DESTDIR/PREFIX" {
	d=$BATS_TEST_TMPDIR/root
	run make -s -C "$TOP" install DESTDIR="$d" PREFIX=/opt/tp
	[ "$status" -eq 0 ]
	[ -x "$d/opt/tp/sbin/tcpproxy" ]
	[ -x "$d/opt/tp/sbin/tcpproxyctl" ]
	[ -f "$d/opt/tp/share/man/man8/tcpproxyctl.8" ]
	[ -f "$d/opt/tp/share/man/man8/tcpproxy.8" ]
	[ -f "$d/opt/tp/share/man/man5/tcpproxy.conf.5" ]
	[ -f "$d/opt/tp/share/examples/tcpproxy/tcpproxy.conf" ]
	[ -f "$d/opt/tp/share/examples/tcpproxy/tcpproxy.service" ]
	run "$d/opt/tp/sbin/tcpproxy" -n -c "$d/opt/tp/share/examples/tcpproxy/tcpproxy.conf"
	[ "$output" = "configuration OK" ]
	# nothing outside DESTDIR
	[ ! -e /opt/tp ]
	# a file of the admin's own survives uninstall
	touch "$d/opt/tp/sbin/mine"
	run make -s -C "$TOP" uninstall DESTDIR="$d" PREFIX=/opt/tp
	[ "$status" -eq 0 ]
	[ -z "$(find "$d" -type f ! -name mine)" ]
	[ -f "$d/opt/tp/sbin/mine" ]
}

@test "the OpenBSD rc.d script and the systemd unit name the installed binary" {
	grep -q '^daemon="/usr/local/sbin/tcpproxy"' "$TOP/conf/tcpproxy.rc"
	grep -q '^ExecStart=/usr/local/sbin/tcpproxy -D ' "$TOP/conf/tcpproxy.service"
	grep -q '^ExecReload=/usr/local/sbin/tcpproxyctl ' "$TOP/conf/tcpproxy.service"
	# systemd-analyze verify runs in t/systemd.bats, on installed copies
}
