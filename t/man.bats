#!/usr/bin/env bats
# The manual pages are well-formed and cover every option.

load helper

@test "man pages are clean under mandoc -Tlint" {
	run mandoc -Tlint -W warning "$TOP/man/tcpproxy.8" "$TOP/man/tcpproxy.conf.5" \
	    "$TOP/man/tcpproxyctl.8"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "tcpproxy.8 documents every option of --help" {
	for opt in $("$TCPPROXY" -h | grep -oE -- '--[a-z-]+'); do
		grep -q -- "${opt#--}" "$TOP/man/tcpproxy.8" || { echo "missing $opt"; return 1; }
	done
}

@test "tcpproxy.conf.5 documents every config keyword" {
	for kw in listen remote resolv remote-resolv source buffer-size \
	    shutdown-timeout metrics; do
		grep -q "$kw" "$TOP/man/tcpproxy.conf.5" || { echo "missing $kw"; return 1; }
	done
}

@test "tcpproxyctl.8 documents every command and every metric" {
	local m=$TOP/man/tcpproxyctl.8 w
	for w in "show listeners" "show connections" "show stats" \
	    "show workers" "show metrics" "kill connection" "drain listener" \
	    "enable listener" "log reopen" "Ic stop" "Ic upgrade" "Ic reload"; do
		grep -q -- "$w" "$m" || { echo "missing $w"; return 1; }
	done
	for w in $(grep -o '"tcpproxy_[a-z_]*"' "$TOP/src/ctlrender.c" | tr -d '"'); do
		grep -q "^\.It $w Ta" "$m" || { echo "missing metric $w"; return 1; }
	done
}
