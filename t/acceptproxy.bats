#!/usr/bin/env bats
# accept-proxy-protocol: tcpproxy behind a balancer that sends a PROXY
# header (haproxy with send-proxy and send-proxy-v2, or a header written
# by hand) takes the client's address from it, for the rules, the limits
# and the logs; peers outside proxy-trusted, bad headers and slow ones
# are closed and counted.
#
# haproxy connects to tcpproxy from 127.0.0.3, the one trusted address;
# clients reach haproxy from 127.0.0.5 and 127.0.0.6.  A header sent by
# hand also comes from 127.0.0.3.

load helper

SIG='\r\n\r\n\0\r\nQUIT\n'

setup() {
	free_ports 4
	P=${PORTS[0]} H1=${PORTS[1]} H2=${PORTS[2]} HW=${PORTS[3]}
	CONF=$BATS_TEST_TMPDIR/t.conf
	start_server echo
}

# start_haproxy [REMOTE_PORT]: haproxy, mode tcp: H1 sends tcpproxy (on
# REMOTE_PORT, default P) a v1 header, H2 a v2 one; HW is an HTTP frontend
# that takes a header and answers with the client it names.  Its ports
# are waited for by looking at the listening sockets: a connection to
# probe them would reach tcpproxy too.
start_haproxy() {
	local cfg=$BATS_TEST_TMPDIR/haproxy.cfg i
	cat >"$cfg" <<-EOC
	defaults
	    mode tcp
	    retries 0
	    timeout connect 5s
	    timeout client 30s
	    timeout server 30s
	frontend v1
	    bind 127.0.0.1:$H1
	    default_backend tp1
	backend tp1
	    server tp 127.0.0.1:${1:-$P} send-proxy source 127.0.0.3
	frontend v2
	    bind 127.0.0.1:$H2
	    default_backend tp2
	backend tp2
	    server tp 127.0.0.1:${1:-$P} send-proxy-v2 source 127.0.0.3
	frontend web
	    mode http
	    bind 127.0.0.1:$HW accept-proxy
	    http-request return status 200 content-type text/plain lf-string "src=%[src] dst=%[dst]:%[dst_port]"
	EOC
	setsid haproxy -f "$cfg" -db </dev/null \
	    >"$BATS_TEST_TMPDIR/haproxy.log" 2>&1 3>&- &
	register_pid $!
	for ((i = 0; i < 200; i++)); do
		[[ $(ss -Hltn "sport = :$HW") == *LISTEN* ]] && return 0
		sleep 0.05
	done
	echo "haproxy did not listen on $HW:" >&2
	cat "$BATS_TEST_TMPDIR/haproxy.log" >&2
	return 1
}

# proxy_conf EXTRA...: one listener on P to the echo server that takes
# headers (any version) from 127.0.0.3, with EXTRA statements
proxy_conf() {
	{
		printf 'listen 127.0.0.1 %s {\n remote: 127.0.0.1 %s;\n' \
		    "$P" "$SERVER_PORT"
		printf ' accept-proxy-protocol: any;\n proxy-trusted: 127.0.0.3;\n'
		printf ' %s\n' "$@"
		printf '};\n'
	} >"$CONF"
}

start_proxy() {
	start_tcpproxy -w 1 -c "$CONF"
	wait_for_log "NOTICE: master: ready: "
}

# header NAME FORMAT...: printf a header into the file NAME
header() {
	local f=$BATS_TEST_TMPDIR/$1
	shift
	# shellcheck disable=SC2059
	printf "$@" >"$f"
	HDR=$f
}

# v2_tcp4 SRC-OCTETS... : a v2 PROXY header from 192.0.2.7:4660 to
# 127.0.0.1:P, as printf escapes
v2_tcp4() {
	printf '%s\\x21\\x11\\x00\\x0c\\xc0\\x00\\x02\\x07\\x7f\\x00\\x00\\x01\\x12\\x34\\x%02x\\x%02x' \
	    "$SIG" $((P >> 8)) $((P & 255))
}

# echo_via SRC PORT [N] [tp-client args...]: N bytes (default 100000)
# echoed through PORT from source SRC
echo_via() {
	local src=$1 port=$2 n=${3:-100000}
	shift 3 || shift $#
	run_timeout 20 "$TBIN/tp-client" -s "$src" "$@" -m echo -n "$n" \
	    127.0.0.1 "$port"
}

