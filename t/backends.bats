#!/usr/bin/env bats
# Several backends per listener: backup: lines tried after the remote,
# server: lines balanced with it (first, round-robin, source-hash), and
# passive health shared by all workers (down-after:, down-for:).  Which
# backend served a client is read from the "connected to" log lines:
# every backend listens on an address of its own.

load helper

CTL=${TCPPROXYCTL:-$TOP/tcpproxyctl}

setup() {
	free_ports 3
	P=${PORTS[0]} B=${PORTS[1]} P2=${PORTS[2]}
	CONF=$BATS_TEST_TMPDIR/t.conf
}

# echo_on ADDR: an echo server on ADDR port $B
echo_on() {
	start_server echo -l "$1" -p "$B"
}

# expect_lines N REGEX: the log reaches N lines that match (workers' lines
# come through the master, after the client is done) and stays at N
expect_lines() {
	wait_for_count "$1" "$2"
	sleep 0.2
	local n
	n=$(grep -Ec -- "$2" "$TP_LOG" || true)
	[ "$n" -eq "$1" ] || { echo "expected $1 lines /$2/, found $n" >&2; return 1; }
}

# expect_served N ADDR: exactly N relays connected to ADDR:$B
expect_served() {
	expect_lines "$1" "connected to $2:$B from"
}

# clients N [SOURCE]: N echo clients one after the other, all served
clients() {
	local i src=()
	[[ -n ${2:-} ]] && src=(-s "$2")
	for ((i = 0; i < $1; i++)); do
		run_timeout 20 "$TBIN/tp-client" "${src[@]}" -m echo -n 1000 127.0.0.1 "$P"
		[ "$output" = "ok 1000" ] || return 1
	done
}

@test "backup: taken when the remote refuses, in the order given" {
	echo_on 127.0.0.13
	cat >"$CONF" <<-EOF
	listen 127.0.0.1 $P {
		remote: 127.0.0.11 $B;
		backup: 127.0.0.12 $B;
		backup: 127.0.0.13 $B;
	};
	EOF
	start_tcpproxy -w 1 -c "$CONF"
	wait_for_log "listening on 127.0.0.1:$P -> 127.0.0.11:$B backup 127.0.0.12:$B backup 127.0.0.13:$B"
	clients 2
	expect_served 2 127.0.0.13
	wait_for_log "connect to 127.0.0.11:$B failed: Connection refused"
	wait_for_log "connect to 127.0.0.12:$B failed: Connection refused"
	# the remote is back: it comes first again
	echo_on 127.0.0.11
	clients 1
	expect_served 1 127.0.0.11
}

@test "backup: taken when the remote black-holes, after connect-timeout" {
	start_server blackhole -l 127.0.0.21 -p "$B"
	echo_on 127.0.0.22
	cat >"$CONF" <<-EOF
	listen 127.0.0.1 $P {
		remote: 127.0.0.21 $B;
		backup: 127.0.0.22 $B;
		connect-timeout: 1;
	};
	EOF
	start_tcpproxy -w 1 -c "$CONF"
	wait_for_log "ready"
	clients 1
	expect_served 1 127.0.0.22
	wait_for_log "connect to 127.0.0.21:$B failed: Connection timed out"
}

@test "down-after: shared by the workers, skipped while down, back when it answers" {
	echo_on 127.0.0.32
	cat >"$CONF" <<-EOF
	listen 127.0.0.1 $P {
		remote: 127.0.0.31 $B;
		backup: 127.0.0.32 $B;
		down-after: 2;
		down-for: 2s;
	};
	EOF
	start_tcpproxy -w 2 -S "$BATS_TEST_TMPDIR/ctl.sock" -c "$CONF"
	wait_for_log "ready: 1 listeners, 2 workers"
	# whichever worker each client lands on, two failures in all
	# put the remote down for both
	clients 12
	expect_served 12 127.0.0.32
	expect_lines 2 "connect to 127.0.0.31:$B failed"
	expect_lines 1 "remote 127.0.0.31:$B of 127.0.0.1:$P: 2 failed connects in a row, down for 2000 ms"
	# shown by SIGUSR1 and by the control socket
	kill -USR1 "$TP_PID"
	wait_for_log "listener 1 remotes down: 127.0.0.31:$B \([0-9]+ ms left, 2 failed\)"
	run_timeout 10 "$CTL" -s "$BATS_TEST_TMPDIR/ctl.sock" -j show listeners
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(jq -r '.listeners[0].down' <<<"$output")" = "127.0.0.31:$B" ]
	[ "$(jq -r '.listeners[0].backups' <<<"$output")" = "127.0.0.32:$B" ]
	# back: after down-for the next client tries it, and it is up
	echo_on 127.0.0.31
	sleep 2.2
	clients 1
	expect_served 1 127.0.0.31
	wait_for_log "remote 127.0.0.31:$B of 127.0.0.1:$P answers again: up"
	expect_lines 1 "answers again"
}

