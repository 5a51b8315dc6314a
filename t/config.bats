#!/usr/bin/env bats
# The config file grammar (tcpproxy.conf(5)): what the original accepted
# still means the same, needless strictness is gone, and every error is
# reported as file:line:column.

load helper

setup() {
	free_ports 3
	P=${PORTS[0]} P2=${PORTS[1]} P3=${PORTS[2]}
	CONF=$BATS_TEST_TMPDIR/t.conf
}

# conftest TEXT: run tcpproxy -n on a config made of TEXT (printf %b)
conftest() {
	printf '%b' "$1" >"$CONF"
	run timeout 20 "$TCPPROXY" -n -c "$CONF"
}

accepts() {
	conftest "$1"
	if [ "$status" -ne 0 ] || [ "$output" != "configuration OK" ]; then
		echo "config was refused:"; printf '%b\n' "$1"
		echo "status $status: $output"
		return 1
	fi
}

# refuses TEXT REGEX...: exit 1 and, for each REGEX, an output line
# matching "^tcpproxy: <conf>:REGEX"
refuses() {
	local text=$1 re
	shift
	conftest "$text"
	if [ "$status" -ne 1 ]; then
		echo "config was accepted:"; printf '%b\n' "$text"; return 1
	fi
	for re in "$@"; do
		if ! grep -Eq "^tcpproxy: $CONF:$re" <<<"$output"; then
			echo "no line matching /$re/ in:"; echo "$output"; return 1
		fi
	done
}

@test "the seed's stanza forms are accepted" {
	accepts "listen 127.0.0.1 $P\n{\n  remote: 127.0.0.1 7001;\n};\n"
	accepts "listen * $P { remote: localhost 7001; };"
	accepts "listen * $P {\n\tresolv: ipv4;\n\tremote: 127.0.0.1 7001;\n\tremote-resolv: ipv4;\n\tsource: 127.0.0.1;\n};\n"
	accepts "listen ::1 $P { remote: ::1 http; remote-resolv: IPv6; };"
	accepts "listen localhost $P { remote: 127.0.0.1 1; resolv: IPV4; };"
}

@test "white space, comments and stanza separation as the original allowed" {
	accepts "# head\nlisten 127.0.0.1 $P # c\n{ # c\n remote : 127.0.0.1 1 ;\n # c\n};listen 127.0.0.1 $P2 {remote: 127.0.0.1 2;};\n# tail\n"
	accepts "listen 127.0.0.1 $P {\r\n remote: 127.0.0.1 1;\r\n};\r\n\f\v"
	accepts "listen 127.0.0.1 $P { remote: 127.0.0.1 1; }; # no newline at the end"
	accepts "listen 127.0.0.1 $P { remote: 127.0.0.1 1; };"
}

@test "needless strictness of the original is gone" {
	# no space after ':'; '}' and ';' apart; keyword split over lines
	accepts "listen 127.0.0.1 $P {remote:127.0.0.1 1;resolv:ipv4;};"
	accepts "listen 127.0.0.1 $P {\n remote: 127.0.0.1\n   1;\n}\n;\n"
	accepts "listen\n127.0.0.1\n$P\n{ remote: 127.0.0.1 1; };"
	accepts "listen [::1] $P { remote: [::1] 1; };"
	accepts "listen 127.0.0.1 $P { remote: ::ffff:127.0.0.1 1; };"
	accepts "listen 127.0.0.1 $P { remote: 127.0.0.1 1; resolv: 4; remote-resolv: 4; };"
}

@test "IPv6 literals with a scope id are accepted" {
	accepts "listen 127.0.0.1 $P { remote: fe80::1%lo 1; };"
}

@test "repeated statements: the last one wins" {
	printf 'listen 127.0.0.1 %s { remote: 127.0.0.1 1; remote: 127.0.0.1 2; };\n' "$P" >"$CONF"
	start_tcpproxy -w 1 -c "$CONF"
	wait_for_port "$P"
	kill -USR1 "$TP_PID"
	wait_for_log "listener [0-9]+: 127.0.0.1:$P -> 127.0.0.1:2$"
}

@test "buffer-size is a per-stanza keyword" {
	accepts "listen 127.0.0.1 $P { remote: 127.0.0.1 1; buffer-size: 64k; };"
	refuses "listen 127.0.0.1 $P { remote: 127.0.0.1 1;\n buffer-size: 0; };" \
	    "2:15: invalid buffer size '0'"
}

