#!/usr/bin/env bats
# tcpproxyctl against tp-ctlserver, a stand-in for the control socket
# that logs each request and answers with a canned reply: the request
# lines, the three output formats, exit status and every way a reply can
# be broken.  The end-to-end tests against tcpproxy are in control.bats.

load helper

CTL=${TCPPROXYCTL:-$TOP/tcpproxyctl}

setup() {
	SOCK=$BATS_TEST_TMPDIR/ctl.sock
	REPLY=$BATS_TEST_TMPDIR/reply
	REQS=$BATS_TEST_TMPDIR/requests
	OUT=$BATS_TEST_TMPDIR/stdout
	ERR=$BATS_TEST_TMPDIR/stderr
	: >"$REQS"
}

# ctlserver [MODE]: tp-ctlserver on SOCK answering with REPLY (mode
# reply unless told), logging to REQS; waits until it listens.
ctlserver() {
	local ready=$BATS_TEST_TMPDIR/ready i
	rm -f "$ready"
	setsid "$TBIN/tp-ctlserver" -m "${1:-reply}" -r "$REPLY" -o "$REQS" \
	    -P "$ready" -T 120 "$SOCK" </dev/null \
	    >"$BATS_TEST_TMPDIR/ctlserver.log" 2>&1 3>&- &
	register_pid $!
	for ((i = 0; i < 200; i++)); do
		[[ -s $ready ]] && return 0
		sleep 0.05
	done
	echo "ctlserver: not listening after 10 s" >&2
	cat "$BATS_TEST_TMPDIR/ctlserver.log" >&2
	return 1
}

# reply LINE...: the reply tp-ctlserver sends, a newline after each line
reply() {
	printf '%s\n' "$@" >"$REPLY"
}

# ctl ARGS...: tcpproxyctl on SOCK; status, stdout in OUT and $out,
# stderr in ERR and $err, kept apart.
ctl() {
	timeout -k 2 30 "$CTL" -s "$SOCK" "$@" </dev/null >"$OUT" 2>"$ERR" 3>&- &&
	    status=0 || status=$?
	out=$(<"$OUT")
	err=$(<"$ERR")
}

# The reply of a "show stats" with two listeners and two workers.
stats_reply() {
	reply \
	    "record total generation=3 listeners=2 workers=2 connections=5 accepted=120 denied=2 limited=1 connect_failures=0 bytes_sent=123456 bytes_received=7890123 uptime_ms=5120 reloads=2" \
	    "record listener id=1 local=127.0.0.1:8080 remotes=127.0.0.1:7000,[::1]:7000 state=accepting connections=4 accepted=100 denied=2 limited=1 connect_failures=0 bytes_sent=100000 bytes_received=7000000" \
	    "record listener id=12 local=[::1]:8443 remotes=10.0.0.1:443 state=draining connections=1 accepted=20 denied=0 limited=0 connect_failures=3 bytes_sent=23456 bytes_received=890123" \
	    "record worker id=1 pid=1234 state=running generation=3 connections=3 restarts=0 uptime_ms=5100" \
	    "record worker id=2 pid=1235 state=restarting generation=3 connections=2 restarts=1 uptime_ms=12" \
	    "ok"
}

@test "text: a table per kind, upper-case header, numbers right, text left" {
	stats_reply
	ctlserver
	ctl show stats
	[ "$status" -eq 0 ]
	[ -z "$err" ]
	diff -u - "$OUT" <<'EOF'
GENERATION  LISTENERS  WORKERS  CONNECTIONS  ACCEPTED  DENIED  LIMITED  CONNECT_FAILURES  BYTES_SENT  BYTES_RECEIVED  UPTIME_MS  RELOADS
         3          2        2            5       120       2        1                 0      123456         7890123       5120        2

ID  LOCAL           REMOTES                    STATE      CONNECTIONS  ACCEPTED  DENIED  LIMITED  CONNECT_FAILURES  BYTES_SENT  BYTES_RECEIVED
 1  127.0.0.1:8080  127.0.0.1:7000,[::1]:7000  accepting            4       100       2        1                 0      100000         7000000
12  [::1]:8443      10.0.0.1:443               draining             1        20       0        0                 3       23456          890123

ID   PID  STATE       GENERATION  CONNECTIONS  RESTARTS  UPTIME_MS
 1  1234  running              3            3         0       5100
 2  1235  restarting           3            2         1         12
EOF
	[ "$(head -n 1 "$REQS")" = "show stats" ]
}

