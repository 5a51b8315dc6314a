#!/usr/bin/env bats
# The command line: every option's validation, refused before anything is
# bound, in one line on stderr with exit status 1.

load helper

setup() {
	free_ports 1
	P=${PORTS[0]}
}

# tcpproxy with a valid -p stanza plus the options under test
bad() {
	local re=$1
	shift
	expect_fail_line 1 "$re" "$TCPPROXY" -D "$@"
}

@test "-h prints the usage on stdout and exits 0" {
	run "$TCPPROXY" -h
	[ "$status" -eq 0 ]
	[[ $output == *"-w, --workers"* ]]
	[[ $output == *"-c, --config"* ]]
	run "$TCPPROXY" --help
	[ "$status" -eq 0 ]
}

@test "-v prints the version and exits 0" {
	run "$TCPPROXY" --version
	[ "$status" -eq 0 ]
	[[ ${lines[0]} =~ ^tcpproxy\ [0-9]+\.[0-9]+ ]]
}

@test "unknown options and missing values are named" {
	bad "unrecognized option '--bogus'" --bogus
	bad "invalid option -- 'x'" -x
	bad "requires an argument -- 'p'" -p
	bad "requires an argument" --local-port
	bad "unexpected argument 'extra'" -p "$P" -r 127.0.0.1 -o 1 extra
}

@test "ports outside 1..65535 and unknown services are refused" {
	bad "^tcpproxy: -p: invalid port '99999'" -p 99999 -r 127.0.0.1 -o 1
	bad "^tcpproxy: -p: invalid port '0'" -p 0 -r 127.0.0.1 -o 1
	bad "^tcpproxy: -o: invalid port '70000'" -p "$P" -r 127.0.0.1 -o 70000
	bad "^tcpproxy: -p: unknown service 'nosuchsvc'" -p nosuchsvc -r 127.0.0.1 -o 1
	bad "^tcpproxy: -o: unknown service 'no-such'" -p "$P" -r 127.0.0.1 -o no-such
}

@test "service names are accepted for ports" {
	run "$TCPPROXY" -n -p "$P" -r 127.0.0.1 -o http
	[ "$status" -eq 0 ]
	[ "$output" = "configuration OK" ]
}

@test "bad -t and -R values are refused" {
	bad "^tcpproxy: -t: invalid address family '5'" -t 5 -p "$P" -r 127.0.0.1 -o 1
	bad "^tcpproxy: -R: invalid address family 'ipv5'" -R ipv5 -p "$P" -r 127.0.0.1 -o 1
}

@test "-b takes a positive size with k or m" {
	bad "^tcpproxy: -b: invalid buffer size '0'" -b 0 -p "$P" -r 127.0.0.1 -o 1
	bad "^tcpproxy: -b: invalid buffer size '-5'" -b -5 -p "$P" -r 127.0.0.1 -o 1
	bad "^tcpproxy: -b: invalid buffer size '10x'" -b 10x -p "$P" -r 127.0.0.1 -o 1
	bad "^tcpproxy: -b: invalid buffer size '65m'" -b 65m -p "$P" -r 127.0.0.1 -o 1
	for b in 1 10k 16K 1m 10240; do
		run "$TCPPROXY" -n -b "$b" -p "$P" -r 127.0.0.1 -o 1
		[ "$status" -eq 0 ]
	done
}

@test "malformed and repeated -L targets are refused" {
	bad "^tcpproxy: -L: 'foo:3': unknown log target 'foo'" -L foo:3
	bad "^tcpproxy: -L: 'stdout': expected" -L stdout
	bad "^tcpproxy: -L: 'stdout:': level" -L stdout:
	bad "^tcpproxy: -L: 'stdout:9': level" -L stdout:9
	bad "^tcpproxy: -L: 'stdout:33': level" -L stdout:33
	bad "^tcpproxy: -L: 'syslog:3,': empty" -L syslog:3,
	bad "^tcpproxy: -L: 'syslog:3,tp,nofac': unknown syslog facility" -L syslog:3,tp,nofac
	bad "^tcpproxy: -L: 'stderr:4': target stderr given more than once" -L stderr:3 -L stderr:4
	bad "^tcpproxy: -L: cannot open log file '/nonexistent/x.log'" \
	    -L file:3,/nonexistent/x.log -p "$P" -r 127.0.0.1 -o 1
}

@test "-U combines with other log targets, stdout included" {
	run "$TCPPROXY" -n -U -L stdout:3 -L stderr:2 -p "$P" -r 127.0.0.1 -o 1
	[ "$status" -eq 0 ]
}

@test "-u must name an unprivileged user" {
	bad "^tcpproxy: refusing to run workers as 'root': uid 0 is root" -u root -p "$P" -r 127.0.0.1 -o 1
}

@test "the soft descriptor limit is raised to the hard one" {
	start_tcpproxy -w 1 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o 1
	wait_for_port "$P"
	w=$(pgrep -P "$TP_PID")
	soft=$(awk '/^Max open files/ { print $4 }' "/proc/$w/limits")
	hard=$(awk '/^Max open files/ { print $5 }' "/proc/$w/limits")
	[ "$soft" = "$hard" ]
	# started with a lower soft limit, still raised
	stop_tcpproxy
	start_tcpproxy_via prlimit --nofile=256: -- -w 1 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o 1
	wait_for_port "$P"
	w=$(pgrep -P "$TP_PID")
	[ "$(awk '/^Max open files/ { print $4 }' "/proc/$w/limits")" = "$hard" ]
}

