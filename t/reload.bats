#!/usr/bin/env bats
# SIGHUP reloads atomically and without a hitch; SIGUSR1 and SIGUSR2
# tell what is open.  Log rotation on SIGHUP is in logging.bats.

load helper

setup() {
	free_ports 3
	P1=${PORTS[0]} P2=${PORTS[1]} P3=${PORTS[2]}
	# the master names the file by its real path
	CONF=$(cd "$BATS_TEST_TMPDIR" && pwd -P)/tcpproxy.conf
}

teardown() {
	local rc=0
	helper_teardown || rc=$?
	[[ -n ${PRIV_DIR:-} ]] && rm -rf "$PRIV_DIR"
	return "$rc"
}

# conf 'PORT REMOTE_PORT [STATEMENT]'...: CONF becomes one stanza on
# 127.0.0.1 per argument
conf() {
	local a port rport extra
	: >"$CONF.new"
	for a in "$@"; do
		read -r port rport extra <<<"$a"
		printf 'listen 127.0.0.1 %s {\n\tremote: 127.0.0.1 %s;\n%s};\n' \
		    "$port" "$rport" "${extra:+	$extra
}" >>"$CONF.new"
	done
	mv "$CONF.new" "$CONF"
}

# count REGEX [FILE]: how many lines match
count() {
	grep -Ec -- "$1" "${2:-$TP_LOG}" || true
}

# hup GENERATION: reload and wait until every worker serves it
hup() {
	kill -HUP "$TP_PID"
	wait_for_log "NOTICE: master: reload complete: generation $1,"
}

# echo_ok PORT [HOST]: a connection through PORT echoes 10000 bytes
echo_ok() {
	run_timeout 10 "$TBIN/tp-client" -m echo -n 10000 "${2:-127.0.0.1}" "$1"
	if [[ $output != "ok 10000" ]]; then
		echo "echo through port $1: status $status: $output" >&2
		return 1
	fi
}

# refused PORT: nothing listens on 127.0.0.1:PORT any more
refused() {
	run_timeout 10 "$TBIN/tp-client" -m connect -T 2 127.0.0.1 "$1"
	if [[ $status -ne 3 ]]; then
		echo "port $1 was not refused: status $status: $output" >&2
		return 1
	fi
}

# listen_inode PID PORT: the inode of PID's listening socket on PORT
listen_inode() {
	local hex ino
	hex=$(printf '%04X' "$2")
	for ino in $(find "/proc/$1/fd" -lname 'socket:*' -printf '%l\n' 2>/dev/null | tr -dc '0-9\n'); do
		awk -v i="$ino" -v p=":$hex" '$10 == i && $4 == "0A" &&
		    substr($2, length($2) - 4) == p { print i }' /proc/net/tcp /proc/net/tcp6
	done
}

workers_of() {
	pgrep -P "$1" | sort -n
}

# start_tcpproxy_ns HOSTS ARGS...: start_tcpproxy with HOSTS as
# /etc/hosts and "hosts: files" as nsswitch.conf, so that a name
# resolves, or fails, at once and as the test says
start_tcpproxy_ns() {
	local hosts=$1 nss=$BATS_TEST_TMPDIR/nsswitch.conf
	shift
	printf 'hosts: files\n' >"$nss"
	setsid unshare --mount sh -c 'h=$1 n=$2; shift 2
	    mount --bind "$h" /etc/hosts && mount --bind "$n" /etc/nsswitch.conf && exec "$@"' \
	    sh "$hosts" "$nss" "$TCPPROXY" -D -L stderr:5 "$@" \
	    </dev/null >"$TP_LOG" 2>&1 3>&- &
	TP_PID=$!
	register_pid "$TP_PID"
}

# since_last_reload: the master's lines from the last "reloading" on
since_last_reload() {
	awk '/NOTICE: master: reloading / { n = 0 } { l[n++] = $0 }
	    END { for (i = 0; i < n; i++) print l[i] }' "$TP_LOG" | grep ' master: '
}

