#!/usr/bin/env bats
# The in-kernel data path (BPF sockmap): which connections take it, that
# every byte still arrives in order and is counted, that the ends and
# the timeouts still work, and the bound on what the kernel holds for a
# reader that stopped.  The suite runs on both of the worker's loops.

load helper

setup() {
	free_ports 2
	P=${PORTS[0]} P2=${PORTS[1]}
	CONF=$BATS_TEST_TMPDIR/tcpproxy.conf
}

teardown() {
	helper_teardown
}

# proxy [ARGS...]: one worker from 127.0.0.1 P to the server on SERVER_HOST
proxy() {
	start_tcpproxy -w 1 -l "${LISTEN_HOST:-127.0.0.1}" -p "$P" \
	    -r "${SERVER_HOST:-127.0.0.1}" -o "$SERVER_PORT" "$@"
	wait_for_log "ready: "
	wait_for_port "$P" "${LISTEN_HOST:-127.0.0.1}"
}

@test "the in-kernel data path is built in, and the worker has it" {
	run "$TCPPROXY" -v
	[[ $output == *"in-kernel data path (BPF sockmap): built in"* ]]
	start_server echo
	proxy
	wait_for_log "sockmap: in-kernel data path ready"
}

@test "a chatty connection moves to the kernel, every byte in order, FIN both ways" {
	# -a: what the client has ahead stays under a bulk read (16 KB) and
	# far under the kernel's bound however slowly the proxy runs (as
	# under valgrind): both directions go in, neither is taken back.
	start_server echo
	proxy
	run_timeout 30 "$TBIN/tp-client" -m echo -c 10 -a 8192 -n 2000000 127.0.0.1 "$P"
	[ "$output" = "ok 2000000" ]
	wait_for_log "reason=eof"
	grep -q "relay 2: up in the kernel" "$TP_LOG"
	grep -q "relay 2: down in the kernel" "$TP_LOG"
	grep -q "relay 2: up back in user space after .*, at its end" "$TP_LOG"
	grep -q "relay 2: down back in user space after .*, at its end" "$TP_LOG"
	grep -q "relay 2: close .* sent=2000000 received=2000000 .*reason=eof" "$TP_LOG"
}

@test "IPv6, and many chatty connections at once" {
	start_server echo -l ::1
	SERVER_HOST=::1 LISTEN_HOST=::1 proxy
	pids=()
	for i in $(seq 16); do
		"$TBIN/tp-client" -m echo -c 10 -b 200 -n 2000000 -T 60 ::1 "$P" \
		    >"$BATS_TEST_TMPDIR/c.$i" 2>&1 &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || { cat "$BATS_TEST_TMPDIR/c.$((i + 1))"; false; }
	done
	for i in $(seq 16); do
		[ "$(cat "$BATS_TEST_TMPDIR/c.$i")" = "ok 2000000" ]
	done
	wait_for_count 17 "reason=eof"
	[ "$(grep -c "sent=2000000 received=2000000 .*reason=eof" "$TP_LOG")" -eq 16 ]
	[ "$(grep -c "up in the kernel" "$TP_LOG")" -ge 16 ]
	! grep -q "lost" "$TP_LOG"
}

@test "a bulk transfer stays in user space; --no-sockmap keeps every connection there" {
	start_server echo
	proxy
	run_timeout 30 "$TBIN/tp-client" -m echo -n 5000000 127.0.0.1 "$P"
	[ "$output" = "ok 5000000" ]
	wait_for_log "reason=eof"
	! grep -q "in the kernel" "$TP_LOG"
	stop_tcpproxy
	free_ports 1
	P=${PORTS[0]}
	start_tcpproxy -w 1 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT" \
	    --no-sockmap
	wait_for_port "$P"
	run_timeout 30 "$TBIN/tp-client" -m echo -c 10 -n 200000 127.0.0.1 "$P"
	[ "$output" = "ok 200000" ]
	wait_for_log "sent=200000 received=200000"
	! grep -q "in the kernel\|sockmap" "$TP_LOG"
}

@test "with -u nobody -C, the workers use the maps the master made" {
	jail=$BATS_TEST_TMPDIR/jail
	mkdir -m 0755 "$jail"
	start_server echo
	proxy -u nobody -C "$jail"
	run_timeout 30 "$TBIN/tp-client" -m echo -c 10 -n 500000 127.0.0.1 "$P"
	[ "$output" = "ok 500000" ]
	wait_for_log "sent=500000 received=500000 .*reason=eof"
	grep -q "up in the kernel" "$TP_LOG"
	w=$(workers_of "$TP_PID")
	[ "$(status_field "$w" Uid)" = "65534 65534 65534 65534" ]
}

@test "a master that may not load BPF says so once and relays in user space" {
	start_server echo
	start_tcpproxy_via setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    -- -w 2 -S none -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o "$SERVER_PORT"
	wait_for_port "$P"
	run_timeout 30 "$TBIN/tp-client" -m echo -c 10 -n 200000 127.0.0.1 "$P"
	[ "$output" = "ok 200000" ]
	wait_for_log "sent=200000 received=200000"
	[ "$(grep -c "sockmap: cannot load the program: .*; connections are relayed in user space" "$TP_LOG")" -eq 1 ]
	! grep -q "in the kernel" "$TP_LOG"
}

