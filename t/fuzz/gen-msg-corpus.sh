#!/bin/sh
# Writes the seed corpus for fuzz_msg into corpus/msg/ (run from t/fuzz).
# Each file: one control byte (bits 0-1: descriptors to pass, bit 2: pad
# beyond the largest message), then the datagram: a little-endian header
# (uint32 type, uint32 payload length) and the payload.
set -eu
cd "$(dirname "$0")"
out=corpus/msg
mkdir -p "$out"

# u32 N: N as four little-endian bytes
u32() {
	printf "\\$(printf %03o $(($1 & 255)))\\$(printf %03o $((($1 >> 8) & 255)))"
	printf "\\$(printf %03o $((($1 >> 16) & 255)))\\$(printf %03o $((($1 >> 24) & 255)))"
}
# seed NAME CONTROL TYPE LEN [PAYLOAD-COMMAND...]
seed() {
	name=$1 ctl=$2 type=$3 len=$4
	shift 4
	{
		printf "\\$(printf %03o "$ctl")"
		u32 "$type"
		u32 "$len"
		[ $# -eq 0 ] || "$@"
	} >"$out/$name"
}
text() { printf '%s' "$1"; }
repeat() { head -c "$1" /dev/zero | tr '\0' "$2"; }
commit() { u32 "$1"; u32 "$2"; u32 "$3"; }
logmsg() { u32 "$1"; printf '%s' "$2"; }
lognul() { u32 4; printf 'ab\000cd'; }
logrep() { u32 "$1"; repeat "$2" x; }

READY=64 LOG=65 DUMP_DONE=66 LISTENER_STATS=67 STATS_DONE=68
stats() { u32 "$1"; u32 "$2"; u32 "$3"; u32 0; }
statslong() { stats 1 3 0; u32 9; }

seed ready 0 $READY 12 commit 2 1 2
seed ready-version1 0 $READY 12 commit 1 1 2
seed ready-fd 1 $READY 12 commit 1 7 0
seed ready-short 0 $READY 8 commit 1 1 2
seed ready-long 0 $READY 16 commit 1 1 2
seed log-notice 0 $LOG 12 logmsg 3 "accepted"
seed log-error 0 $LOG 9 logmsg 1 "error"
seed log-debug 0 $LOG 9 logmsg 5 "debug"
seed log-level0 0 $LOG 9 logmsg 0 "level"
seed log-level6 0 $LOG 9 logmsg 6 "level"
seed log-empty 0 $LOG 4 u32 3
seed log-control 0 $LOG 12 logmsg 4 "$(printf 'a\tb\033c\177d')"
seed log-nul 0 $LOG 9 lognul
seed log-max 0 $LOG 1027 logrep 3 1023
seed log-toolong 0 $LOG 1028 logrep 3 1024
seed log-huge 0 $LOG 4096 logrep 3 4092
seed dump-done 0 $DUMP_DONE 0
seed dump-done-payload 0 $DUMP_DONE 4 u32 0
seed dump-done-2fds 2 $DUMP_DONE 0
seed dump-done-3fds 3 $DUMP_DONE 0
seed listener-stats 0 $LISTENER_STATS 16 stats 1 7 42
seed listener-stats-short 0 $LISTENER_STATS 12 commit 1 7 42
seed stats-done 0 $STATS_DONE 16 stats 1 3 0
seed stats-done-fd 1 $STATS_DONE 16 stats 1 3 0
seed stats-done-long 0 $STATS_DONE 20 statslong
seed type-stats 0 4 4 u32 1
seed type-69 0 69 0
seed type-listener 0 1 0
seed type-commit 0 2 12 commit 1 1 0
seed type-dump 0 3 0
seed type-zero 0 0 0
seed type-max 0 4294967295 0
seed len-mismatch 0 $LOG 100 logmsg 3 "short"
seed len-huge 0 $READY 4294967295 commit 1 1 1
seed oversized 4 $LOG 8192 logmsg 3 "padded beyond the largest message"
printf '\000\100\000\000' >"$out/short-header"
printf '\000' >"$out/empty-datagram"
printf '\001' >"$out/empty-datagram-fd"

# The control socket's answers (PROTO_VERSION 4).
CONN_BATCH=69 CONNS_DONE=70 KILL_DONE=71
zeros() { head -c "$1" /dev/zero; }
pair() { u32 "$1"; u32 "$2"; }
# addr4: a struct addr holding 127.0.0.1:8080 (136 bytes)
addr4() { printf '\002\000\037\220\177\000\000\001'; zeros 120; u32 16; u32 0; }
# conn STATE: one struct proto_conn (320 bytes), no remote yet
conn() { u32 7; u32 0; u32 1; u32 "$1"; addr4; zeros 136; zeros 32; }
batch() { u32 5; u32 "$1"; shift; for s in "$@"; do conn "$s"; done; }
seed conn-batch 0 $CONN_BATCH 328 batch 1 2
seed conn-batch-2 0 $CONN_BATCH 648 batch 2 1 3
seed conn-batch-count 0 $CONN_BATCH 328 batch 2 2
seed conn-batch-state 0 $CONN_BATCH 328 batch 1 9
seed conn-batch-empty 0 $CONN_BATCH 8 batch 0
seed conns-done 0 $CONNS_DONE 8 pair 5 1
seed kill-done 0 $KILL_DONE 8 pair 5 1
seed kill-done-bad 0 $KILL_DONE 8 pair 5 2
