# Sourced by tests/fuzz/fuzz_*.sh: runs one libFuzzer target under make check.
# First every kept regression input and every seed once, then fuzzing for a bounded time
# (TVSYNC_FUZZ_SECONDS, default 60). Any crash, leak, sanitizer report or hang fails, and so
# does an input over its time budget where the target bounds one (fuzz_validate).

# fuzz_run NAME [DICT [SLOW]]: runs tests/fuzz/fuzz_NAME from the build tree (DICT: a file in
# tests/fuzz, default graphql.dict). SLOW: a folder in tests/fuzz of large inputs of the
# shapes that once cost quadratic time, each run once (no length cap) by a target that
# bounds its time per input.
fuzz_run() {
	name=$1
	dict=${2:-graphql.dict}
	slow=${3:-}
	src="$TVSYNC_SRCDIR/tests/fuzz"
	bin="$TVSYNC_BUILDDIR/tests/fuzz/fuzz_$name"
	seconds=${TVSYNC_FUZZ_SECONDS:-60}
	if [ ! -x "$bin" ]; then
		echo "fuzz_$name: $bin was not built (configure --enable-fuzz)" >&2
		return 1
	fi
	export TVSYNC_FUZZ_SCHEMA="$TVSYNC_SRCDIR/tests/graphql/schema.graphql"
	export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
	export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

	# Every input that ever crashed a target is run again, by both targets.
	regressions=$(find "$src/regressions" -type f ! -name '.*' | sort)
	if [ -n "$regressions" ]; then
		echo "fuzz_$name: $(echo "$regressions" | wc -l) regression input(s)"
		# shellcheck disable=SC2086
		if ! "$bin" -timeout=10 $regressions; then
			echo "fuzz_$name: a regression input fails again" >&2
			return 1
		fi
	fi

	if [ -n "$slow" ]; then
		slow_inputs=$(find "$src/$slow" -type f ! -name '.*' | sort)
		echo "fuzz_$name: $(echo "$slow_inputs" | wc -l) large input(s) within their time budget"
		# shellcheck disable=SC2086
		if ! "$bin" -timeout=120 $slow_inputs; then
			echo "fuzz_$name: a large input fails or takes more than its time budget" >&2
			return 1
		fi
	fi

	work="$TVSYNC_BUILDDIR/tests/fuzz/work_$name"
	artifacts="$TVSYNC_BUILDDIR/tests/fuzz/artifacts_$name"
	rm -rf "$work"
	mkdir -p "$work" "$artifacts"
	echo "fuzz_$name: fuzzing for ${seconds}s"
	# libFuzzer reports progress on every new input; that goes to a file, shown on failure.
	out="$TVSYNC_BUILDDIR/tests/fuzz/fuzz_$name.out"
	if ! "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2560 -max_len=8192 \
		-dict="$src/$dict" -artifact_prefix="$artifacts/" -print_final_stats=1 \
		"$work" "$src/corpus_$name" "$TVSYNC_SRCDIR/tests/graphql/corpus" >"$out" 2>&1; then
		grep -v '^#[0-9]' "$out" | tail -n 80 >&2
		echo "fuzz_$name: FAILED; the input is in $artifacts/." >&2
		echo "  Keep it as tests/fuzz/regressions/<what-broke> once the engine is fixed." >&2
		return 1
	fi
	grep '^stat::' "$out" || true
	rm -rf "$work" "$out"
	echo "fuzz_$name: no crash in ${seconds}s"
}