@test "a worker whose map refuses a socket says so once and relays in user space" {
	start_server echo
	TCPPROXY_TEST_HOOKS=sockmap-refuse proxy
	for i in 1 2; do
		run_timeout 30 "$TBIN/tp-client" -m echo -c 10 -n 200000 127.0.0.1 "$P"
		[ "$output" = "ok 200000" ]
	done
	wait_for_count 2 "sent=200000 received=200000 .*reason=eof"
	[ "$(grep -c "ERROR: worker 1: sockmap: cannot add a socket to the map: .*; new connections stay in user space" "$TP_LOG")" -eq 1 ]
	! grep -q "in the kernel" "$TP_LOG"
}

@test "the remote ends first while the client still sends: both halves arrive" {
	start_server echofin -n 100000
	proxy
	run_timeout 30 "$TBIN/tp-client" -m sendfin -c 10 -n 3000000 127.0.0.1 "$P"
	[ "$output" = "sent 3000000 got 100000" ]
	sum=$("$TBIN/tp-client" -m pattern -n 3000000)
	wait_for_log "tp-server: echofin 3000000 ${sum#* }" "$SERVER_LOG"
	wait_for_log "sent=3000000 received=100000 .*reason=eof"
	grep -q "down back in user space after .*, at its end" "$TP_LOG"
}