@test "a reload adds, removes and changes listeners; kept ones keep their socket" {
	start_server blob -n 1111; A=$SERVER_PORT
	start_server blob -n 2222; B=$SERVER_PORT
	conf "$P1 $A" "$P2 $A"
	start_tcpproxy -w 2 -c "$CONF"
	wait_for_port "$P1"
	wait_for_log "ready: 2 listeners"
	run_timeout 10 "$TBIN/tp-client" -m verify -n 1111 127.0.0.1 "$P1"
	[ "$output" = "ok 1111" ]
	# one socket per worker (an SO_REUSEPORT group; a shared one elsewhere)
	inos=$(listen_inode "$TP_PID" "$P1" | sort | tr '\n' ' ')
	[ "$(echo $inos | wc -w)" -eq 2 ]
	[ -n "$(listen_inode "$TP_PID" "$P2")" ]

	# one reload: P1 changes its remote, P2 goes, P3 comes
	conf "$P1 $B buffer-size: 4k;" "$P3 $A"
	hup 2
	grep -q "NOTICE: master: reload complete: generation 2, 1 listeners kept, 1 added, 1 removed$" "$TP_LOG"
	grep -q "NOTICE: master: keeping 127.0.0.1:$P1 -> 127.0.0.1:$B$" "$TP_LOG"
	grep -q "NOTICE: master: listening on 127.0.0.1:$P3 -> 127.0.0.1:$A$" "$TP_LOG"
	grep -q "NOTICE: master: closing 127.0.0.1:$P2 -> 127.0.0.1:$A$" "$TP_LOG"

	# the very same sockets, in the master, and one in each worker
	[ "$(listen_inode "$TP_PID" "$P1" | sort | tr '\n' ' ')" = "$inos" ]
	held=""
	for w in $(workers_of "$TP_PID"); do
		[ "$(listen_inode "$w" "$P1" | wc -l)" -eq 1 ]
		held+="$(listen_inode "$w" "$P1") "
	done
	[ "$(echo $held | tr ' ' '\n' | sort | tr '\n' ' ')" = "$inos" ]
	[ -z "$(listen_inode "$TP_PID" "$P2")" ]
	# new connections follow the new remote
	run_timeout 10 "$TBIN/tp-client" -m verify -n 2222 127.0.0.1 "$P1"
	[ "$output" = "ok 2222" ]
	run_timeout 10 "$TBIN/tp-client" -m verify -n 1111 127.0.0.1 "$P3"
	[ "$output" = "ok 1111" ]
	refused "$P2"
}