counters() {
	kill -USR1 "$TP_PID"
	wait_for_log "listener [0-9]+ counters: $1"
}

# conftest TEXT: tcpproxy -n on a config made of TEXT (printf %b)
refuses() {
	printf '%b' "$1" >"$CONF"
	expect_fail_line 1 "^tcpproxy: $CONF:$2" bash -c \
	    '"$1" -n -c "$2" 2>&1 | grep -v "^tcpproxy: configuration has"; exit "${PIPESTATUS[0]}"' \
	    - "$TCPPROXY" "$CONF"
}

@test "config: bad accept-proxy-protocol settings are refused where they stand" {
	L="listen 127.0.0.1 $P {\n remote: 127.0.0.1 9;\n"
	refuses "$L accept-proxy-protocol: v1;\n};\n" "3:25: accept-proxy-protocol v1 for the listener at line 1, but no proxy-trusted prefix says who may send the header$"
	refuses "accept-proxy-protocol: any;\n$L};\n" "1:24: accept-proxy-protocol any for the listener at line 2, but no proxy-trusted"
	refuses "$L accept-proxy-protocol: v3;\n proxy-trusted: ::1;\n};\n" "3:25: invalid accept-proxy-protocol 'v3': expected v1, v2, any or off$"
	refuses "$L accept-proxy-protocol: v2;\n proxy-trusted: 10.1.0.0/8;\n};\n" "4:17: proxy-trusted: '10.1.0.0/8' has bits set beyond its /8 prefix$"
	refuses "proxy-trusted: nowhere;\n$L accept-proxy-protocol: v2;\n};\n" "1:16: proxy-trusted: invalid address or prefix 'nowhere'"
	refuses "$L proxy-header-timeout: 0;\n};\n" "3:24: invalid proxy-header-timeout '0': a header cannot be waited for forever$"
	refuses "$L proxy-header-timeout: 5 s;\n};\n" "3:2: 'proxy-header-timeout' takes a time$"
	refuses "proxy-header-timeout: soon;\n$L};\n" "1:23: invalid time 'soon'"
	refuses "$L accept-proxy-protocol;\n};\n" "3:23: expected ':' after 'accept-proxy-protocol', found ';'$"
	# the global lines are defaults, a stanza's own replace them
	printf 'accept-proxy-protocol: v1;\nproxy-trusted: 10.0.0.0/8;\nproxy-header-timeout: 500ms;\nlisten 127.0.0.1 %s {\n remote: 127.0.0.1 9;\n proxy-trusted: ::1;\n proxy-trusted: 127.0.0.0/8;\n};\n' "$P" >"$CONF"
	run "$TCPPROXY" -n -c "$CONF"
	[ "$status" -eq 0 ] && [ "$output" = "configuration OK" ]
	# and the command line listener has them as options
	expect_fail_line 1 "^tcpproxy: --accept-proxy-protocol: accept-proxy-protocol v2, but no proxy-trusted prefix" \
	    bash -c '"$@" 2>&1 | sed -n 1p; exit "${PIPESTATUS[0]}"' - \
	    "$TCPPROXY" -n -p "$P" -r 127.0.0.1 -o 9 --accept-proxy-protocol v2
	run "$TCPPROXY" -n -p "$P" -r 127.0.0.1 -o 9 --accept-proxy-protocol any \
	    --proxy-trusted 127.0.0.3 --proxy-trusted ::1 --proxy-header-timeout 2s
	[ "$status" -eq 0 ]
}

@test "haproxy send-proxy: bytes intact both ways, the client named by the header" {
	start_haproxy
	proxy_conf
	start_proxy
	echo_via 127.0.0.5 "$H1" 1000000
	[ "$output" = "ok 1000000" ]
	wait_for_log "relay [0-9]+: new client 127\.0\.0\.5:[0-9]+ on 127\.0\.0\.1:$P via 127\.0\.0\.3:[0-9]+, PROXY v1$"
	wait_for_log "close listener=127\.0\.0\.1:$P client=127\.0\.0\.5:[0-9]+ source=[^ ]+ remote=127\.0\.0\.1:$SERVER_PORT sent=1000000 received=1000000 .*reason=eof"
	! grep -q "client=127\.0\.0\.3" "$TP_LOG"
}