@test "unknown user or group is refused" {
	bad "^tcpproxy: unknown user 'nosuchuser'" -u nosuchuser -p "$P" -r 127.0.0.1 -o 1
	bad "^tcpproxy: unknown group 'nosuchgroup'" -u nobody -g nosuchgroup -p "$P" -r 127.0.0.1 -o 1
	bad "^tcpproxy: unknown group 'nosuchgroup'" -g nosuchgroup -p "$P" -r 127.0.0.1 -o 1
}

@test "-p needs -r and -o" {
	bad "^tcpproxy: -p: no remote address given \(-r\)" -p "$P"
	bad "^tcpproxy: -p: no remote port given \(-o\)" -p "$P" -r 127.0.0.1
}

@test "a source address whose family cannot reach the remote is refused" {
	bad "^tcpproxy: -s: source address '::1' is IPv6 only, but remote '127.0.0.1' has no IPv6 address" \
	    -p "$P" -r 127.0.0.1 -o 1 -s ::1
	bad "^tcpproxy: -s: source address '127.0.0.1' is IPv4 only, but remote '::1' has no IPv4 address" \
	    -p "$P" -r ::1 -o 1 -s 127.0.0.1
	bad "^tcpproxy: -s: source: cannot resolve IPv4 address of ::1" \
	    -p "$P" -r 127.0.0.1 -o 1 -R 4 -s ::1
}

@test "unresolvable names are refused" {
	bad "^tcpproxy: -r: remote: cannot resolve no-such-host.invalid" \
	    -p "$P" -r no-such-host.invalid -o 1
	bad "^tcpproxy: -l: listen: cannot resolve" -l no-such-host.invalid -p "$P" -r 127.0.0.1 -o 1
	bad "^tcpproxy: -l: listen: cannot resolve IPv6 address of 127.0.0.1" \
	    -l 127.0.0.1 -t 6 -p "$P" -r 127.0.0.1 -o 1
}

@test "a missing or unreadable config file is refused" {
	bad "^tcpproxy: /nonexistent/tcpproxy.conf: cannot open: No such file" -c /nonexistent/tcpproxy.conf
	bad "^tcpproxy: /tmp: not a regular file" -c /tmp
	bad "^tcpproxy: /etc/tcpproxy.conf: cannot open" # the compiled-in default
	printf 'listen 127.0.0.1 %s { remote: 127.0.0.1 1; };\n' "$P" >"$BATS_TEST_TMPDIR/ro.conf"
	chmod 000 "$BATS_TEST_TMPDIR/ro.conf"
	expect_fail_line 1 "ro.conf: cannot open: Permission denied" \
	    setpriv --reuid=nobody --regid=nogroup --clear-groups "$TCPPROXY" -D -c "$BATS_TEST_TMPDIR/ro.conf"
}

@test "-w takes 1 to 64 workers" {
	bad "^tcpproxy: -w: invalid number of workers '0'" -w 0 -p "$P" -r 127.0.0.1 -o 1
	bad "^tcpproxy: -w: invalid number of workers '65'" -w 65 -p "$P" -r 127.0.0.1 -o 1
	bad "^tcpproxy: -w: invalid number of workers 'two'" -w two -p "$P" -r 127.0.0.1 -o 1
}

@test "a missing chroot directory is refused before anything is bound" {
	bad "^tcpproxy: cannot chroot to '/nonexistent/jail': No such file" \
	    -C /nonexistent/jail -p "$P" -r 127.0.0.1 -o 1
	mkdir -m 0777 "$BATS_TEST_TMPDIR/open-jail"
	bad "^tcpproxy: refusing to chroot to '.*open-jail': it must be owned by root" \
	    -C "$BATS_TEST_TMPDIR/open-jail" -p "$P" -r 127.0.0.1 -o 1
}

@test "a port that is in use fails the start with the address named" {
	start_server echo -l 127.0.0.1
	bad "^tcpproxy: -p: cannot listen on 127.0.0.1:$SERVER_PORT: Address already in use" \
	    -l 127.0.0.1 -p "$SERVER_PORT" -r 127.0.0.1 -o 1
}

@test "a port that another tcpproxy holds fails the start: its workers' sockets admit no one" {
	start_tcpproxy -w 2 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o 1
	wait_for_port "$P"
	bad "^tcpproxy: -p: cannot listen on 127.0.0.1:$P: Address already in use" \
	    -w 2 -l 127.0.0.1 -p "$P" -r 127.0.0.1 -o 1
}

@test "as an unprivileged user: -u and -C that need root are refused" {
	local np="setpriv --reuid=nobody --regid=nogroup --clear-groups"
	expect_fail_line 1 "^tcpproxy: cannot switch to user 'daemon': not running as root" \
	    $np "$TCPPROXY" -D -u daemon -p "$P" -r 127.0.0.1 -o 1
	expect_fail_line 1 "^tcpproxy: cannot chroot to '/': not running as root" \
	    $np "$TCPPROXY" -D -C / -p "$P" -r 127.0.0.1 -o 1
	expect_fail_line 1 "^tcpproxy: -p: cannot listen on 127.0.0.1:80: Permission denied" \
	    $np "$TCPPROXY" -D -l 127.0.0.1 -p 80 -r 127.0.0.1 -o 1
}

@test "-p and -c together: the config file is ignored, with a warning" {
	run "$TCPPROXY" -n -c /nonexistent -p "$P" -r 127.0.0.1 -o 1
	[ "$status" -eq 0 ]
	[[ $output == *"-p and -c both given: ignoring the config file"* ]]
}