@test "a client that stops reading: the kernel holds a bounded amount, then the reset propagates" {
	start_server echo
	proxy
	run_timeout 60 "$TBIN/tp-client" -m stall -c 10 -n 200000000 -d 2000 127.0.0.1 "$P"
	if grep -q "lost" "$TP_LOG"; then
		# The race the man page describes (a segment in flight as the
		# direction leaves the kernel is dropped): then both ends are
		# reset, never a stream with a hole.  Rare, but it happens.
		grep -q "relay 2: sockmap: the kernel lost [0-9]* bytes of the .* direction as it left the kernel; both ends reset" "$TP_LOG"
		wait_for_log "relay 2: close .*reason=error"
	else
		[ "$status" -eq 0 ]
		sent=${output#sent }
		echo "sent $sent of 200000000" >&2
		# Without the bound the kernel takes all 200 MB in.  With it,
		# what waits in the kernel when a direction is taken back is
		# the bound (256 KB) and what moved before the worker looked,
		# a few MB on a busy machine; the rest is in the sockets' own
		# buffers (up to tcp_rmem and tcp_wmem each).
		((sent < 200000000))
		wait_for_log "reason=reset"
	fi
	grep "wait in the kernel; taken back" "$TP_LOG" >&2
	n=0
	while read -r waiting; do
		((waiting < 16000000))
		n=$((n + 1))
	done < <(sed -n 's/.*: \([0-9]*\) bytes wait in the kernel; taken back.*/\1/p' "$TP_LOG")
	((n >= 1))
}

@test "a slow reader on the kernel path gets every byte, in order" {
	start_server echo
	proxy
	run_timeout 120 "$TBIN/tp-client" -m echo -c 10 -r 200 -n 6000000 -T 100 127.0.0.1 "$P"
	[ "$output" = "ok 6000000" ]
	wait_for_log "sent=6000000 received=6000000 .*reason=eof"
	grep -q "up in the kernel" "$TP_LOG"
	! grep -q "lost" "$TP_LOG"
}

@test "idle-timeout closes a silent kernel connection, not a busy one" {
	start_server echo
	printf 'listen 127.0.0.1 %s {\n remote: 127.0.0.1 %s;\n idle-timeout: 2;\n};\n' \
	    "$P" "$SERVER_PORT" >"$CONF"
	start_tcpproxy -w 1 -c "$CONF"
	wait_for_port "$P"
	# 4 s of paced writes, all in the kernel after the first few, and
	# under the 64 KB after which the kernel would tell the worker: only
	# asking the kernel shows the timer that they moved
	run_timeout 30 "$TBIN/tp-client" -m echo -c 10 -i 20000 -b 200 -n 42000 127.0.0.1 "$P"
	[ "$output" = "ok 42000" ]
	wait_for_log "sent=42000 received=42000 .*reason=eof"
	grep -q "up in the kernel" "$TP_LOG"
	# the same rounds, then 8 s of silence: closed by the timer
	run_timeout 30 "$TBIN/tp-client" -m echo -c 10 -i 8000000 -n 4000 -T 20 127.0.0.1 "$P"
	[ "$status" -ne 0 ]
	wait_for_log "relay 3: close .*reason=idle-timeout"
	grep -q "relay 3: up in the kernel" "$TP_LOG"
}

@test "fin-timeout closes a half-closed kernel connection gone silent, not a busy one" {
	start_server echofin -n 2000
	printf 'listen 127.0.0.1 %s {\n remote: 127.0.0.1 %s;\n fin-timeout: 2;\n};\n' \
	    "$P" "$SERVER_PORT" >"$CONF"
	start_tcpproxy -w 1 -c "$CONF"
	wait_for_port "$P"
	# ten rounds, the remote's FIN, then 6 s of writes 300 ms apart:
	# the kernel's bytes keep the half-closed connection open
	run_timeout 30 "$TBIN/tp-client" -m sendfin -c 10 -b 200 -i 300000 -n 6000 127.0.0.1 "$P"
	[ "$output" = "sent 6000 got 2000" ]
	wait_for_log "relay 2: close .* sent=6000 received=2000 .*reason=eof"
	grep -q "relay 2: up in the kernel" "$TP_LOG"
	# the same, then 8 s without a write: closed by the timer
	run_timeout 30 "$TBIN/tp-client" -m sendfin -c 10 -b 200 -i 8000000 -n 4000 -T 20 127.0.0.1 "$P"
	wait_for_log "relay 3: close .*reason=fin-timeout"
	grep -q "relay 3: up in the kernel" "$TP_LOG"
}

@test "show connections and show stats count an open kernel connection's bytes" {
	SOCK=$BATS_TEST_TMPDIR/ctl.sock
	start_server echo
	proxy -S "$SOCK"
	"$TBIN/tp-client" -m echo -c 10 -i 2000 -b 200 -n 600000 -T 60 127.0.0.1 "$P" \
	    >"$BATS_TEST_TMPDIR/c" 2>&1 &
	cpid=$!
	wait_for_log "relay 2: down in the kernel"
	sleep 1
	run_timeout 10 "$TOP/tcpproxyctl" -s "$SOCK" -j show connections
	[ "$status" -eq 0 ]
	echo "$output" >&2
	# ten rounds of 200 bytes went through user space, a second more
	# of rounds through the kernel
	sent=$(jq -er '.connections[0].bytes_sent' <<<"$output")
	received=$(jq -er '.connections[0].bytes_received' <<<"$output")
	((sent > 20000 && received > 20000))
	run_timeout 10 "$TOP/tcpproxyctl" -s "$SOCK" -j show stats
	[ "$status" -eq 0 ]
	total=$(jq -er '.total.bytes_sent' <<<"$output")
	((total >= sent))
	wait "$cpid"
	[ "$(cat "$BATS_TEST_TMPDIR/c")" = "ok 600000" ]
	wait_for_log "relay 2: close .* sent=600000 received=600000 .*reason=eof"
	run_timeout 10 "$TOP/tcpproxyctl" -s "$SOCK" -j show stats
	[ "$(jq -er '.total.bytes_sent' <<<"$output")" -eq 600000 ]
	[ "$(jq -er '.total.bytes_received' <<<"$output")" -eq 600000 ]
}

@test "SIGUSR2 and the close line count the bytes the kernel moved" {
	start_server echo
	proxy
	"$TBIN/tp-client" -m echo -c 10 -i 2000 -b 200 -n 600000 -T 60 127.0.0.1 "$P" \
	    >"$BATS_TEST_TMPDIR/c" 2>&1 &
	cpid=$!
	wait_for_log "down in the kernel"
	sleep 1
	kill -USR2 "$TP_PID"
	wait_for_log "relay 2: open .* state=established sent="
	line=$(grep "relay 2: open" "$TP_LOG")
	sent=${line#*sent=}
	sent=${sent%% *}
	echo "$line" >&2
	# ten rounds of 200 bytes went through user space; a second more
	# of rounds went through the kernel
	((sent > 20000))
	wait "$cpid"
	[ "$(cat "$BATS_TEST_TMPDIR/c")" = "ok 600000" ]
	wait_for_log "relay 2: close .* sent=600000 received=600000 .*reason=eof"
}

@test "a reload keeps kernel connections going; a restarted worker gets maps of its own" {
	start_server echo
	printf 'listen 127.0.0.1 %s {\n remote: 127.0.0.1 %s;\n};\n' \
	    "$P" "$SERVER_PORT" >"$CONF"
	start_tcpproxy -w 1 -c "$CONF"
	wait_for_port "$P"
	"$TBIN/tp-client" -m echo -c 10 -i 2000 -b 200 -n 400000 -T 60 127.0.0.1 "$P" \
	    >"$BATS_TEST_TMPDIR/c" 2>&1 &
	cpid=$!
	wait_for_log "down in the kernel"
	kill -HUP "$TP_PID"
	wait "$cpid"
	[ "$(cat "$BATS_TEST_TMPDIR/c")" = "ok 400000" ]
	w=$(workers_of "$TP_PID")
	kill -KILL "$w"
	wait_replaced "$TP_PID" "$w" 1
	wait_for_count 2 "sockmap: in-kernel data path ready"
	run_timeout 30 "$TBIN/tp-client" -m echo -c 10 -n 300000 127.0.0.1 "$P"
	[ "$output" = "ok 300000" ]
	wait_for_log "sent=300000 received=300000 .*reason=eof"
}
