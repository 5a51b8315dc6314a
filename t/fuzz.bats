#!/usr/bin/env bats
# The libFuzzer harnesses of t/fuzz/ build, and survive every seed and
# every crash input kept as a regression case (make fuzz-regress).  Only
# the kept inputs run here; `make fuzz` is what fuzzes.  clang is in
# DEPS_PKGS, so make check always has it.

TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)

@test "fuzz harnesses survive their seeds and every kept crash input" {
	if ! command -v "${FUZZ_CC:-clang}" >/dev/null 2>&1; then
		skip "clang is not installed (make deps installs it)"
	fi
	run env -u MAKEFLAGS -u MAKELEVEL make -C "$TOP" fuzz-regress
	if [ "$status" -ne 0 ]; then
		printf '%s\n' "$output" | grep -v '^Running:\|^Executed' | tail -60
		false
	fi
	[[ $output == *"fuzz_conf: seeds and kept crash inputs"* ]]
	[[ $output == *"fuzz_msg: seeds and kept crash inputs"* ]]
	[[ $output == *"fuzz_worker_msg: seeds and kept crash inputs"* ]]
	[[ $output == *"fuzz_proxyhdr: seeds and kept crash inputs"* ]]
}