@test "a connection open across 20 reloads keeps its remote and every byte" {
	start_server echo; E=$SERVER_PORT
	start_server reply; R=$SERVER_PORT
	conf "$P1 $E"
	start_tcpproxy -w 2 -c "$CONF"
	wait_for_port "$P1"
	wait_for_log "ready:"
	exec 5<>"/dev/tcp/127.0.0.1/$P1"
	total=0
	for ((i = 1; i <= 20; i++)); do
		line="$i $(head -c 600 /dev/urandom | base64 -w 0)"
		printf '%s\n' "$line" >&5
		# new connections alternate between the two remotes, and a
		# second listener comes and goes
		if ((i % 2)); then
			conf "$P1 $E" "$P2 $E"
		else
			conf "$P1 $R buffer-size: 1k;"
		fi
		hup $((i + 1))
		read -t 10 -r got <&5
		[ "$got" = "$line" ]
		total=$((total + ${#line} + 1))
	done
	# the last generation sends new connections to the reply server
	run_timeout 10 "$TBIN/tp-client" -m send -n 7 127.0.0.1 "$P1"
	[ "$output" = "REPLY:7" ]
	kill -USR2 "$TP_PID"
	wait_for_log "NOTICE: master: end of the connection list"
	grep -Eq "NOTICE: worker [12]: relay [0-9]+: open listener=127.0.0.1:$P1 client=127.0.0.1:[0-9]+ remote=127.0.0.1:$E state=established sent=$total received=$total age_ms=[0-9]+$" "$TP_LOG"
	printf 'last\n' >&5
	read -t 10 -r got <&5
	[ "$got" = last ]
	exec 5>&-
}

# hammer_conf G: generation G's file; P1 is always there
hammer_conf() {
	if (($1 % 2)); then
		conf "$P1 $E2 buffer-size: 32k;" "$P3 $E1"
	else
		conf "$P2 $E1" "$P1 $E1 buffer-size: 4k;"
	fi
}

@test "50 back-to-back reloads: clients hammering a kept listener see no refusal, reset or bad byte" {
	start_server echo; E1=$SERVER_PORT
	start_server echo; E2=$SERVER_PORT
	hammer_conf 1
	TP_LOGLEVEL=3 start_tcpproxy -w 2 -c "$CONF"
	wait_for_port "$P1"
	wait_for_log "ready:"
	ino=$(listen_inode "$TP_PID" "$P1")
	[ -n "$ino" ]
	stop=$BATS_TEST_TMPDIR/stop
	pids=()
	for k in 1 2 3; do
		# every failure shows as a line other than "ok 20000"
		setsid bash -c 'while [ ! -e "$1" ]; do
			"$2" -m echo -n 20000 -T 10 127.0.0.1 "$3" 2>&1 || echo "exit $?"
		done' hammer "$stop" "$TBIN/tp-client" "$P1" \
		    </dev/null >"$BATS_TEST_TMPDIR/hammer.$k" 2>&1 3>&- &
		pids+=($!)
		register_pid $!
	done
	for k in 1 2 3; do
		wait_for_log "^ok 20000$" "$BATS_TEST_TMPDIR/hammer.$k"
	done
	for ((g = 2; g <= 51; g++)); do
		before=$(cat "$BATS_TEST_TMPDIR"/hammer.* | wc -l)
		hammer_conf "$g"
		hup "$g"
		# some clients got through between this reload and the next
		for ((i = 0; i < 200; i++)); do
			(($(cat "$BATS_TEST_TMPDIR"/hammer.* | wc -l) > before)) && break
			sleep 0.01
		done
	done
	touch "$stop"
	for pid in "${pids[@]}"; do
		wait "$pid" || true
	done
	cat "$BATS_TEST_TMPDIR"/hammer.* >"$BATS_TEST_TMPDIR/all"
	ok=$(grep -cx 'ok 20000' "$BATS_TEST_TMPDIR/all" || true)
	bad=$(grep -cvx 'ok 20000' "$BATS_TEST_TMPDIR/all" || true)
	echo "$ok clients ok, $bad not"
	[ "$bad" -eq 0 ]
	[ "$ok" -ge 50 ]
	[ "$(count 'reload complete')" -eq 50 ]
	[ "$(count 'reload failed')" -eq 0 ]
	[ "$(listen_inode "$TP_PID" "$P1")" = "$ino" ]
	[ "$(count 'ERROR')" -eq 0 ]
}

@test "every kind of failed reload keeps the old configuration serving and says why" {
	start_server echo; E=$SERVER_PORT
	start_server reply; R=$SERVER_PORT
	hosts=$BATS_TEST_TMPDIR/hosts
	printf '127.0.0.1 localhost backend.test\n' >"$hosts"
	printf 'listen 127.0.0.1 %s {\n  remote: backend.test %s;\n};\n' "$P1" "$E" >"$CONF"
	start_tcpproxy_ns "$hosts" -w 2 -c "$CONF"
	wait_for_port "$P1"
	wait_for_log "ready: 1 listeners"
	ino=$(listen_inode "$TP_PID" "$P1")
	[ -n "$ino" ]
	n=0

	# bad_reload REGEX: reload, which must fail; the master's lines of
	# this reload are the reasons, one matching REGEX, then the count
	bad_reload() {
		n=$((n + 1))
		kill -HUP "$TP_PID"
		wait_for_count "$n" "ERROR: master: reload failed with [0-9]+ errors?; still serving generation 1$"
		run since_last_reload
		[[ ${lines[-1]} =~ "ERROR: master: reload failed with "([0-9]+)" error" ]]
		nerr=${BASH_REMATCH[1]}
		# reasons only, between "reloading" and the summary
		[ "${#lines[@]}" -eq $((nerr + 2)) ]
		printf '%s\n' "${lines[@]}" | grep -Eq -- "ERROR: master: $1"
		# still generation 1, on the same socket
		[ "$(listen_inode "$TP_PID" "$P1")" = "$ino" ]
		echo_ok "$P1"
		refused "$P2"
	}

	# syntax
	printf 'listen 127.0.0.1 %s {\n  remote backend.test %s;\n};\n' "$P1" "$E" >"$CONF"
	bad_reload "$CONF:2:10: expected ':' after 'remote', found backend.test$"
	# a name that does not resolve: nothing of the file is applied
	printf 'listen 127.0.0.1 %s {\n  remote: backend.test %s;\n};\nlisten 127.0.0.1 %s {\n  remote: nohost.test %s;\n};\n' \
	    "$P2" "$E" "$P1" "$R" >"$CONF"
	bad_reload "$CONF:5:11: remote: cannot resolve nohost.test: "
	# a port in use: P2 was bound for the attempt and is closed again,
	# the kept P1 is not, and its remote did not change
	printf 'listen 127.0.0.1 %s { remote: backend.test %s; };\nlisten 127.0.0.1 %s { remote: backend.test %s; };\nlisten 127.0.0.1 %s { remote: backend.test %s; };\n' \
	    "$P2" "$E" "$R" "$E" "$P1" "$R" >"$CONF"
	bad_reload "$CONF:2:1: cannot listen on 127.0.0.1:$R: Address already in use$"
	# a listening address twice (the original gave a listener fd -1)
	printf 'listen 127.0.0.1 %s { remote: backend.test %s; };\nlisten 127.0.0.1 %s { remote: backend.test %s; };\n' \
	    "$P1" "$E" "$P1" "$R" >"$CONF"
	bad_reload "$CONF:2:1: duplicate listener 127.0.0.1:$P1, already defined at line 1$"
	# a stanza without a remote
	printf 'listen 127.0.0.1 %s {\n  resolv: ipv4;\n};\n' "$P1" >"$CONF"
	bad_reload "$CONF:1:1: listen stanza has no 'remote'$"
	# an empty file, and one of comments only, are not an empty proxy
	: >"$CONF"
	bad_reload "$CONF: no listeners defined$"
	printf '# nothing here\n\n   # at all\n' >"$CONF"
	bad_reload "$CONF: no listeners defined$"
	# no file, or not a file
	rm "$CONF"
	bad_reload "$CONF: cannot open: No such file or directory$"
	mkdir "$CONF"
	bad_reload "$CONF: not a regular file$"
	rmdir "$CONF"
	[ "$(count 'reload complete')" -eq 0 ]

	# and then a good file is taken as generation 2
	printf 'listen 127.0.0.1 %s { remote: backend.test %s; };\nlisten 127.0.0.1 %s { remote: backend.test %s; };\n' \
	    "$P1" "$E" "$P2" "$E" >"$CONF"
	hup 2
	grep -q "reload complete: generation 2, 1 listeners kept, 1 added, 0 removed$" "$TP_LOG"
	[ "$(listen_inode "$TP_PID" "$P1")" = "$ino" ]
	echo_ok "$P1"
	echo_ok "$P2"
}

@test "an unreadable file and a privileged port fail a reload of an unprivileged master" {
	# a directory that nobody can look into
	PRIV_DIR=$(cd "$(mktemp -d /tmp/tp-reload.XXXXXX)" && pwd -P)
	chmod 0755 "$PRIV_DIR"
	CONF=$PRIV_DIR/tcpproxy.conf
	start_server echo; E=$SERVER_PORT
	conf "$P1 $E"
	setsid setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    "$TCPPROXY" -D -L stderr:5 -w 1 -c "$CONF" \
	    </dev/null >"$TP_LOG" 2>&1 3>&- &
	TP_PID=$!
	register_pid "$TP_PID"
	wait_for_port "$P1"
	wait_for_log "ready:"
	chmod 0 "$CONF"
	kill -HUP "$TP_PID"
	wait_for_log "ERROR: master: reload failed with 1 error; still serving generation 1$"
	grep -q "ERROR: master: $CONF: cannot open: Permission denied$" "$TP_LOG"
	echo_ok "$P1"
	chmod 0644 "$CONF"
	conf "$P1 $E" "$P2 $E" "100 $E"
	kill -HUP "$TP_PID"
	wait_for_count 2 "reload failed"
	grep -q "ERROR: master: $CONF:7:1: cannot listen on 127.0.0.1:100: Permission denied$" "$TP_LOG"
	echo_ok "$P1"
	refused "$P2"
	[ "$(count 'reload complete')" -eq 0 ]
}

# low_port [NOT]: a port below 1024 that nothing listens on, not NOT
low_port() {
	local p
	for p in $(shuf -i 100-999 -n 100); do
		if [ "$p" != "${1:-}" ] && [ -z "$(ss -Hltn "sport = :$p")" ]; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

@test "-u nobody -C dir: a reload adds a listener below 1024 and it forwards" {
	jail=$BATS_TEST_TMPDIR/jail
	mkdir -m 0755 "$jail"
	start_server echo; E=$SERVER_PORT
	conf "$P1 $E"
	start_tcpproxy -w 2 -u nobody -C "$jail" -c "$CONF"
	wait_for_port "$P1"
	wait_for_log "ready:"
	low=$(low_port)
	conf "$P1 $E" "$low $E"
	hup 2
	echo_ok "$low"
	echo_ok "$P1"
	# served by jailed, unprivileged workers; bound by the root master
	[ -n "$(listen_inode "$TP_PID" "$low")" ]
	for w in $(workers_of "$TP_PID"); do
		[ "$(awk '$1 == "Uid:" { print $2 }' "/proc/$w/status")" = "$(id -u nobody)" ]
		[ "$(readlink "/proc/$w/root")" = "$jail" ]
	done
	# and moved to another port below 1024 by the next reload
	low2=$(low_port "$low")
	conf "$P1 $E" "$low2 $E"
	hup 3
	echo_ok "$low2"
	refused "$low"
}

@test "names are resolved again on every reload" {
	start_server blob -n 1111 -l 127.0.0.1; A=$SERVER_PORT
	start_server blob -n 2222 -l ::1 -p "$A"
	hosts=$BATS_TEST_TMPDIR/hosts
	printf '127.0.0.1 localhost backend.test\n' >"$hosts"
	printf 'listen 127.0.0.1 %s { remote: backend.test %s; };\n' "$P1" "$A" >"$CONF"
	start_tcpproxy_ns "$hosts" -w 1 -c "$CONF"
	wait_for_port "$P1"
	wait_for_log "ready:"
	run_timeout 10 "$TBIN/tp-client" -m verify -n 1111 127.0.0.1 "$P1"
	[ "$output" = "ok 1111" ]
	# the same file; the name now means ::1 (the file is rewritten in
	# place: the bind mount holds its inode)
	printf '::1 backend.test\n' >"$hosts"
	hup 2
	grep -q "keeping 127.0.0.1:$P1 -> \[::1\]:$A$" "$TP_LOG"
	run_timeout 10 "$TBIN/tp-client" -m verify -n 2222 127.0.0.1 "$P1"
	[ "$output" = "ok 2222" ]
}

@test "SIGUSR1 counts the connections of each listener, SIGUSR2 lists each connection" {
	start_server echo; E=$SERVER_PORT
	printf 'listen 127.0.0.1 %s { remote: 127.0.0.1 %s; };\nlisten ::1 %s { remote: 127.0.0.1 %s; source: 127.0.0.1; };\n' \
	    "$P1" "$E" "$P2" "$E" >"$CONF"
	start_tcpproxy -w 2 -c "$CONF"
	wait_for_port "$P1"
	wait_for_port "$P2" ::1
	wait_for_log "ready:"
	# wait_for_port's two probes are gone (slow under valgrind)
	wait_for_count 2 ": close listener="

	# nothing open: every worker says so
	kill -USR2 "$TP_PID"
	wait_for_log "NOTICE: master: end of the connection list"
	grep -q "NOTICE: master: open connections of 2 running workers:$" "$TP_LOG"
	[ "$(count "NOTICE: worker 1: no open connections$")" -eq 1 ]
	[ "$(count "NOTICE: worker 2: no open connections$")" -eq 1 ]
	kill -USR1 "$TP_PID"
	wait_for_log "NOTICE: master: 2 listeners, generation 1, 0 connections open$"
	wait_for_log "NOTICE: master: 0 connections on listener [0-9]+: 127.0.0.1:$P1 -> 127.0.0.1:$E$"
	wait_for_log "NOTICE: master: 0 connections on listener [0-9]+: \[::1\]:$P2 -> 127.0.0.1:$E source 127.0.0.1$"

	# three connections with 2, 3 and 4 bytes each way
	exec 5<>"/dev/tcp/127.0.0.1/$P1" 6<>"/dev/tcp/127.0.0.1/$P1" 7<>"/dev/tcp/::1/$P2"
	printf 'a\n' >&5; read -t 10 -r x <&5; [ "$x" = a ]
	printf 'bb\n' >&6; read -t 10 -r x <&6; [ "$x" = bb ]
	printf 'ccc\n' >&7; read -t 10 -r x <&7; [ "$x" = ccc ]
	kill -USR1 "$TP_PID"
	wait_for_log "NOTICE: master: 2 listeners, generation 1, 3 connections open$"
	wait_for_log "NOTICE: master: 2 connections on listener [0-9]+: 127.0.0.1:$P1 -> 127.0.0.1:$E$"
	wait_for_log "NOTICE: master: 1 connection on listener [0-9]+: \[::1\]:$P2 -> 127.0.0.1:$E source 127.0.0.1$"

	kill -USR2 "$TP_PID"
	wait_for_count 2 "NOTICE: master: end of the connection list"
	conn="NOTICE: worker [12]: relay [0-9]+: open"
	[ "$(count "$conn listener=127.0.0.1:$P1 client=127.0.0.1:[0-9]+ remote=127.0.0.1:$E state=established sent=2 received=2 age_ms=[0-9]+$")" -eq 1 ]
	[ "$(count "$conn listener=127.0.0.1:$P1 client=127.0.0.1:[0-9]+ remote=127.0.0.1:$E state=established sent=3 received=3 age_ms=[0-9]+$")" -eq 1 ]
	[ "$(count "$conn listener=\[::1\]:$P2 client=\[::1\]:[0-9]+ remote=127.0.0.1:$E state=established sent=4 received=4 age_ms=[0-9]+$")" -eq 1 ]
	[ "$(count "$conn")" -eq 3 ]
	# each worker spoke once per dump, and their counts add up
	for w in 1 2; do
		[ "$(count "NOTICE: worker $w: (no open connections|[0-9]+ open connections?:)$")" -eq 2 ]
	done
	sum=0
	for c in $(grep -Eo "worker [12]: [0-9]+ open connection" "$TP_LOG" | awk '{ print $3 }'); do
		sum=$((sum + c))
	done
	[ "$sum" -eq 3 ]

	# P2 goes: its connection stays open and is counted apart; the ones
	# made through P1 before the reload still count for P1
	printf 'listen 127.0.0.1 %s { remote: 127.0.0.1 %s; };\n' "$P1" "$E" >"$CONF"
	hup 2
	exec 8<>"/dev/tcp/127.0.0.1/$P1"
	printf 'dddd\n' >&8; read -t 10 -r x <&8; [ "$x" = dddd ]
	kill -USR1 "$TP_PID"
	wait_for_log "NOTICE: master: 1 listener, generation 2, 4 connections open$"
	wait_for_log "NOTICE: master: 3 connections on listener [0-9]+: 127.0.0.1:$P1 -> 127.0.0.1:$E$"
	wait_for_log "NOTICE: master: 1 connection on listeners no longer configured$"
	printf 'ccc\n' >&7; read -t 10 -r x <&7; [ "$x" = ccc ]

	# a closed connection is no longer counted
	exec 5>&- 6>&-
	wait_for_count 1 "relay [0-9]+: close listener=127.0.0.1:$P1 .*sent=3 received=3"
	wait_for_count 1 "relay [0-9]+: close listener=127.0.0.1:$P1 .*sent=2 received=2"
	kill -USR1 "$TP_PID"
	wait_for_log "NOTICE: master: 1 listener, generation 2, 2 connections open$"
	wait_for_log "NOTICE: master: 1 connection on listener [0-9]+: 127.0.0.1:$P1 -> 127.0.0.1:$E$"
	exec 7>&- 8>&-
}

@test "SIGHUP without a config file (-p) only reopens the logs" {
	start_server echo; E=$SERVER_PORT
	start_tcpproxy -w 1 -l 127.0.0.1 -p "$P1" -r 127.0.0.1 -o "$E"
	wait_for_port "$P1"
	wait_for_log "ready:"
	kill -HUP "$TP_PID"
	wait_for_log "NOTICE: master: SIGHUP: no config file to reload \(started with -p\); log files reopened$"
	[ "$(count 'reloading|reload complete|reload failed')" -eq 0 ]
	echo_ok "$P1"
}

@test "SIGHUP, SIGUSR1 and SIGUSR2 arriving together are all acted on" {
	start_server echo; E=$SERVER_PORT
	conf "$P1 $E"
	start_tcpproxy -w 2 -c "$CONF"
	wait_for_port "$P1"
	wait_for_log "ready:"
	conf "$P1 $E" "$P2 $E"
	# a stopped master gets all three pending at once
	kill -STOP "$TP_PID"
	kill -HUP "$TP_PID"
	kill -USR1 "$TP_PID"
	kill -USR2 "$TP_PID"
	kill -CONT "$TP_PID"
	wait_for_log "NOTICE: master: reload complete: generation 2,"
	wait_for_log "NOTICE: master: [12] listeners?, generation [12], 0 connections open$"
	wait_for_log "NOTICE: master: end of the connection list"
	[ "$(count 'NOTICE: master: reloading ')" -eq 1 ]
	[ "$(count 'NOTICE: master: [0-9]+ listeners?, generation')" -eq 1 ]
	[ "$(count 'NOTICE: master: open connections of 2 running workers:')" -eq 1 ]
	echo_ok "$P2"
}

@test "a SIGHUP while workers are still switching is applied; the newest generation completes" {
	start_server echo; E=$SERVER_PORT
	conf "$P1 $E"
	start_tcpproxy -w 2 -c "$CONF"
	wait_for_port "$P1"
	wait_for_log "ready:"
	# a stopped worker cannot switch, so the reload cannot complete
	w=$(workers_of "$TP_PID" | head -1)
	kill -STOP "$w"
	conf "$P1 $E" "$P2 $E"
	kill -HUP "$TP_PID"
	wait_for_log "NOTICE: master: generation 2: 2 listeners; sending it"
	conf "$P1 $E" "$P3 $E"
	kill -HUP "$TP_PID"
	wait_for_log "NOTICE: master: generation 3: 2 listeners; sending it"
	grep -q "NOTICE: master: generation 2 is superseded before every worker switched to it$" "$TP_LOG"
	[ "$(count 'reload complete')" -eq 0 ]
	kill -CONT "$w"
	wait_for_log "NOTICE: master: reload complete: generation 3, 1 listeners kept, 1 added, 0 removed$"
	[ "$(count 'reload complete')" -eq 1 ]
	echo_ok "$P1"
	echo_ok "$P3"
	refused "$P2"

	# SIGUSR1 waits for a stopped worker only so long, and says so
	kill -STOP "$w"
	kill -USR1 "$TP_PID"
	wait_for_log "NOTICE: master: 2 listeners, generation 3, 0 connections open$"
	wait_for_log "ERROR: master: worker [12] did not answer within [0-9]+ ms: its connections are not counted$"
	kill -CONT "$w"
	# its late answer is ignored, and it is still trusted
	kill -USR1 "$TP_PID"
	wait_for_count 2 "NOTICE: master: 2 listeners, generation 3, 0 connections open$"
	[ "$(count 'protocol violation')" -eq 0 ]
	[ "$(count 'did not answer')" -eq 1 ]
}

@test "a reload does not wait for a worker that is waiting to be restarted" {
	start_server echo; E=$SERVER_PORT
	conf "$P1 $E"
	start_tcpproxy -w 2 -c "$CONF"
	wait_for_log "ready:"
	# a worker that keeps dying young is restarted later each time
	# (250, 500, 1000, 2000 ms); the fifth death leaves 4 s for a reload
	for i in 1 2 3 4; do
		w=$(grep -E "started worker 1, pid" "$TP_LOG" | tail -1 | sed -E 's/.*pid ([0-9]+).*/\1/')
		kill -KILL "$w"
		wait_for_log "worker 1 \(pid $w\) killed by signal 9"
		wait_for_count $((i + 1)) "started worker 1, pid"
	done
	w=$(grep -E "started worker 1, pid" "$TP_LOG" | tail -1 | sed -E 's/.*pid ([0-9]+).*/\1/')
	kill -KILL "$w"
	wait_for_log "restarting worker 1 in 4000 ms"
	conf "$P1 $E" "$P2 $E"
	kill -HUP "$TP_PID"
	wait_for_log "reload complete: generation 2, 1 listeners kept, 1 added, 0 removed"
	# completed before the replacement started, which then serves it
	[ "$(count 'started worker 1, pid')" -eq 5 ]
	echo_ok "$P2"
	wait_for_log "worker 1: now serving 2 listeners of generation 2" "$TP_LOG" 20
}
