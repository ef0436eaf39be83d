#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""`pmuprof collapse` on the perf script variants stackcollapse-perf.pl gets wrong.

The inputs (tests/data/collapse-variants) are `perf script` runs on this machine (Go
binaries from golang-go, with and without -g, with -F comm,pid,ip,sym) and, where no
such run is possible here, files written from perf's documented output: perf-map-agent
inline chains, a versioned vmlinux, perf inject --jit's jitted-PID-N.so images. Each
case states the exact folded output; docs/flamegraph.md says what Perl prints instead.

Usage: test_collapse_variants.py [CASE...]
"""
import os
import subprocess
import sys

PMUPROF = os.environ.get("PMUPROF_BIN", "build/pmuprof")
DATA = os.environ.get("PMUPROF_VARIANTS_DATA",
                      os.path.join(os.path.dirname(__file__), "..", "data", "collapse-variants"))

GO_ROOT = "rich;runtime.goexit.abi0"
JAVA = ("java;start_thread;[libjvm.so];call_stub_[j];Interpreter_[j];LWorker:::run_[j];"
        "java/util/HashMap:::putVal_[j];java/util/HashMap:::resize_[i];"
        "java/util/HashMap:::newNode_[i]")
KERNEL = ("swapper;[vmlinux-5.4.14-cloudflare-2020.1.11]_[k];secondary_startup_64_[k];"
          "do_idle_[k];cpuidle_enter_state_[k];do_IRQ_[k];irq_exit_[k];"
          "__softirqentry_text_start_[k];net_rx_action_[k];mlx5e_poll_rx_cq_[k];"
          "mlx5e_xdp_handle_[k];bpf_prog_2b956549c660136a_uni_l4lb")
NODE = "node;__libc_start_call_main;v8::internal::Execution::Call;Builtin:JSEntryTrampoline_[j]"
FIB = "LazyCompile:*fib /srv/app/fib.js:3_[j]"

# name: (input, options, expected folded lines)
CASES = {
    # Go, file cut after the last frame: the last sample counts (Perl drops it).
    "go-unterminated": ("go-unterminated.txt", [], [
        f"{GO_ROOT};main.main.func1;main.Sum[go.shape.int_0] 1001001",
        f"{GO_ROOT};main.main.func1;main.Sum[go.shape.int_0];asm_sysvec_apic_timer_interrupt;"
        "irqentry_exit_to_user_mode 1001001",
        f"{GO_ROOT};main.main.func1;main.main.func1.1 1001001",
        f"{GO_ROOT};runtime.main;main.main;runtime.mapassign;runtime.growWork;"
        "runtime.evacuate 1001001",
    ]),
    "go-unterminated-perl-compat": ("go-unterminated.txt", ["--perl-compat"], [
        f"{GO_ROOT};main.main.func1;main.Sum[go.shape.int_0] 1001001",
        f"{GO_ROOT};main.main.func1;main.main.func1.1 1001001",
        f"{GO_ROOT};runtime.main;main.main;runtime.mapassign;runtime.growWork;"
        "runtime.evacuate 1001001",
    ]),
    # Go generics: a func type inside the brackets is part of the name (Perl cuts at '(').
    "go-generic": ("go-generic.txt", [], [
        "gen;runtime.goexit.abi0;runtime.main;main.main;"
        "main.Apply[go.shape.func(int) int_0] 2002002",
        "gen;runtime.goexit.abi0;runtime.main;main.main;"
        "main.Apply[go.shape.func(int) int_0];main.main.func1 1001001",
    ]),
    # Java inline chains (perf-map-agent unfoldall) in a file cut after the last frame:
    # all three samples, so the stack weighs 3 periods (Perl: 2).
    "java-inline": ("java-inline-unterminated.txt", ["--jit"], [f"{JAVA} 30303030"]),
    "java-inline-perl-compat": ("java-inline-unterminated.txt", ["--jit", "--perl-compat"],
                                [f"{JAVA} 20202020"]),
    # A file holding one sample (Perl: no output at all).
    "single-event": ("single-event.txt", [], [
        "boa_cli;[unknown];boa_cli::main;gc::gc::collect_garbage;"
        "gc::gc::GcBox<T>::trace_inner;"
        "<std::collections::hash::map::HashMap<K,V> as gc::trace::Trace>::trace 10101010",
    ]),
    # perf script without callchains: one sample per line, comm right-aligned.
    "no-callchain": ("no-callchain.txt", ["--kernel"], [
        "rich;__slab_free_[k] 1001001",
        "rich;exc_page_fault_[k] 1001001",
        "rich;irqentry_exit_to_user_mode_[k] 2002002",
        "rich;main.Sum[go.shape.int_0] 2002002",
    ]),
    # perf script -F comm,pid,ip,sym without callchains: no event, no module: weight 1.
    "no-callchain-fields": ("no-callchain-fields.txt", ["--pid"], [
        "rich-?;__slab_free 1",
        "rich-?;exc_page_fault 1",
        "rich-?;irqentry_exit_to_user_mode 2",
        "rich-?;main.Sum[go.shape.int_0] 2",
    ]),
    # perf script -F comm,pid,ip,sym with callchains: headers without an event name,
    # frames without a module.
    "fields-no-event": ("fields-no-event.txt", [], [
        "hot;runtime.goexit.abi0;runtime.main;main.main;main.(*T).Spin 2",
    ]),
    # --kernel: a versioned vmlinux image is kernel code.
    "vmlinux-versioned": ("vmlinux-versioned.txt", ["--kernel"], [f"{KERNEL} 1"]),
    # --jit: perf inject --jit's jitted-PID-N.so images are JIT code.
    "jitted-so": ("jitted-so.txt", ["--jit"], [
        f"{NODE};{FIB} 250000",
        f"{NODE};{FIB};{FIB} 250000",
    ]),
}


def main():
    names = sys.argv[1:] or list(CASES)
    failures = 0
    for name in names:
        path, opts, want = CASES[name]
        p = subprocess.run([PMUPROF, "collapse"] + opts + [os.path.join(DATA, path)],
                           capture_output=True, text=True, timeout=60)
        got = p.stdout.splitlines()
        # --perl-compat names the sample it drops; nothing else has anything to say.
        want_err = "dropped the last sample" if "--perl-compat" in opts else ""
        if p.returncode != 0 or got != want or (want_err not in p.stderr if want_err
                                                else p.stderr):
            failures += 1
            print(f"FAIL {name} (exit {p.returncode}) stderr: {p.stderr.strip()[:300]}")
            for line in want:
                if line not in got:
                    print(f"  - {line}")
            for line in got:
                if line not in want:
                    print(f"  + {line}")
        else:
            print(f"ok   {name}")
    print(f"{len(names) - failures}/{len(names)} variants")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