@test "text: kinds in the order they came, a missing key shows -, new keys get a column" {
	reply "record worker id=1 pid=7" \
	    "record listener id=1 local=*:80" \
	    "record worker id=2 pid=8 extra=new" \
	    "record future x=1" \
	    "ok"
	ctlserver
	ctl show workers
	[ "$status" -eq 0 ]
	diff -u - "$OUT" <<'EOF'
ID  PID  EXTRA
 1    7  -
 2    8  new

ID  LOCAL
 1  *:80

X
1
EOF
}

@test "text: info lines and the final text come after the tables; a bare ok adds nothing" {
	reply "record reload generation=4 kept=1 added=2 removed=0" \
	    "info listener 127.0.0.1:8081 added" "ok reload complete"
	ctlserver
	ctl reload
	[ "$status" -eq 0 ]
	diff -u - "$OUT" <<'EOF'
GENERATION  KEPT  ADDED  REMOVED
         4     1      2        0

listener 127.0.0.1:8081 added
reload complete
EOF
	reply "ok"
	ctl log reopen
	[ "$status" -eq 0 ]
	[ ! -s "$OUT" ]
	[ ! -s "$ERR" ]
	reply "ok stopping"
	ctl stop
	[ "$status" -eq 0 ]
	[ "$out" = stopping ]
}

@test "JSON: one object that jq parses, arrays and single objects by kind" {
	stats_reply
	ctlserver
	ctl -j show stats
	[ "$status" -eq 0 ]
	[ "$(wc -l <"$OUT")" -eq 1 ]
	[ "$(jq -c 'keys_unsorted' "$OUT")" = '["ok","message","info","total","listeners","workers"]' ]
	[ "$(jq -r '.ok' "$OUT")" = true ]
	[ "$(jq -r '.message' "$OUT")" = null ]
	[ "$(jq -c '.info' "$OUT")" = '[]' ]
	[ "$(jq -r '.total.accepted | type' "$OUT")" = number ]
	[ "$(jq -r '.total.bytes_received' "$OUT")" = 7890123 ]
	[ "$(jq -r '.listeners | length' "$OUT")" = 2 ]
	[ "$(jq -r '.listeners[1].id' "$OUT")" = 12 ]
	[ "$(jq -r '.listeners[1].local' "$OUT")" = "[::1]:8443" ]
	[ "$(jq -r '.listeners[0].state | type' "$OUT")" = string ]
	[ "$(jq -r '.workers[1].state' "$OUT")" = restarting ]
}

@test "JSON: numbers are ^(0|-?[1-9][0-9]*)\$, anything else a string" {
	reply "record connection id=2.17 worker=2 a=0 b=-5 c=007 d=-0 e=1e3 f=- g=12345678901234567890 h=0.5" \
	    "record future ignored=1" "ok"
	ctlserver
	ctl -j show connections
	[ "$status" -eq 0 ]
	[ "$(jq -c '.connections[0] | map_values(type)' "$OUT")" = \
	    '{"id":"string","worker":"number","a":"number","b":"number","c":"string","d":"string","e":"string","f":"string","g":"number","h":"string"}' ]
	[ "$(jq -r '.connections[0].c' "$OUT")" = 007 ]
	[ "$(jq -r '.connections[0].b' "$OUT")" = -5 ]
	# a kind it does not know is left out
	[ "$(jq -c 'keys_unsorted' "$OUT")" = '["ok","message","info","connections"]' ]
}

@test "JSON: what a command lists is there when empty; ok TEXT is the message" {
	reply "ok"
	ctlserver
	ctl -j show connections
	[ "$status" -eq 0 ]
	[ "$(jq -c '.connections' "$OUT")" = '[]' ]
	ctl -j show stats
	[ "$(jq -c '[.total, .listeners, .workers]' "$OUT")" = '[null,[],[]]' ]
	reply "ok stopping"
	ctl -j stop
	[ "$status" -eq 0 ]
	[ "$(jq -c '.' "$OUT")" = '{"ok":true,"message":"stopping","info":[]}' ]
}