@test "syntax errors name file, line, column and token" {
	refuses "listen 127.0.0.1 $P {\n  remote 127.0.0.1 1;\n};" \
	    "2:10: expected ':' after 'remote', found 127.0.0.1"
	refuses "\n\nLISTEN * $P { remote: 127.0.0.1 1; };" \
	    "3:1: expected 'listen', found LISTEN"
	refuses "listen 127.0.0.1 $P {\n  Remote: 127.0.0.1 1;\n};" \
	    "2:3: unknown keyword 'Remote'"
	refuses "listen 127.0.0.1 $P {\n  remote: 127.0.0.1 1\n};" \
	    "3:1: expected ';' to end 'remote', found '}'"
	refuses "listen 127.0.0.1 $P {\n  remote: 127.0.0.1;\n};" \
	    "2:3: 'remote' takes a host and a port"
	refuses "listen 127.0.0.1 $P {\n  remote: 127.0.0.1 1;\n}" \
	    "3:2: expected ';' after '}', found end of file"
	refuses "listen 127.0.0.1 $P {\n  remote: 127.0.0.1 1;\n" \
	    "3:1: unexpected end of file in the stanza that starts at line 1"
	refuses "listen 127.0.0.1 { remote: 127.0.0.1 1; };" \
	    "1:18: expected a port after 'listen 127.0.0.1', found '\\{'"
	refuses ";" "1:1: expected 'listen', found ';'"
}

@test "every error in the file is reported, not just the first" {
	refuses "listen 127.0.0.1 $P {\n  remote 127.0.0.1 1;\n};\nlisten 127.0.0.1 $P2 {\n  resolv: ipv5;\n  remote: 127.0.0.1 1;\n};\nlisten 127.0.0.1 $P3 {\n  bogus: 1;\n};\n" \
	    "2:10: expected ':'" "9:3: unknown keyword 'bogus'"
	[ "$(grep -c "^tcpproxy: $CONF:" <<<"$output")" -eq 2 ]
	[[ ${lines[-1]} == "tcpproxy: configuration has 2 errors" ]]
}

@test "semantic errors: values, missing remote, duplicates, names" {
	refuses "listen 127.0.0.1 $P {\n  resolv: ipv5;\n  remote: 127.0.0.1 1;\n};" \
	    "2:11: invalid address family 'ipv5'"
	refuses "listen 127.0.0.1 99999 { remote: 127.0.0.1 1; };" \
	    "1:18: invalid port '99999'"
	refuses "listen 127.0.0.1 $P {\n  remote: 127.0.0.1 0; };" \
	    "2:21: invalid port '0'"
	refuses "listen 127.0.0.1 $P {\n  source: 127.0.0.1;\n};" \
	    "1:1: listen stanza has no 'remote'"
	refuses "listen 127.0.0.1 $P { remote: 127.0.0.1 1; };\nlisten 127.0.0.1 $P { remote: 127.0.0.1 2; };" \
	    "2:1: duplicate listener 127.0.0.1:$P, already defined at line 1"
	refuses "listen 127.0.0.1 $P {\n  remote: no-such-host.invalid 1;\n};" \
	    "2:11: remote: cannot resolve no-such-host.invalid"
	refuses "listen no-such-host.invalid $P { remote: 127.0.0.1 1; };" \
	    "1:8: listen: cannot resolve no-such-host.invalid"
	refuses "listen 127.0.0.1 $P {\n  remote: 127.0.0.1 1;\n  source: ::1;\n};" \
	    "3:11: source address '::1' is IPv6 only"
}

@test "files with no listeners, NUL bytes or junk are refused" {
	refuses "" " no listeners defined"
	refuses "# only a comment\n\n" " no listeners defined"
	refuses "listen 127.0.0.1 $P { remote: 127.0.0.1 1; };\n\0" "2:1: expected 'listen', found NUL byte"
	head -c 2000000 /dev/zero >"$CONF"
	run "$TCPPROXY" -n -c "$CONF"
	[ "$status" -eq 1 ]
	[[ $output == *"larger than 1048576 bytes"* ]]
}

@test "a FIFO as config file is refused, never waited on" {
	mkfifo "$BATS_TEST_TMPDIR/fifo.conf"
	expect_fail_line 1 "fifo.conf: not a regular file" \
	    "$TCPPROXY" -D -c "$BATS_TEST_TMPDIR/fifo.conf"
}

@test "the shipped example config passes the config test" {
	run "$TCPPROXY" -n -c "$TOP/conf/tcpproxy.conf"
	[ "$status" -eq 0 ]
	[ "$output" = "configuration OK" ]
}

@test "a start with a bad config fails as a whole and binds nothing" {
	printf 'listen 127.0.0.1 %s { remote: 127.0.0.1 1; };\nlisten 127.0.0.1 %s {\n  remote: no-such-host.invalid 1; };\n' "$P" "$P2" >"$CONF"
	run timeout 20 "$TCPPROXY" -D -c "$CONF"
	[ "$status" -eq 1 ]
	[[ $output == *"$CONF:3:11: remote: cannot resolve no-such-host.invalid"* ]]
	run "$TBIN/tp-client" -m connect -T 2 127.0.0.1 "$P"
	[ "$status" -ne 0 ]
}
