# Common helpers for the tcpproxy bats tests; every t/*.bats does
# `load helper`.
#
# Every process started here runs in its own process group (setsid) with
# fd 3 closed (bats waits for fd 3 to be closed before it finishes), and
# is killed by helper_teardown.  Every wait is bounded.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TCPPROXY=${TCPPROXY:-$TOP/tcpproxy}
TBIN=${TBIN:-$TOP/t/bin}

# per-test directory; BATS_FILE_TMPDIR in setup_file
_tmpdir() {
	_TMP=${BATS_TEST_TMPDIR:-${BATS_FILE_TMPDIR:?not run by bats}}
}
_tmpdir
TP_LOG=$_TMP/tcpproxy.log

# pids to kill in teardown, plus the count of servers/proxies started
HELPER_PIDS=()
_HELPER_NSRV=0
_HELPER_NTP=0

# _ms_from SECONDS: milliseconds in _MS (accepts "10" and "0.5")
_ms_from() {
	local s=$1 int frac
	int=${s%%.*}
	frac=
	[[ $s == *.* ]] && frac=${s#*.}
	frac=${frac}000
	_MS=$(( 10#${int:-0} * 1000 + 10#${frac:0:3} ))
}

# _now_ms: wall clock in milliseconds in _NOW
_now_ms() {
	local t=${EPOCHREALTIME//[.,]/}
	_NOW=$(( t / 1000 ))
}

# _alive PID: true while PID exists and is not a zombie
_alive() {
	local st
	kill -0 "$1" 2>/dev/null || return 1
	# not $(<file): under bats a failing $(<file) fails the test
	{ read -r st <"/proc/$1/stat"; } 2>/dev/null || return 1
	st=${st##*) }		# the name may contain blanks and parens
	[[ ${st%% *} != Z ]]
}

# register_pid PID...: have teardown kill these too (e.g. a daemonized
# tcpproxy whose pid came from a pid file)
register_pid() {
	HELPER_PIDS+=("$@")
}

# hold_clients N PORT [SECONDS [HOST]]: N clients that connect to HOST
# (127.0.0.1 unless told) PORT and hold the connection (60 s unless
# told), in the background; HOLDERS=(their pids), stopped with the test.
hold_clients() {
	local i
	HOLDERS=()
	for ((i = 0; i < $1; i++)); do
		setsid "$TBIN/tp-client" -m hold -T "${3:-60}" "${4:-127.0.0.1}" "$2" \
		    </dev/null >/dev/null 2>&1 3>&- &
		HOLDERS+=($!)
		register_pid $!
	done
}

# free_ports N: PORTS=(N distinct free ports on 127.0.0.1)
free_ports() {
	local out
	out=$("$TBIN/tp-freeport" -n "${1:-1}") || {
		echo "free_ports: tp-freeport failed" >&2
		return 1
	}
	mapfile -t PORTS <<<"$out"
}

# start_server MODE [tp-server args...]: start a tp-server in the
# background and wait for its port file.  Sets SERVER_PORT, SERVER_PID
# and SERVER_LOG.
start_server() {
	local mode=$1 n pf i
	shift
	_tmpdir
	n=$((++_HELPER_NSRV))
	pf=$_TMP/srv.$n.port
	SERVER_LOG=$_TMP/srv.$n.log
	rm -f "$pf"
	setsid "$TBIN/tp-server" -m "$mode" -P "$pf" "$@" \
	    </dev/null >"$SERVER_LOG" 2>&1 3>&- &
	SERVER_PID=$!
	HELPER_PIDS+=("$SERVER_PID")
	for ((i = 0; i < 200; i++)); do
		if [[ -s $pf ]]; then
			read -r SERVER_PORT <"$pf"
			return 0
		fi
		if ! _alive "$SERVER_PID"; then
			echo "start_server $mode: tp-server exited:" >&2
			cat "$SERVER_LOG" >&2 || true
			return 1
		fi
		sleep 0.05
	done
	echo "start_server $mode: no port file after 10 s" >&2
	cat "$SERVER_LOG" >&2 || true
	return 1
}

# start_tcpproxy [args...]: run tcpproxy in the foreground (-D, logging to
# stderr at level TP_LOGLEVEL, default 5, with TP_EXTRA_ARGS, e.g.
# --no-splice when the suite runs again on the copy path) in the
# background, logging to TP_LOG; sets TP_PID.  The first instance of a
# test logs to tcpproxy.log, later ones to tcpproxy.N.log.
start_tcpproxy() {
	start_tcpproxy_via -- "$@"
}

# start_tcpproxy_via WRAPPER... -- [args...]: start_tcpproxy, with tcpproxy
# run by a wrapper command that ends by exec'ing it: prlimit, setpriv,
# tp-activate, with_hosts, ...  TP_PID is the wrapper's pid, which exec
# makes tcpproxy's.
start_tcpproxy_via() {
	local wrapper=()
	while (($# > 0)) && [[ $1 != -- ]]; do
		wrapper+=("$1")
		shift
	done
	shift
	local n
	if [[ ! -x $TCPPROXY ]]; then
		echo "start_tcpproxy: $TCPPROXY is not executable" >&2
		return 1
	fi
	_tmpdir
	n=$((++_HELPER_NTP))
	if ((n == 1)); then
		TP_LOG=$_TMP/tcpproxy.log
	else
		TP_LOG=$_TMP/tcpproxy.$n.log
	fi
	setsid "${wrapper[@]}" "$TCPPROXY" -D -L "stderr:${TP_LOGLEVEL:-5}" \
	    ${TP_EXTRA_ARGS:-} "$@" </dev/null >"$TP_LOG" 2>&1 3>&- &
	TP_PID=$!
	HELPER_PIDS+=("$TP_PID")
}

# "${WITH_HOSTS[@]}" FILE CMD...: run CMD with FILE as its /etc/hosts (a
# private mount namespace), e.g. for a name with an IPv6 and an IPv4
# address; with_hosts is the same as a function, for `run`.
WITH_HOSTS=(unshare --mount sh -c 'mount --bind "$0" /etc/hosts && exec "$@"')
with_hosts() {
	"${WITH_HOSTS[@]}" "$@"
}

# stop_tcpproxy [SIGNAL]: signal tcpproxy (default TERM), wait up to 10 s
# for it to exit and put its exit status in TP_STATUS.  Unsets TP_PID.
stop_tcpproxy() {
	local sig=${1:-TERM} i
	if [[ -z ${TP_PID:-} ]]; then
		echo "stop_tcpproxy: not running" >&2
		return 1
	fi
	kill -s "$sig" "$TP_PID" 2>/dev/null || true	# may be gone already
	for ((i = 0; i < 200; i++)); do
		_alive "$TP_PID" || break
		sleep 0.05
	done
	if _alive "$TP_PID"; then
		echo "stop_tcpproxy: pid $TP_PID still running after 10 s" >&2
		return 1
	fi
	TP_STATUS=0
	wait "$TP_PID" 2>/dev/null || TP_STATUS=$?
	unset TP_PID
}

# wait_for_port PORT [ADDR]: wait up to 10 s until a TCP connect to
# ADDR:PORT (default 127.0.0.1) succeeds.  Fails early if the tcpproxy
# in TP_PID died meanwhile; then waits for its "ready" line (below).
wait_for_port() {
	local port=$1 addr=${2:-127.0.0.1} end
	_now_ms
	end=$((_NOW + 10000))
	while :; do
		if "$TBIN/tp-client" -m connect -T 2 "$addr" "$port" \
		    </dev/null >/dev/null 2>&1 3>&-; then
			_wait_for_ready
			return
		fi
		if [[ -n ${TP_PID:-} ]] && ! _alive "$TP_PID"; then
			echo "wait_for_port $addr $port: tcpproxy (pid $TP_PID)" \
			    "exited; log:" >&2
			cat "$TP_LOG" >&2 || true
			return 1
		fi
		_now_ms
		((_NOW < end)) || break
		sleep 0.05
	done
	echo "wait_for_port: nothing accepts on $addr port $port after 10 s" >&2
	[[ -f $TP_LOG ]] && cat "$TP_LOG" >&2
	return 1
}

# A tcpproxy port answers as soon as it is bound, before the workers
# exist and before the master handles signals: when the tcpproxy of
# TP_PID logs at NOTICE, also wait for its "ready" line, so that a test
# may then signal it, look for its workers or count its pipes.
_wait_for_ready() {
	[[ -n ${TP_PID:-} && -n ${TP_LOG:-} ]] || return 0
	((${TP_LOGLEVEL:-5} >= 3)) || return 0
	_alive "$TP_PID" || return 0
	wait_for_log "NOTICE: master: ready: "
}

# wait_for_log REGEX [FILE] [TIMEOUT]: wait until `grep -E REGEX FILE`
# matches (default TP_LOG, 10 s).
wait_for_log() {
	local re=$1 file=${2:-$TP_LOG} end
	_ms_from "${3:-10}"
	_now_ms
	end=$((_NOW + _MS))
	while :; do
		grep -Eq -- "$re" "$file" 2>/dev/null && return 0
		_now_ms
		((_NOW < end)) || break
		sleep 0.05
	done
	echo "wait_for_log: /$re/ not found in $file after ${3:-10} s:" >&2
	cat "$file" >&2 || true
	return 1
}

# wait_for_count N REGEX [FILE] [TIMEOUT]: wait until at least N lines of
# FILE (default TP_LOG) match `grep -E REGEX` (default 10 s).  Workers'
# lines reach the log through the master, so they can lag the traffic.
wait_for_count() {
	local n=$1 re=$2 file=${3:-$TP_LOG} end c
	_ms_from "${4:-10}"
	_now_ms
	end=$((_NOW + _MS))
	while :; do
		c=$(grep -Ec -- "$re" "$file" 2>/dev/null) || true
		((${c:-0} >= n)) && return 0
		_now_ms
		((_NOW < end)) || break
		sleep 0.05
	done
	echo "wait_for_count: ${c:-0} of $n lines match /$re/ in $file" \
	    "after ${4:-10} s:" >&2
	cat "$file" >&2 || true
	return 1
}

# _run_file SECONDS CMD...: like bats `run` (sets status, output, lines)
# but CMD writes to a file, not a pipe: a daemon that keeps the caller's
# stdout open can not hang the test.  timeout(1) kills CMD's process
# group after SECONDS (status 124) and KILLs it 2 s later.
_run_file() {
	local secs=$1 f
	shift
	_tmpdir
	f=$_TMP/run.$BASHPID.out
	timeout -k 2 "$secs" "$@" </dev/null >"$f" 2>&1 3>&- &&
	    status=0 || status=$?
	output=$(<"$f")
	rm -f "$f"
	lines=()
	# newline is IFS white space: empty lines drop out, as with `run`
	IFS=$'\n' read -r -d '' -a lines <<<"$output" || true
	return 0
}

# run_timeout SECONDS CMD...: bats `run` with the command under
# timeout(1): status 124 on timeout.  Like `run`, output and lines hold
# stdout and stderr together (lines without empty ones).
run_timeout() {
	_run_file "$@"
}

# expect_fail_line STATUS REGEX CMD...: CMD must exit with STATUS and
# print (stdout and stderr together) exactly one line matching REGEX.
# External commands run under a 60 s timeout.
expect_fail_line() {
	local want=$1 re=$2
	shift 2
	if declare -F "$1" >/dev/null; then
		run "$@"
	else
		_run_file 60 "$@"
	fi
	if [[ $status -ne $want || -z $output || $output == *$'\n'* ||
	    ! $output =~ $re ]]; then
		{
			echo "expect_fail_line: wanted status $want and one line" \
			    "matching /$re/"
			echo "command: $*"
			echo "got status $status, output:"
			printf '%s\n' "$output"
		} >&2
		return 1
	fi
}

# _descendants PID: PID's children, grandchildren, ... one per line
_descendants() {
	local c
	for c in $(pgrep -P "$1" 2>/dev/null); do
		echo "$c"
		_descendants "$c"
	done
}

# helper_teardown: kill everything started by these helpers (TERM, then
# KILL after 2 s), children and process groups included; show the
# tcpproxy logs if the test failed.  A sanitizer report in a tcpproxy
# log fails the test.
helper_teardown() {
	local pid p i all=() left=0 f logs=() bad=0
	for pid in "${HELPER_PIDS[@]}"; do
		all+=("$pid" $(_descendants "$pid"))
	done
	for pid in "${HELPER_PIDS[@]}"; do
		# each was started by setsid: its pgid is its pid
		kill -TERM -- "-$pid" 2>/dev/null
	done
	for p in "${all[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for ((i = 0; i < 40; i++)); do
		left=0
		for p in "${all[@]}"; do
			_alive "$p" && left=1 && break
		done
		((left)) || break
		sleep 0.05
	done
	if ((left)); then
		for pid in "${HELPER_PIDS[@]}"; do
			kill -KILL -- "-$pid" 2>/dev/null
		done
		for p in "${all[@]}"; do
			kill -KILL "$p" 2>/dev/null
		done
	fi
	for pid in "${HELPER_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	HELPER_PIDS=()

	_tmpdir
	for f in "$_TMP"/tcpproxy*.log; do
		[[ -f $f ]] && logs+=("$f")
	done
	for f in "${logs[@]}"; do
		if grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' \
		    "$f"; then
			echo "helper_teardown: sanitizer report in $f"
			bad=1
		fi
	done
	if [[ -z ${BATS_TEST_COMPLETED:-} ]] || ((bad)); then
		for f in "${logs[@]}"; do
			echo "--- $f (last 100 lines)"
			tail -n 100 "$f"
		done
	fi
	return "$bad"
}

# workers_of PID: the worker pids of master PID, one per line
workers_of() {
	pgrep -P "$1" | sort -n
}

# wait_workers PID N: until master PID has N workers
wait_workers() {
	local i
	for ((i = 0; i < 200; i++)); do
		[ "$(workers_of "$1" | wc -l)" -eq "$2" ] && return 0
		sleep 0.05
	done
	echo "master $1 does not have $2 workers: $(workers_of "$1" | tr '\n' ' ')" >&2
	return 1
}

# wait_replaced MASTER OLD N: until MASTER has N workers, none of them OLD
wait_replaced() {
	local i
	for ((i = 0; i < 200; i++)); do
		[ "$(workers_of "$1" | grep -vxc "$2")" -eq "$3" ] && return 0
		sleep 0.05
	done
	echo "master $1: worker $2 not replaced: $(workers_of "$1" | tr '\n' ' ')" >&2
	return 1
}

# wait_gone PID...: until every PID has exited (a zombie counts as
# gone), 5 s at most each
wait_gone() {
	local p i
	for p in "$@"; do
		for ((i = 0; i < 100; i++)); do
			_alive "$p" || continue 2
			sleep 0.05
		done
		echo "pid $p still running after 5 s" >&2
		return 1
	done
}

# status_field PID FIELD: the field's values from /proc/PID/status,
# separated by single spaces
status_field() {
	awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"
}

teardown() {
	helper_teardown
}