@test "a failed reload: every error on stderr, exit 1; with -j the object too" {
	reply "info /etc/tcpproxy.conf:3:2: unknown keyword 'bogus'" \
	    "info /etc/tcpproxy.conf:4:16: invalid time 'soon'" \
	    "error reload failed: 2 errors; still serving generation 1"
	ctlserver
	ctl reload
	[ "$status" -eq 1 ]
	[ ! -s "$OUT" ]
	diff -u - "$ERR" <<'EOF'
/etc/tcpproxy.conf:3:2: unknown keyword 'bogus'
/etc/tcpproxy.conf:4:16: invalid time 'soon'
tcpproxyctl: reload failed: 2 errors; still serving generation 1
EOF
	ctl -j reload
	[ "$status" -eq 1 ]
	[ "$(jq -r '.ok' "$OUT")" = false ]
	[ "$(jq -r '.message' "$OUT")" = "reload failed: 2 errors; still serving generation 1" ]
	[ "$(jq -r '.info[1]' "$OUT")" = "/etc/tcpproxy.conf:4:16: invalid time 'soon'" ]
	[ "$(jq -c '.reload' "$OUT")" = null ]
	[[ $err == *"tcpproxyctl: reload failed: 2 errors"* ]]
}

@test "exit status: 0 on ok, 1 on error with its text on stderr" {
	reply "ok"
	ctlserver
	ctl kill connection 1.2
	[ "$status" -eq 0 ]
	reply "error no connection 1.2"
	ctl kill connection 1.2
	[ "$status" -eq 1 ]
	[ ! -s "$OUT" ]
	[ "$err" = "tcpproxyctl: no connection 1.2" ]
	reply "error upgrade failed: exec: No such file or directory"
	ctl upgrade
	[ "$status" -eq 1 ]
	[ "$err" = "tcpproxyctl: upgrade failed: exec: No such file or directory" ]
}

@test "each command sends its request line, and only that" {
	reply "ok"
	ctlserver
	cmds=(
		"show listeners|show listeners"
		"show connections|show connections"
		"show connections 7|show connections 7"
		"show stats|show stats"
		"show workers|show workers"
		"show metrics|show stats"
		"-j show metrics|show stats"
		"reload|reload"
		"kill connection 2.17|kill connection 2.17"
		"drain listener 127.0.0.1 8080|drain listener 127.0.0.1 8080"
		"drain listener ::1 http|drain listener ::1 http"
		"enable listener * 443|enable listener * 443"
		"log reopen|log reopen"
		"stop|stop"
		"stop --drain 30|stop drain 30"
		"stop --drain 0|stop drain 0"
		"upgrade|upgrade"
	)
	want=()
	for c in "${cmds[@]}"; do
		read -r -a args <<<"${c%%|*}"
		ctl "${args[@]}"
		[ "$status" -eq 0 ] || { echo "$c: $status: $err"; return 1; }
		want+=("${c#*|}")
	done
	diff -u <(printf '%s\n' "${want[@]}") "$REQS"
}

@test "usage errors exit 2 with one line and the usage, and send nothing" {
	reply "ok"
	ctlserver
	bad=(
		"no command given|"
		"unknown command 'frobnicate'|frobnicate"
		"show: what?|show"
		"show: unknown 'everything'|show everything"
		"show listeners: unexpected argument 'x'|show listeners x"
		"show connections: unexpected argument '1'|show connections 1 2"
		"invalid listener id 'abc'|show connections abc"
		"invalid listener id '0'|show connections 0"
		"invalid listener id '4294967296'|show connections 4294967296"
		"reload: unexpected argument 'now'|reload now"
		"upgrade: unexpected argument 'x'|upgrade x"
		"invalid connection 'nonsense'|kill connection nonsense"
		"invalid connection '17'|kill connection 17"
		"invalid connection '.5'|kill connection .5"
		"invalid connection '0.5'|kill connection 0.5"
		"invalid connection '1.x'|kill connection 1.x"
		"kill: expected kill connection worker.number|kill conn 1.2"
		"kill: expected|kill connection"
		"drain: expected drain listener address port|drain listener 127.0.0.1"
		"enable: expected enable listener address port|enable 127.0.0.1 80"
		"invalid port '99999'|drain listener 127.0.0.1 99999"
		"invalid port '0'|drain listener 127.0.0.1 0"
		"invalid port 'a/b'|enable listener 127.0.0.1 a/b"
		"log: expected log reopen|log rotate"
		"stop: expected stop \[--drain seconds\]|stop now"
		"stop: expected|stop --drain"
		"invalid drain time '86401'|stop --drain 86401"
		"invalid drain time '-1'|stop --drain -1"
		"invalid timeout '0'|-t 0 show stats"
		"invalid timeout 'soon'|-t soon show stats"
		"unknown option -x|-x show stats"
		"option -s needs an argument|-s"
		"option -t needs an argument|-j -t"
		"show stats: unexpected argument .-j.|show stats -j"
	)
	for b in "${bad[@]}"; do
		read -r -a args <<<"${b#*|}"
		ctl "${args[@]}"
		if [[ $status -ne 2 || ! ${err%%$'\n'*} =~ ^tcpproxyctl:\ .*${b%%|*} ||
		    $(sed -n 2p "$ERR") != "usage: tcpproxyctl "* || -s $OUT ]]; then
			echo "tcpproxyctl ${b#*|}: status $status, stderr:" >&2
			cat "$ERR" >&2
			return 1
		fi
	done
	# an address with a blank or a control character cannot be sent
	ctl drain listener "127.0.0.1 x" 80
	[ "$status" -eq 2 ]
	[[ $err == *"invalid address '127.0.0.1 x': must be one word"* ]]
	ctl enable listener $'a\tb' 80
	[ "$status" -eq 2 ]
	ctl drain listener "$(printf 'a%.0s' {1..600})" 80
	[ "$status" -eq 2 ]
	[[ $err == *"request longer than 511 bytes"* ]]
	[ ! -s "$REQS" ]
}