@test "haproxy send-proxy-v2: bytes intact both ways, the client named by the header" {
	start_haproxy
	proxy_conf
	start_proxy
	echo_via 127.0.0.6 "$H2" 1000000
	[ "$output" = "ok 1000000" ]
	wait_for_log "new client 127\.0\.0\.6:[0-9]+ on 127\.0\.0\.1:$P via 127\.0\.0\.3:[0-9]+, PROXY v2$"
	wait_for_log "close listener=127\.0\.0\.1:$P client=127\.0\.0\.6:[0-9]+ .* sent=1000000 received=1000000 .*reason=eof"
	counters "accepted=1 denied=0 limit=0 connect-failed=0 sent=1000000 received=1000000 proxy-rejected=0$"
}

@test "allow and deny rules judge the client of the header, not the balancer" {
	start_haproxy
	# haproxy's own 127.0.0.3 would be denied: only .6 may pass
	proxy_conf 'allow: 127.0.0.6;' 'deny: 127.0.0.0/8;'
	start_proxy
	echo_via 127.0.0.6 "$H1" 1000
	[ "$output" = "ok 1000" ]
	echo_via 127.0.0.5 "$H2" 1000
	[ "$output" != "ok 1000" ]
	wait_for_log "client denied by deny 127\.0\.0\.0/8"
	wait_for_log "close listener=127\.0\.0\.1:$P client=127\.0\.0\.5:[0-9]+ source=- remote=- .*reason=denied"
	counters "accepted=2 denied=1 limit=0 connect-failed=0 sent=1000 received=1000 proxy-rejected=0$"
}

@test "max-per-source counts the clients of the header, not the balancer" {
	start_haproxy
	proxy_conf 'max-per-source: 1;'
	start_proxy
	setsid "$TBIN/tp-client" -s 127.0.0.5 -m hold -T 60 127.0.0.1 "$H1" \
	    </dev/null >/dev/null 2>&1 3>&- &
	register_pid $!
	wait_for_log "new client 127\.0\.0\.5:"
	wait_for_log "connected to 127\.0\.0\.1:$SERVER_PORT"
	# a second from .5 is over the limit; .6 is another source
	echo_via 127.0.0.5 "$H2" 1000
	[ "$output" != "ok 1000" ]
	wait_for_log "max-per-source 1 reached for this client's /32"
	wait_for_log "client=127\.0\.0\.5:[0-9]+ .*reason=limit"
	echo_via 127.0.0.6 "$H1" 1000
	[ "$output" = "ok 1000" ]
	# and SIGUSR2 lists the held one under its own address
	kill -USR2 "$TP_PID"
	wait_for_log "open listener=127\.0\.0\.1:$P client=127\.0\.0\.5:[0-9]+ remote=127\.0\.0\.1:$SERVER_PORT state=established"
}

@test "headers by hand: v1 and v2, IPv4 and IPv6, bytes in the same write relayed" {
	proxy_conf
	start_proxy
	# tp-client -H sends the header and the first 64k in one write
	header v1 'PROXY TCP4 192.0.2.7 127.0.0.1 4321 %s\r\n' "$P"
	echo_via 127.0.0.3 "$P" 100000 -H "$HDR"
	[ "$output" = "ok 100000" ]
	wait_for_log "close listener=127\.0\.0\.1:$P client=192\.0\.2\.7:4321 .* sent=100000 received=100000 .*reason=eof"
	header v1six 'PROXY TCP6 2001:db8::7 2001:db8::1 4322 443\r\n'
	echo_via 127.0.0.3 "$P" 1000 -H "$HDR"
	[ "$output" = "ok 1000" ]
	wait_for_log "close listener=127\.0\.0\.1:$P client=\[2001:db8::7\]:4322 .* sent=1000 received=1000 .*reason=eof"
	header v2 "$(v2_tcp4)"
	echo_via 127.0.0.3 "$P" 100000 -H "$HDR"
	[ "$output" = "ok 100000" ]
	wait_for_log "client=192\.0\.2\.7:4660 .* sent=100000 received=100000 .*reason=eof"
	# v2, IPv6, with a TLV to skip (type 4, NOOP)
	header v2six "$SIG"'\x21\x21\x00\x2b\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x08\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01\x12\x35\x01\xbb\x04\x00\x04skip'
	echo_via 127.0.0.3 "$P" 1000 -H "$HDR"
	[ "$output" = "ok 1000" ]
	wait_for_log "client=\[2001:db8::8\]:4661 .* sent=1000 received=1000 .*reason=eof"
	counters "accepted=4 denied=0 limit=0 connect-failed=0 sent=202000 received=202000 proxy-rejected=0$"
}