@test "down-after: with every address down, all are still tried" {
	cat >"$CONF" <<-EOF
	listen 127.0.0.1 $P {
		remote: 127.0.0.41 $B;
		backup: 127.0.0.42 $B;
		down-after: 1;
		down-for: 1h;
	};
	EOF
	start_tcpproxy -w 1 -c "$CONF"
	wait_for_log "ready"
	run_timeout 10 "$TBIN/tp-client" -m hold -T 5 127.0.0.1 "$P"
	[ "$output" = closed ]
	wait_for_log "remote 127.0.0.42:$B .* down for 3600000 ms"
	# both are down for an hour, yet the backup that comes back serves
	echo_on 127.0.0.42
	clients 1
	expect_served 1 127.0.0.42
}

@test "down-after: 0 turns it off: every client tries the dead remote" {
	echo_on 127.0.0.52
	cat >"$CONF" <<-EOF
	listen 127.0.0.1 $P {
		remote: 127.0.0.51 $B;
		backup: 127.0.0.52 $B;
		down-after: 0;
	};
	EOF
	start_tcpproxy -w 1 -c "$CONF"
	wait_for_log "ready"
	clients 5
	expect_lines 5 "connect to 127.0.0.51:$B failed"
	! grep -q "failed connects in a row" "$TP_LOG" || false
}

@test "balance: round-robin follows the weights" {
	echo_on 127.0.0.61
	echo_on 127.0.0.62
	echo_on 127.0.0.63
	cat >"$CONF" <<-EOF
	listen 127.0.0.1 $P {
		remote: 127.0.0.61 $B;
		server: 127.0.0.62 $B;
		server: 127.0.0.63 $B weight 2;
		balance: round-robin;
	};
	EOF
	start_tcpproxy -w 1 -c "$CONF"
	wait_for_log "-> 127.0.0.61:$B, 127.0.0.62:$B, 127.0.0.63:$B balance round-robin"
	clients 40
	expect_served 10 127.0.0.61
	expect_served 10 127.0.0.62
	expect_served 20 127.0.0.63
}

@test "balance: first sticks to the remote; round-robin skips a server that refuses" {
	echo_on 127.0.0.71
	cat >"$CONF" <<-EOF
	listen 127.0.0.1 $P {
		remote: 127.0.0.71 $B;
		server: 127.0.0.72 $B;
	};
	listen 127.0.0.1 $P2 {
		remote: 127.0.0.71 $B;
		server: 127.0.0.72 $B;
		balance: round-robin;
		down-after: 0;
	};
	EOF
	start_tcpproxy -w 1 -c "$CONF"
	wait_for_log "ready"
	clients 6
	expect_served 6 127.0.0.71
	! grep -q "connect to 127.0.0.72" "$TP_LOG" || false
	# round-robin: every other client starts at the dead one, and fails
	# over to the remote
	P=$P2 clients 6
	expect_served 12 127.0.0.71
	expect_lines 3 "connect to 127.0.0.72:$B failed"
}

@test "balance: source-hash keeps each client address on one server, and spreads them" {
	echo_on 127.0.0.81
	echo_on 127.0.0.82
	echo_on 127.0.0.83
	cat >"$CONF" <<-EOF
	listen 127.0.0.1 $P {
		remote: 127.0.0.81 $B;
		server: 127.0.0.82 $B;
		server: 127.0.0.83 $B;
		balance: source-hash;
	};
	EOF
	start_tcpproxy -w 2 -c "$CONF"
	wait_for_log "ready: 1 listeners, 2 workers"
	used=()
	for s in $(seq 2 21); do
		before=$(((s - 2) * 3))
		clients 3 "127.0.1.$s"
		wait_for_count $((before + 3)) "connected to"
		# the three relays of this source all went to one server
		servers=$(grep "connected to" "$TP_LOG" | tail -n +$((before + 1)) |
		    sed -E 's/.*connected to ([0-9.]+):.*/\1/' | sort -u)
		[ "$(wc -l <<<"$servers")" -eq 1 ]
		used+=("$servers")
	done
	[ "$(printf '%s\n' "${used[@]}" | sort -u | wc -l)" -ge 2 ]
}