@test "-h prints the usage on stdout and exits 0" {
	run "$CTL" -h
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == "usage: tcpproxyctl [-j] [-s socket] [-t seconds] command"* ]]
	[[ $output == *"stop [--drain seconds]"* ]]
}

@test "a missing socket, or one nobody listens on: exit 2 naming it and why" {
	expect_fail_line 2 "^tcpproxyctl: cannot connect to $SOCK: No such file or directory$" \
	    "$CTL" -s "$SOCK" show workers
	: >"$SOCK"
	expect_fail_line 2 "^tcpproxyctl: cannot connect to $SOCK: Connection refused$" \
	    "$CTL" -s "$SOCK" show workers
	long=/tmp/$(printf 'x%.0s' {1..120})
	expect_fail_line 2 "^tcpproxyctl: $long: socket path too long$" \
	    "$CTL" -s "$long" show workers
	expect_fail_line 2 "^tcpproxyctl: cannot connect to /nonexistent/tcpproxy.sock: No such file or directory$" \
	    "$CTL" -s /nonexistent/tcpproxy.sock stop
}

@test "the default socket is /run/tcpproxy.sock" {
	[ ! -e /run/tcpproxy.sock ] || skip "a tcpproxy runs here"
	expect_fail_line 2 "^tcpproxyctl: cannot connect to /run/tcpproxy.sock: " \
	    "$CTL" show workers
}

@test "a server that never answers: -t 1 gives up with exit 2" {
	ctlserver silent
	run_timeout 10 "$CTL" -s "$SOCK" -t 1 show workers
	[ "$status" -eq 2 ]
	[ "$output" = "tcpproxyctl: $SOCK: no reply within 1 second" ]
	[ "$(cat "$REQS")" = "show workers" ]
	run_timeout 10 "$CTL" -s "$SOCK" -t 2 reload
	[ "$status" -eq 2 ]
	[ "$output" = "tcpproxyctl: $SOCK: no reply within 2 seconds" ]
}