@test "PROXY UNKNOWN and v2 LOCAL leave the balancer's own address" {
	proxy_conf
	start_proxy
	header unknown 'PROXY UNKNOWN ignored till the end\r\n'
	echo_via 127.0.0.3 "$P" 1000 -H "$HDR"
	[ "$output" = "ok 1000" ]
	wait_for_log "new client 127\.0\.0\.3:[0-9]+ on 127\.0\.0\.1:$P via 127\.0\.0\.3:[0-9]+, PROXY v1 without a client address$"
	header local "$SIG"'\x20\x00\x00\x00'
	echo_via 127.0.0.3 "$P" 1000 -H "$HDR"
	[ "$output" = "ok 1000" ]
	wait_for_log "PROXY v2 without a client address$"
	wait_for_count 2 "close listener=127\.0\.0\.1:$P client=127\.0\.0\.3:[0-9]+ .* sent=1000 received=1000 .*reason=eof"
}

@test "a peer outside proxy-trusted is closed at once and counted" {
	proxy_conf
	start_proxy
	header v1 'PROXY TCP4 192.0.2.7 127.0.0.1 4321 %s\r\n' "$P"
	echo_via 127.0.0.4 "$P" 1000 -H "$HDR"
	[ "$output" != "ok 1000" ]
	wait_for_log "relay [0-9]+: 127\.0\.0\.4:[0-9]+ on 127\.0\.0\.1:$P: not proxy-trusted, closed$"
	wait_for_log "close listener=127\.0\.0\.1:$P client=127\.0\.0\.4:[0-9]+ source=- remote=- sent=0 received=0 .*reason=untrusted"
	! grep -q "192\.0\.2\.7\|connected to" "$TP_LOG"
	counters "accepted=1 denied=0 limit=0 connect-failed=0 sent=0 received=0 proxy-rejected=1$"
}

@test "a malformed header is closed and counted; a header in progress and the next client are unaffected" {
	proxy_conf 'proxy-header-timeout: 60s;'
	start_proxy
	# one client stops in the middle of its header...
	header partial 'PROXY TCP4 192.0.2'
	setsid "$TBIN/tp-client" -s 127.0.0.3 -H "$HDR" -m hold -T 60 \
	    127.0.0.1 "$P" </dev/null >"$BATS_TEST_TMPDIR/slow.out" 2>&1 3>&- &
	SLOW=$!
	register_pid "$SLOW"
	wait_for_log "127\.0\.0\.3:[0-9]+ on 127\.0\.0\.1:$P: waiting for its PROXY header$"
	kill -USR2 "$TP_PID"
	wait_for_log "open listener=127\.0\.0\.1:$P client=127\.0\.0\.3:[0-9]+ remote=- state=header"
	# ...while another sends no header at all...
	header bad 'GET / HTTP/1.0\r\n\r\n'
	run_timeout 10 "$TBIN/tp-client" -s 127.0.0.3 -H "$HDR" -m hold 127.0.0.1 "$P"
	[ "$status" -eq 0 ] && [[ $output == closed || $output == reset ]]
	wait_for_log "127\.0\.0\.3:[0-9]+ on 127\.0\.0\.1:$P: not a PROXY protocol header$"
	wait_for_log "reason=proxy-header"
	# ...and a third a header with a bad port
	header badport 'PROXY TCP4 192.0.2.7 127.0.0.1 65536 1\r\n'
	run_timeout 10 "$TBIN/tp-client" -s 127.0.0.3 -H "$HDR" -m hold 127.0.0.1 "$P"
	[[ $output == closed || $output == reset ]]
	wait_for_log "v1 header with an invalid port$"
	# the next client is served, the first still waits
	header v1 'PROXY TCP4 192.0.2.7 127.0.0.1 4321 %s\r\n' "$P"
	echo_via 127.0.0.3 "$P" 100000 -H "$HDR"
	[ "$output" = "ok 100000" ]
	kill -USR2 "$TP_PID"
	wait_for_count 2 "open listener=127\.0\.0\.1:$P client=127\.0\.0\.3:[0-9]+ remote=- state=header"
	_alive "$SLOW"
	kill "$SLOW"
	wait_for_log "closed in the middle of its PROXY header$"
	counters "accepted=4 denied=0 limit=0 connect-failed=0 sent=100000 received=100000 proxy-rejected=3$"
}

