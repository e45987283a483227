#!/usr/bin/env python3
"""bolt.py: BOLT (llvm-bolt) on a subject's size-profile build, with and
without the pgo tier's profile; prints bytes and instruction counts. An
experiment behind size-report/NOTES.md ("Profile-guided builds"), run by
hand, not part of CI.

    size-report/pgo/bolt.py [SUBJECT [OPT-LEVEL]]     (default: echo z)

Needs BOLT of rustc's LLVM major version (Debian: apt-get install bolt-NN,
which gives llvm-bolt-NN and merge-fdata under /usr/lib/llvm-NN/bin) and
valgrind. Builds under target/pgo-bolt-SUBJECT with symbols kept
(CARGO_PROFILE_SIZE_STRIP=false: BOLT needs them) and relocations
(-Clink-arg=-Wl,--emit-relocs), both for the profile's instrumented build and
for the build that uses it: the strip setting changes every symbol's hash,
so a profile taken from a stripped build matches nothing in an unstripped
one. BOLT's own profile comes from its instrumentation (-instrument), run on
the same workload as the pgo tier through size-report/pgo/gate.py. Every
figure is of `strip --strip-all` copies.
"""

import importlib.machinery
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def load_size_report():
    path = HERE.parent / "size-report"
    loader = importlib.machinery.SourceFileLoader("size_report", str(path))
    spec = importlib.util.spec_from_loader("size_report", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


sr = load_size_report()


# BOLT's usual optimizations for a profile from its instrumentation.
BOLT_FLAGS = ["-reorder-blocks=ext-tsp", "-reorder-functions=cdsort", "-split-functions",
              "-split-all-cold", "-icf=all", "-use-gnu-stack", "-dyno-stats"]
BOLT_CONFIGS = {
    # As BOLT comes: the rewritten hot text starts on a 2 MiB boundary (for
    # huge pages), so a 0.6 MB binary becomes a 4.3 MB one.
    "default": [],
    # Smallest we found: regular pages, no alignment padding, and the new
    # code written over the old .text (it fits only without the padding).
    "compact": ["-use-old-text", "-no-huge-pages", "-align-functions=1", "-align-blocks=0"],
}


def bolt_tools() -> tuple[str, str]:
    major = sr.rustc_llvm_major()
    bolt = shutil.which(f"llvm-bolt-{major}") or f"/usr/lib/llvm-{major}/bin/llvm-bolt"
    merge = f"/usr/lib/llvm-{major}/bin/merge-fdata"
    if not (Path(bolt).exists() and Path(merge).exists()):
        raise sr.Failure(f"no BOLT of LLVM {major}: apt-get install -y bolt-{major}")
    return bolt, merge


def check(cmd: list[str]) -> str:
    sr.log("  " + " ".join(cmd))
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise sr.Failure(f"{cmd[0]} failed:\n{(p.stdout + p.stderr).strip()[-3000:]}")
    return p.stdout + p.stderr


def stripped_copy(binary: Path, out: Path) -> Path:
    shutil.copyfile(binary, out)
    out.chmod(0o755)
    check(["strip", "--strip-all", str(out)])
    return out


def main() -> int:
    name = sys.argv[1] if len(sys.argv) > 1 else "echo"
    opt = sys.argv[2] if len(sys.argv) > 2 else "z"
    subject, tier = sr.SUBJECTS[name], sr.TIERS["pgo"]
    bolt, merge = bolt_tools()
    base = sr.ROOT / "target" / f"pgo-bolt-{name}"
    base.mkdir(parents=True, exist_ok=True)
    env = {"CARGO_PROFILE_SIZE_STRIP": "false"}
    if opt != "z":
        env["CARGO_PROFILE_SIZE_OPT_LEVEL"] = opt
    relocs = "-Clink-arg=-Wl,--emit-relocs"

    # The pgo tier's steps, with symbols kept.
    raw = base / "raw"
    gen, _, _ = sr.cargo_build(subject, tier, {**env, "RUSTFLAGS": f"-Cprofile-generate={raw}"},
                               target_dir=base / "gen")
    shutil.rmtree(raw, ignore_errors=True)
    raw.mkdir()
    sr.run_workload(subject, gen, base)
    merged = base / "merged.profdata"
    check([str(sr.llvm_profdata()), "merge", "-o", str(merged), *map(str, sorted(raw.glob("*.profraw")))])
    named = base / f"{name}-{opt}-{sr.sha256_of(merged)[:12]}.profdata"
    shutil.copyfile(merged, named)
    builds = {
        "plain": sr.cargo_build(subject, tier, {**env, "RUSTFLAGS": relocs}, target_dir=base / "plain")[0],
        "pgo": sr.cargo_build(subject, tier, {**env, "RUSTFLAGS": f"-Cprofile-use={named} {relocs}"},
                              target_dir=base / "use")[0],
    }

    rows = []
    for variant, binary in builds.items():
        work = base / f"bolt-{variant}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        inst = work / f"{name}.inst"
        check([bolt, str(binary), "-instrument", "-o", str(inst),
               f"--instrumentation-file={work / 'prof.fdata'}", "--instrumentation-file-append-pid"])
        sr.run_workload(subject, inst, work)
        fdata = sorted(work.glob("prof.fdata*"))
        if not fdata:
            raise sr.Failure(f"the BOLT-instrumented {variant} build wrote no profile in {work}")
        merged_fdata = work / "merged.fdata"
        m = subprocess.run([merge, *map(str, fdata)], capture_output=True, text=True)
        if m.returncode != 0:
            raise sr.Failure(f"merge-fdata failed:\n{m.stderr.strip()}")
        merged_fdata.write_text(m.stdout)
        event = sr.PGO_WORKLOADS[name][0]
        s = stripped_copy(binary, work / f"{variant}.stripped")
        rows.append((variant, s.stat().st_size, *sr.instructions(s, event), sr.sha256_of(s)[:12]))
        for config, extra in BOLT_CONFIGS.items():
            out = work / f"{name}.bolt-{config}"
            log = check([bolt, str(binary), "-o", str(out), f"-data={merged_fdata}", *BOLT_FLAGS, *extra])
            (work / f"bolt-{config}.log").write_text(log)
            label = f"{variant}+bolt-{config}"
            s = stripped_copy(out, work / f"{label.replace('+', '-')}.stripped")
            rows.append((label, s.stat().st_size, *sr.instructions(s, event), sr.sha256_of(s)[:12]))

    print()
    print(f"== BOLT: {name}, opt-level {opt}, symbols kept then stripped (strip --strip-all)")
    print(f"   {'variant':<20} {'bytes':>10} {'init':>10} {'1st answer':>11} {'per warm':>10}  sha256")
    for label, size, init, first, warm, sha in rows:
        print(f"   {label:<20} {size:>10,} {init:>10,} {first:>11,} {warm:>10,.1f}  {sha}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except sr.Failure as e:
        sr.log(f"bolt.py: {e}")
        sys.exit(3)