@test "a reply cut short, empty or malformed: exit 2 with one line saying where" {
	ctlserver
	cases=(
		"truncated: no final ok or error line|record worker id=1\n"
		"truncated: line 2 has no newline|record worker id=1\nok"
		"truncated: line 1 has no newline|ok"
		"line 1: not a record, info, ok or error line|hello\n"
		"line 1: not a record, info, ok or error line|OK\n"
		"line 1: not a record, info, ok or error line|ok\r\n"
		"line 1: not a record, info, ok or error line|record\nok\n"
		"line 1: invalid record kind|record Worker id=1\nok\n"
		"line 1: invalid record kind|record  id=1\nok\n"
		"line 1: a field without '='|record worker id=1  pid=2\nok\n"
		"line 1: a field without '='|record worker id=1 \nok\n"
		"line 1: invalid key|record worker ID=1\nok\n"
		"line 1: invalid key|record worker 1d=1\nok\n"
		"line 1: a key given twice|record worker id=1 id=2\nok\n"
		"line 1: empty value|record worker id=\nok\n"
		"line 1: unescaped '=' in a value|record worker id=a=b\nok\n"
		"line 1: '%' not followed by two uppercase hex digits|record worker id=%2a\nok\n"
		"line 1: '%' not followed by two uppercase hex digits|record worker id=%2\nok\n"
		"line 1: %00 in a value|record worker id=a%00\nok\n"
		"line 1: unescaped byte in a value|record worker id=\xc3\xa9\nok\n"
		"line 2: more after the final line|ok\nok\n"
		"line 2: more after the final line|error no\nrecord worker id=1\n"
		"line 1: empty text|info \nok\n"
		"line 1: empty text|error \n"
		"line 1: not a record, info, ok or error line|error\n"
		"line 1: control character in text|info a\x1b[2Jb\nok\n"
		"line 1: NUL byte|ok\0\n"
		"line 2: line too long|info x\nrecord worker id=$(printf 'a%.0s' {1..8200})\nok\n"
	)
	for c in "${cases[@]}"; do
		printf '%b' "${c#*|}" >"$REPLY"
		ctl show workers
		if [[ $status -ne 2 || $err != "tcpproxyctl: reply from $SOCK: ${c%%|*}" ||
		    -s $OUT ]]; then
			echo "reply $(printf %q "${c#*|}"): status $status, stderr:" >&2
			cat "$ERR" >&2
			return 1
		fi
	done
	ctlserver close
	ctl show workers
	[ "$status" -eq 2 ]
	[ "$err" = "tcpproxyctl: reply from $SOCK: empty: closed without an answer" ]
}

@test "escaped values come back: %20 a space in text and JSON, quotes, newlines, UTF-8" {
	reply "record connection id=1.1 client=a%20b remote=q%22b%5Cs%0At state=%C3%A9t%C3%A9 x=%FF%7F%25%3D" "ok"
	ctlserver
	ctl show connections
	[ "$status" -eq 0 ]
	# in text, a newline or a byte outside UTF-8 stays escaped
	diff -u - "$OUT" <<'EOF'
ID   CLIENT  REMOTE     STATE  X
1.1  a b     q"b\s%0At  été    %FF%7F%=
EOF
	ctl -j show connections
	[ "$status" -eq 0 ]
	[ "$(jq -r '.connections[0].client' "$OUT")" = "a b" ]
	[ "$(jq -r '.connections[0].remote' "$OUT")" = $'q"b\\s\nt' ]
	[ "$(jq -r '.connections[0].state' "$OUT")" = "été" ]
	[ "$(jq -r '.connections[0].x' "$OUT")" = $'\xc3\xbf\x7f%=' ]
	grep -qF '"remote":"q\"b\\s\u000At"' "$OUT"
	grep -qF '"x":"\u00FF\u007F%="' "$OUT"
}

@test "ctl_escape: every byte survives escape and parse; truncation keeps whole escapes" {
	run "$TBIN/tp-ctlrecord" roundtrip
	[ "$status" -eq 0 ]
	[ "$output" = "ok 256" ]
	run "$TBIN/tp-ctlrecord" escape "a b=c%d" 64
	[ "$output" = "13 a%20b%3Dc%25d" ]
	run "$TBIN/tp-ctlrecord" escape "" 64
	[ "$output" = "1 -" ]
	run "$TBIN/tp-ctlrecord" escape "a b" 3
	[ "$output" = "5 a" ]
	run "$TBIN/tp-ctlrecord" escape "a b" 5
	[ "$output" = "5 a%20" ]
	run "$TBIN/tp-ctlrecord" escape "a bc" 6
	[ "$output" = "6 a%20b" ]
	run "$TBIN/tp-ctlrecord" escape "abc" 0
	[ "$output" = "3 " ]
}

@test "show metrics: Prometheus text that promtool accepts, each family typed once" {
	stats_reply
	ctlserver
	ctl show metrics
	[ "$status" -eq 0 ]
	[ -z "$err" ]
	run promtool check metrics <"$OUT"
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	grep -qx 'tcpproxy_connections 5' "$OUT"
	grep -qx 'tcpproxy_generation 3' "$OUT"
	grep -qx 'tcpproxy_reloads_total 2' "$OUT"
	grep -qx 'tcpproxy_uptime_seconds 5.120' "$OUT"
	grep -qx '# TYPE tcpproxy_reloads_total counter' "$OUT"
	grep -qx '# TYPE tcpproxy_uptime_seconds gauge' "$OUT"
	grep -qx 'tcpproxy_listener_accepted_total{listener="1",local="127.0.0.1:8080"} 100' "$OUT"
	grep -qx 'tcpproxy_listener_connect_failures_total{listener="12",local="\[::1\]:8443"} 3' "$OUT"
	grep -qx 'tcpproxy_listener_sent_bytes_total{listener="1",local="127.0.0.1:8080"} 100000' "$OUT"
	grep -qx 'tcpproxy_listener_received_bytes_total{listener="12",local="\[::1\]:8443"} 890123' "$OUT"
	grep -qx 'tcpproxy_listener_draining{listener="1",local="127.0.0.1:8080"} 0' "$OUT"
	grep -qx 'tcpproxy_listener_draining{listener="12",local="\[::1\]:8443"} 1' "$OUT"
	grep -qx '# TYPE tcpproxy_listener_connections gauge' "$OUT"
	grep -qx 'tcpproxy_worker_up{worker="1"} 1' "$OUT"
	grep -qx 'tcpproxy_worker_up{worker="2"} 0' "$OUT"
	grep -qx 'tcpproxy_worker_restarts_total{worker="2"} 1' "$OUT"
	grep -qx 'tcpproxy_worker_uptime_seconds{worker="2"} 0.012' "$OUT"
	grep -qx '# TYPE tcpproxy_worker_restarts_total counter' "$OUT"
	# HELP and TYPE once per family, before all of its samples
	[ -z "$(grep '^# TYPE' "$OUT" | sort | uniq -d)" ]
	[ "$(grep -c '^# HELP' "$OUT")" -eq "$(grep -c '^# TYPE' "$OUT")" ]
	awk '/^# TYPE/ { t[$3] = NR } !/^#/ { n = $1; sub(/\{.*/, "", n);
	    if (!(n in t)) exit 1; if (n != last && (n in seen)) exit 1;
	    seen[n] = 1; last = n }' "$OUT"
	# -j changes nothing
	cp "$OUT" "$BATS_TEST_TMPDIR/plain"
	ctl -j show metrics
	diff -u "$BATS_TEST_TMPDIR/plain" "$OUT"
}

