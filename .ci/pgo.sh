#!/usr/bin/env bash
# CI for size-report's pgo tier (issue 19, profile-guided builds), called from
# .ci/run. On a fresh Debian machine with rustup's stable toolchain it
# installs what it needs (llvm-profdata of rustc's own LLVM, valgrind), then:
#   1. builds echo in the size profile with -Cprofile-generate, runs it on its
#      workload under the mock Runtime API (tiny-lambda bench: cold starts and
#      warm invocations of four fixture events), merges the profile and
#      builds again with -Cprofile-use, as it comes (tier pgo) and with the
#      inliner's cost-benefit analysis off (tier pgo-lean); checks both
#      builds' bytes against budget.toml;
#   2. prints echo's bytes and instruction counts (init, first answer, per
#      warm invocation) without a profile and in both tiers, at opt-level z.
# Only echo, so it stays within about 5 minutes on 2 cores; the full matrix
# (http_echo, opt-levels s and 3) is run by hand:
#   size-report/size-report --pgo-matrix --subjects echo,http_echo --opt-levels z,s,3
# and BOLT (not kept, see size-report/NOTES.md) with size-report/pgo/bolt.py.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# rustc's LLVM major version: the raw profile format changes between majors,
# so llvm-profdata must be of the same one.
llvm_major() { rustc -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p'; }

# The Debian build of llvm-profdata to fall back on, pinned, for rustc's LLVM
# major version; update it with the toolchain (size-report refuses any other
# major version, so a stale pin fails loudly rather than silently).
DEBIAN_LLVM_MAJOR=22
DEBIAN_LLVM_VERSION=1:22.1.8-1~deb12u1

# Installs an llvm-profdata of rustc's LLVM: rustup's llvm-tools component
# first (rustc's own build of it, under the sysroot), else Debian's llvm-NN
# (llvm-profdata-NN on PATH). Prints where it is.
install_llvm_profdata() {
  local major
  major=$(llvm_major)
  if ! rustup component add llvm-tools; then
    echo "rustup component add llvm-tools failed; trying Debian's llvm-$major" >&2
    local pkg="llvm-$major"
    if [ "$major" = "$DEBIAN_LLVM_MAJOR" ]; then
      pkg="llvm-$major=$DEBIAN_LLVM_VERSION"
    else
      echo "no Debian pin for LLVM $major (pinned: $DEBIAN_LLVM_MAJOR); installing llvm-$major unpinned" >&2
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null
  fi
  # size-report finds it and checks its version (exit 3 when none fits).
  size-report/size-report --llvm-profdata
}

step "install: llvm-profdata of rustc's LLVM ($(llvm_major)), valgrind"
install_llvm_profdata
if ! command -v valgrind >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends valgrind >/dev/null
fi

step "size-report pgo tiers: echo built with its profile (pgo, pgo-lean), bytes against budget.toml"
size-report/size-report --tiers pgo,pgo-lean --subjects echo --check --no-history

step "size-report --pgo-matrix: echo without a profile and in both pgo tiers, opt-level z (instructions by callgrind)"
size-report/size-report --pgo-matrix --subjects echo --opt-levels z
