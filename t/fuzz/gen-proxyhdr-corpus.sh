#!/bin/sh
# Writes the seed corpus for fuzz_proxyhdr into corpus/proxyhdr/ (run
# from anywhere).  Each file: one control byte (the versions accepted:
# 1 v1, 2 v2, 3 both), then what a client sends.
set -eu
cd "$(dirname "$0")"
out=corpus/proxyhdr
mkdir -p "$out"

SIG='\r\n\r\n\0\r\nQUIT\n'
# seed NAME CONTROL FORMAT: printf FORMAT after the control byte
seed() {
	{
		printf "\\$(printf %03o "$2")"
		printf "$3"
	} >"$out/$1"
}

seed v1-tcp4 3 'PROXY TCP4 192.0.2.5 198.51.100.1 56324 443\r\nGET / HTTP/1.0\r\n\r\n'
seed v1-tcp6 1 'PROXY TCP6 2001:db8::5 2001:db8::1 56324 443\r\nhello'
seed v1-unknown 3 'PROXY UNKNOWN\r\n'
seed v1-unknown-junk 1 'PROXY UNKNOWN ffff:f...f:ffff 65535 65535\r\n'
seed v1-longest 1 'PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n'
seed v1-partial 3 'PROXY TCP4 10.0'
seed v1-lf-only 3 'PROXY TCP4 10.0.0.1 10.0.0.2 1 2\n'
seed v1-bad-port 3 'PROXY TCP4 10.0.0.1 10.0.0.2 65536 2\r\n'
seed v1-wrong-family 3 'PROXY TCP4 ::1 10.0.0.2 1 2\r\n'
seed v1-on-v2 2 'PROXY TCP4 10.0.0.1 10.0.0.2 1 2\r\n'
seed v2-tcp4 3 "$SIG"'\041\021\000\014\300\000\002\005\306\063\144\001\334\004\001\273data'
seed v2-tcp6 2 "$SIG"'\041\041\000\044\040\001\015\270\000\000\000\000\000\000\000\000\000\000\000\005\040\001\015\270\000\000\000\000\000\000\000\000\000\000\000\001\334\004\001\273'
seed v2-local 2 "$SIG"'\040\000\000\000'
seed v2-unspec 2 "$SIG"'\041\000\000\000'
seed v2-tlv 2 "$SIG"'\041\021\000\027\300\000\002\005\306\063\144\001\334\004\001\273\004\000\010noop-tlv'
seed v2-udp 2 "$SIG"'\041\022\000\014\300\000\002\005\306\063\144\001\334\004\001\273'
seed v2-unix 2 "$SIG"'\041\061\000\000'
seed v2-short-addr 2 "$SIG"'\041\021\000\004\300\000\002\005'
seed v2-too-long 2 "$SIG"'\041\021\377\377'
seed v2-bad-version 2 "$SIG"'\021\021\000\014'
seed v2-partial 3 "$SIG"'\041'
seed v2-on-v1 1 "$SIG"'\041\021\000\014\300\000\002\005\306\063\144\001\334\004\001\273'
seed not-a-header 3 'GET / HTTP/1.0\r\n\r\n'
seed empty 3 ''
