#!/usr/bin/env bats
# PROXY protocol v1 and v2 towards a real consumer: haproxy with
# accept-proxy answers with the client address it was told.

load helper

setup() {
	free_ports 3
	P=${PORTS[0]} HP=${PORTS[1]} P6=${PORTS[2]}
	CONF=$BATS_TEST_TMPDIR/t.conf
	cat >"$BATS_TEST_TMPDIR/haproxy.cfg" <<-EOC
	defaults
	    mode http
	    timeout connect 5s
	    timeout client 5s
	    timeout server 5s
	frontend fe
	    bind 127.0.0.1:$HP accept-proxy
	    http-request return status 200 content-type text/plain lf-string "src=%[src] port=%[src_port] dst=%[dst]:%[dst_port]"
	EOC
	setsid haproxy -f "$BATS_TEST_TMPDIR/haproxy.cfg" -db </dev/null \
	    >"$BATS_TEST_TMPDIR/haproxy.log" 2>&1 3>&- &
	register_pid $!
	wait_for_port "$HP"
}

# ask ADDR PORT: one HTTP request through tcpproxy; the reply body
ask() {
	local reply
	exec 5<>"/dev/tcp/$1/$2"
	printf 'GET / HTTP/1.0\r\n\r\n' >&5
	reply=$(timeout 10 cat <&5)
	exec 5>&-
	echo "${reply##*$'\r\n\r\n'}"
}

@test "v1: the backend sees the real client, not tcpproxy's source" {
	printf 'listen 127.0.0.1 %s {\n remote: 127.0.0.1 %s;\n source: 127.0.0.2;\n proxy-protocol: v1;\n};\n' "$P" "$HP" >"$CONF"
	start_tcpproxy -w 1 -c "$CONF"
	wait_for_log "ready"
	body=$(ask 127.0.0.1 "$P")
	[[ $body =~ ^src=127\.0\.0\.1\ port=[0-9]+\ dst=127\.0\.0\.1:$P$ ]]
	# and the port is the client's own, as tcpproxy logged it
	port=${body#*port=}; port=${port%% *}
	wait_for_log "new client 127.0.0.1:$port on"
}

@test "v2: binary header, IPv4 and IPv6 clients" {
	printf 'listen 127.0.0.1 %s {\n remote: 127.0.0.1 %s;\n source: 127.0.0.2;\n proxy-protocol: v2;\n};\nlisten ::1 %s {\n remote: 127.0.0.1 %s;\n proxy-protocol: v2;\n};\n' \
	    "$P" "$HP" "$P6" "$HP" >"$CONF"
	start_tcpproxy -w 1 -c "$CONF"
	wait_for_log "ready"
	body=$(ask 127.0.0.1 "$P")
	[[ $body =~ ^src=127\.0\.0\.1\ port=[0-9]+\ dst=127\.0\.0\.1:$P$ ]]
	body=$(ask ::1 "$P6")
	[[ $body =~ ^src=::1\ port=[0-9]+\ dst=::1:$P6$ ]]
}

@test "without proxy-protocol the backend sees tcpproxy's source" {
	# haproxy refuses a connection without a PROXY header: so the
	# header is what made the tests above work
	printf 'listen 127.0.0.1 %s {\n remote: 127.0.0.1 %s;\n source: 127.0.0.2;\n};\n' "$P" "$HP" >"$CONF"
	start_tcpproxy -w 1 -c "$CONF"
	wait_for_log "ready"
	body=$(ask 127.0.0.1 "$P")
	[[ $body != *src=* ]]
}
