# SPDX-License-Identifier: GPL-2.0
"""BPF run-time statistics (run_time_ns, run_cnt) for the benches that read them."""
import ctypes
import os

NR_BPF = 321  # x86_64
BPF_ENABLE_STATS = 32
BPF_STATS_RUN_TIME = 0


def enable():
    """Turn the kernel's BPF run-time statistics on for as long as the returned fd is open
    (BPF_ENABLE_STATS): they go off again when this process ends, however it ends, unlike
    a write to kernel.bpf_stats_enabled, which a killed bench would leave on (and which
    makes every program run read the clock twice)."""
    libc = ctypes.CDLL(None, use_errno=True)
    attr = ctypes.create_string_buffer(BPF_STATS_RUN_TIME.to_bytes(4, "little"), 16)
    fd = libc.syscall(NR_BPF, BPF_ENABLE_STATS, attr, 16)
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"BPF_ENABLE_STATS: {os.strerror(err)}")
    return fd