@test "config: server, backup, balance and health misuse is reported where it stands" {
	cat >"$CONF" <<-EOF
	listen 127.0.0.1 $P {
		remote: 127.0.0.1 $B;
		server: 127.0.0.2 $B weight 0;
		server: 127.0.0.3 $B weight;
		server: 127.0.0.4 $B heavy 2;
		backup: 127.0.0.5;
		backup: 127.0.0.6 nosuchport;
		balance: random;
		down-after: lots;
		down-for: soon;
	};
	EOF
	run_timeout 20 "$TCPPROXY" -n -c "$CONF"
	echo "$output"
	[ "$status" -eq 1 ]
	# (<<- takes the tabs away: statements start in column 1)
	[[ $output == *"$CONF:4:"*": expected 'weight N' after the port, found 'weight'"* ]]
	[[ $output == *"$CONF:5:"*": expected 'weight N' after the port, found 'heavy'"* ]]
	[[ $output == *"$CONF:6:1: 'backup' takes a host and a port"* ]]
	# past the parse: the values
	sed -i -e '/weight;/d' -e '/heavy/d' -e '/backup: 127.0.0.5;/d' "$CONF"
	run_timeout 20 "$TCPPROXY" -n -c "$CONF"
	echo "$output"
	[ "$status" -eq 1 ]
	col=$(( $(sed -n 3p "$CONF" | grep -bo 'weight 0' | cut -d: -f1) + 8 ))
	[[ $output == *"$CONF:3:$col: invalid weight '0': expected 1 to 100"* ]]
	[[ $output == *"$CONF:4:"*"nosuchport"* ]]
	[[ $output == *"$CONF:5:10: invalid balance 'random': expected first, round-robin or source-hash"* ]]
	[[ $output == *"$CONF:6:13: invalid down-after 'lots'"* ]]
	[[ $output == *"$CONF:7:11: invalid time 'soon'"* ]]
}

@test "config: at most 8 server lines" {
	{
		echo "listen 127.0.0.1 $P {"
		echo "remote: 127.0.0.1 $B;"
		for i in $(seq 1 9); do echo "server: 127.0.0.$((i + 1)) $B;"; done
		echo "};"
	} >"$CONF"
	run_timeout 20 "$TCPPROXY" -n -c "$CONF"
	[ "$status" -eq 1 ]
	[[ $output == *"$CONF:11:9: more than 8 server lines in one stanza"* ]]
}

@test "resolve-interval: names whose addresses change are followed without a reload" {
	hosts=$BATS_TEST_TMPDIR/hosts
	printf '127.0.0.91 moving.test\n127.0.0.95 src.test\n' >"$hosts"
	echo_on 127.0.0.91
	echo_on 127.0.0.92
	cat >"$CONF" <<-EOF
	listen 127.0.0.1 $P {
		remote: moving.test $B;
		source: src.test;
		resolve-interval: 1;
	};
	EOF
	# the resolver runs as the workers do: as nobody
	start_tcpproxy_via "${WITH_HOSTS[@]}" "$hosts" -- -w 2 -u nobody -c "$CONF"
	wait_for_log "ready: 1 listeners, 2 workers"
	clients 2
	expect_served 2 127.0.0.91
	# the same file (a bind mount follows the inode): written in place
	wait_for_log "connected to 127.0.0.91:$B from 127.0.0.95:"
	printf '127.0.0.92 moving.test\n127.0.0.96 src.test\n' >"$hosts"
	wait_for_log "resolve-interval: the listen stanza at line 1 now connects to 127.0.0.92:$B from 127.0.0.96$"
	wait_for_log "generation 2: remote addresses changed; sending it to the workers"
	wait_for_count 2 "now serving 1 listeners of generation 2"
	clients 2
	expect_served 2 127.0.0.92
	wait_for_log "connected to 127.0.0.92:$B from 127.0.0.96:"
	# a name that no longer resolves keeps the addresses it had
	printf '127.0.0.93 elsewhere.test\n' >"$hosts"
	wait_for_log "resolve-interval: line 2: cannot resolve moving.test: .*; keeping its addresses" "$TP_LOG" 30
	wait_for_log "resolve-interval: line 3: source: cannot resolve src.test: .*; keeping its addresses"
	clients 1
	expect_served 3 127.0.0.92
	# one socket all along, and no reload
	expect_lines 1 "listening on 127.0.0.1:$P"
	! grep -q "reload" "$TP_LOG" || false
}

@test "resolve-interval: off by default; under a second is an error" {
	printf 'listen 127.0.0.1 %s {\n remote: 127.0.0.1 %s;\n resolve-interval: 500ms;\n};\n' "$P" "$B" >"$CONF"
	run_timeout 20 "$TCPPROXY" -n -c "$CONF"
	[ "$status" -eq 1 ]
	[[ $output == *"$CONF:3:20: resolve-interval '500ms' is under a second"* ]]
	echo_on 127.0.0.1
	printf 'listen 127.0.0.1 %s {\n remote: localhost %s;\n};\n' "$P" "$B" >"$CONF"
	TP_LOGLEVEL=5 start_tcpproxy -w 1 -c "$CONF"
	wait_for_log "ready"
	sleep 1.5
	! grep -q "resolve-interval" "$TP_LOG" || false
}
