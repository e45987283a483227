#!/usr/bin/env bash
# Build each TLS candidate in the size profile, one after the other, and
# measure it: stripped bytes; instructions under callgrind over the whole
# process (3 runs, median); where they go (inclusive counts of a few
# functions, from a symbol-keeping build of the same code); files opened
# (strace); CPU time natively (perf stat task-clock, mean of 20, if perf is
# there). Prints a Markdown table; keeps binaries, callgrind outputs and
# annotations under $CARGO_TARGET_DIR/tls-candidates/ (git-ignored).
#
#   bash size-report/tls-candidates/measure.sh [ROW...]   # default: every row
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$here/target}
out=$CARGO_TARGET_DIR/tls-candidates
mkdir -p "$out/bins" "$out/callgrind"
bundle=/etc/ssl/certs/ca-certificates.crt

# row | cargo feature | build environment | run environment
# Every run starts without SSL_CERT_FILE/SSL_CERT_DIR, as on Lambda, so
# rustls-native-certs probes (openssl-probe: a bundle file and /etc/ssl/certs).
specs=(
    "none|none||"
    "ring-webpki|ring-webpki||"
    "ring-webpki-tls13|ring-webpki-tls13||"
    "ring-native|ring-native||"
    "ring-native, SSL_CERT_FILE only|ring-native||SSL_CERT_FILE=$bundle"
    "awslc-webpki|awslc-webpki||"
    "awslc-webpki, AWS_LC_SYS_NO_JITTER_ENTROPY=1|awslc-webpki|AWS_LC_SYS_NO_JITTER_ENTROPY=1|"
)

# Inclusive Ir of the first function whose name contains $2, in annotation $1.
inclusive() {
    local n
    n=$(grep -F -- "$2" "$1" | head -1 | awk '{gsub(",", "", $1); print $1}')
    echo "${n:--}"
}

rows=()
floor=
for spec in "${specs[@]}"; do
    IFS='|' read -r label feature build_env run_env <<<"$spec"
    if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qxF "$label"; then continue; fi
    tag=$(echo "$label" | tr -c 'A-Za-z0-9\n-' '_')
    for profile in size size-syms; do
        env $build_env nice -n 19 cargo build --locked --quiet --manifest-path "$here/Cargo.toml" \
            --profile "$profile" --features "$feature"
        suffix=; [ "$profile" = size ] || suffix=.syms
        cp "$CARGO_TARGET_DIR/$profile/tls-candidates" "$out/bins/$tag$suffix"
    done
    bin=$out/bins/$tag
    run() { env -u SSL_CERT_FILE -u SSL_CERT_DIR $run_env "$@"; }
    run "$bin" # exits 1, saying why, if the request never connected
    bytes=$(stat -c %s "$bin")

    counts=()
    for i in 1 2 3; do
        f=$out/callgrind/$tag.$i.out
        run valgrind --tool=callgrind --callgrind-out-file="$f" "$bin" 2>/dev/null
        counts+=("$(sed -n 's/^summary: //p' "$f")")
    done
    ir=$(printf '%s\n' "${counts[@]}" | sort -n | sed -n 2p)
    [ "$label" = none ] && floor=$ir
    over=-; [ -n "$floor" ] && over=$((ir - floor))

    f=$out/callgrind/$tag.syms.out
    run valgrind --tool=callgrind --callgrind-out-file="$f" "$bin.syms" 2>/dev/null
    a=$out/callgrind/$tag.inclusive.txt
    callgrind_annotate --inclusive=yes --threshold=100 "$f" >"$a"
    callgrind_annotate --inclusive=yes --tree=calling --threshold=100 "$f" >"$out/callgrind/$tag.tree.txt"
    roots=$(inclusive "$a" 'rustls_native_certs::CertPaths::load [')
    config=$(inclusive "$a" 'ureq::tls::rustls::build_config [')
    kx=$(inclusive "$a" 'SupportedKxGroup>::start [')
    seed=$(inclusive "$a" 'tree_jitter_initialize_once [')
    buffers=$(inclusive "$a" 'LazyBuffers::ensure_allocation [')

    opened=$(run strace -f -e trace=openat -o /dev/stdout "$bin" | grep -c 'openat(.*= [0-9]')
    ms=-
    if command -v perf >/dev/null; then
        ms=$(run perf stat -x, -e task-clock -r 20 "$bin" 2>&1 >/dev/null | awk -F, '/task-clock/ {printf "%.1f", $1}')
    fi
    rows+=("| $label | $bytes | $ir | $over | $roots | $config | $kx | $seed | $buffers | $opened | $ms |")
done

echo "| candidate | stripped bytes | Ir, whole process | Ir over none | roots load | build_config | key share | aws-lc seed | ureq buffers | files opened | CPU ms |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
printf '%s\n' "${rows[@]}"