@test "show metrics: label values escaped; unknown records and keys skipped" {
	reply "record total generation=1 connections=0 novel=9" \
	    "record listener id=3 local=a%22b%5Cc%0Ad connections=2 accepted=5 state=accepting shiny=1" \
	    "record listener local=no-id accepted=1" \
	    "record worker id=1 state=running connections=x restarts=0" \
	    "record gadget id=1 widgets=4" \
	    "ok"
	ctlserver
	ctl show metrics
	[ "$status" -eq 0 ]
	run promtool check metrics <"$OUT"
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	grep -qxF 'tcpproxy_listener_accepted_total{listener="3",local="a\"b\\c\nd"} 5' "$OUT"
	! grep -q 'novel\|shiny\|gadget\|widgets\|no-id' "$OUT"
	# a value that is not a number gives no sample, and no family
	! grep -q 'tcpproxy_worker_connections' "$OUT"
	grep -qx 'tcpproxy_worker_restarts_total{worker="1"} 0' "$OUT"
	! grep -q 'tcpproxy_accepted_total' "$OUT"
}

@test "show metrics of an error reply: exit 1, nothing on stdout" {
	reply "error too many control clients"
	ctlserver
	ctl show metrics
	[ "$status" -eq 1 ]
	[ ! -s "$OUT" ]
	[ "$err" = "tcpproxyctl: too many control clients" ]
}

@test "a reply that arrives a byte at a time reads the same" {
	stats_reply
	ctlserver
	ctl show stats
	cp "$OUT" "$BATS_TEST_TMPDIR/whole"
	ctlserver trickle
	ctl show stats
	[ "$status" -eq 0 ]
	diff -u "$BATS_TEST_TMPDIR/whole" "$OUT"
}

@test "a large reply: 20000 connections, every row as wide" {
	awk 'BEGIN { for (i = 1; i <= 20000; i++)
	    printf "record connection id=%d.%d worker=%d listener=1 client=127.0.0.1:%d remote=127.0.0.1:80 state=established bytes_sent=%d bytes_received=0 age_ms=1 idle_ms=1\n",
	    i % 4 + 1, i, i % 4 + 1, 1024 + i % 60000, i * 7
	    print "ok" }' >"$REPLY"
	ctlserver
	ctl show connections
	[ "$status" -eq 0 ]
	[ "$(wc -l <"$OUT")" -eq 20001 ]
	[ "$(awk '{ print length($0) }' "$OUT" | sort -u | wc -l)" -eq 1 ]
	ctl -j show connections
	[ "$status" -eq 0 ]
	[ "$(jq '.connections | length' "$OUT")" -eq 20000 ]
	[ "$(jq '.connections[19999].bytes_sent' "$OUT")" -eq 140000 ]
}