@test "a header not complete within proxy-header-timeout is closed and counted" {
	proxy_conf 'proxy-header-timeout: 1s;'
	start_proxy
	header partial "$SIG"'\x21\x11\x00\x0c\xc0\x00'
	run_timeout 20 "$TBIN/tp-client" -s 127.0.0.3 -H "$HDR" -m hold -T 15 127.0.0.1 "$P"
	[ "$status" -eq 0 ] && [[ $output == closed || $output == reset ]]
	wait_for_log "127\.0\.0\.3:[0-9]+ on 127\.0\.0\.1:$P: no complete PROXY header within proxy-header-timeout$"
	wait_for_log "client=127\.0\.0\.3:[0-9]+ source=- remote=- sent=0 received=0 duration_ms=[0-9]+ reason=header-timeout$"
	counters "accepted=1 denied=0 limit=0 connect-failed=0 sent=0 received=0 proxy-rejected=1$"
}

@test "a v1 listener refuses v2 headers, a v2 listener v1 ones, any takes both" {
	free_ports 2
	P1=${PORTS[0]} P2=${PORTS[1]}
	printf 'proxy-trusted: 127.0.0.3;\nlisten 127.0.0.1 %s {\n remote: 127.0.0.1 %s;\n accept-proxy-protocol: v1;\n};\nlisten 127.0.0.1 %s {\n remote: 127.0.0.1 %s;\n accept-proxy-protocol: v2;\n};\n' \
	    "$P1" "$SERVER_PORT" "$P2" "$SERVER_PORT" >"$CONF"
	start_proxy
	header v1 'PROXY TCP4 192.0.2.7 127.0.0.1 4321 80\r\n'
	V1=$HDR
	header v2 "$(v2_tcp4)"
	V2=$HDR
	echo_via 127.0.0.3 "$P1" 1000 -H "$V1"
	[ "$output" = "ok 1000" ]
	echo_via 127.0.0.3 "$P2" 1000 -H "$V2"
	[ "$output" = "ok 1000" ]
	echo_via 127.0.0.3 "$P1" 1000 -H "$V2"
	[ "$output" != "ok 1000" ]
	wait_for_log "on 127\.0\.0\.1:$P1: a v2 header where only v1 is accepted$"
	echo_via 127.0.0.3 "$P2" 1000 -H "$V1"
	[ "$output" != "ok 1000" ]
	wait_for_log "on 127\.0\.0\.1:$P2: a v1 header where only v2 is accepted$"
	wait_for_count 2 "reason=proxy-header"
	# haproxy's two flavours through one "any" listener are the tests above
}

@test "a header received, a header sent on: the backend sees the first client" {
	start_haproxy
	printf 'listen 127.0.0.1 %s {\n remote: 127.0.0.1 %s;\n accept-proxy-protocol: any;\n proxy-trusted: 127.0.0.3;\n proxy-protocol: v2;\n};\n' \
	    "$P" "$HW" >"$CONF"
	start_proxy
	header req 'GET / HTTP/1.0\r\n\r\n'
	run_timeout 20 "$TBIN/tp-client" -s 127.0.0.5 -H "$HDR" -m send -n 0 127.0.0.1 "$H1"
	[ "$status" -eq 0 ]
	# the address the client reached is haproxy's frontend, too
	[[ ${output##*$'\r\n\r\n'} == "src=127.0.0.5 dst=127.0.0.1:$H1" ]]
}
