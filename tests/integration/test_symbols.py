#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Names of frames on Debian's own programs and on fixtures (docs/symbolize.md): public
names, one frame per unnamed module, debuginfod, inline frames and source lines.

Usage: test_symbols.py CASE   (meson runs one process per case)
"""
import collections
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_record as tr  # noqa: E402  (the helpers of the record tests)
from test_record import check, Skip  # noqa: E402

MALLOC = os.environ.get("PMUPROF_FIXTURE_MALLOC", "build/tests/fixture-malloc")
GZIP = "/usr/bin/gzip"


def record(tmp, cmd, extra=(), name="out.folded", **kw):
    out = os.path.join(tmp, name)
    _, err = tr.record_ok(["record", "-F", "499", "-o", out] + list(extra) + ["--"] + cmd,
                          **kw)
    return tr.parse_folded(out), err


def user_leaves(stacks, comm):
    """The innermost user frame of each stack of comm (kernel frames end in _[k])."""
    leaves = collections.Counter()
    for s, n in stacks.items():
        frames = s.split(";")
        if frames[0] != comm:
            continue
        user = [f for f in frames[1:] if not f.endswith("_[k]")]
        if user:
            leaves[user[-1]] += n
    return leaves


def case_malloc_public_names(tmp):
    """glibc's allocator frames are named malloc/free (or _int_malloc/_int_free inside
    them), never by a __GI_ alias."""
    stacks, err = record(tmp, [MALLOC, "3"], extra=["-U"])
    leaves = user_leaves(stacks, os.path.basename(MALLOC)[:15])
    total = sum(leaves.values())
    check(total >= 300, f"only {total} samples of the fixture:\n{err}")
    print("top leaves:", leaves.most_common(8))
    names = [f for s in stacks for f in s.split(";")]
    check(not [f for f in names if f.startswith("__GI_")],
          "__GI_ names: " + repr(sorted({f for f in names if f.startswith("__GI_")})))
    alloc = sum(n for f, n in leaves.items()
                if f in ("malloc", "free", "_int_malloc", "_int_free", "malloc_consolidate",
                         "unlink_chunk", "_int_free_merge_chunk", "_int_free_create_chunk",
                         "_int_free_maybe_consolidate", "tcache_get", "tcache_put"))
    check(leaves["malloc"] + leaves["_int_malloc"] > 0, "no malloc or _int_malloc leaf")
    check(leaves["free"] + leaves["_int_free"] > 0, "no free or _int_free leaf")
    check(alloc >= 0.5 * total, f"allocator leaves {alloc}/{total}")


def gzip_record(tmp, extra):
    data = os.path.join(tmp, "random.bin")
    if not os.path.exists(data):
        with open(data, "wb") as f:
            f.write(os.urandom(24 << 20))
    stacks, err = record(tmp, [GZIP, "-f", "-k", data], extra=["-U"] + extra)
    return {s: n for s, n in stacks.items() if s.startswith("gzip;")}, err


def case_gzip_module_frames(tmp):
    """gzip (stripped, no debug file): its unnamed frames are one [gzip] frame; with
    --module-offsets they are [gzip+0x...] again."""
    if not os.path.exists(GZIP):
        raise Skip(GZIP + " is not installed")
    mine, err = gzip_record(tmp, [])
    total = sum(mine.values())
    check(total >= 100, f"only {total} gzip samples:\n{err}")
    frames = collections.Counter(f for s, n in mine.items() for f in s.split(";"))
    offsets = [f for f in frames if re.fullmatch(r"\[gzip\+0x[0-9a-f]+\]", f)]
    check(not offsets, "[gzip+0x..] frames by default: " + repr(offsets[:5]))
    in_gzip = sum(n for s, n in mine.items() if "[gzip]" in s.split(";"))
    print(f"default: {len(mine)} stacks, {in_gzip}/{total} samples in [gzip]")
    check(in_gzip >= 0.5 * total, f"[gzip] in only {in_gzip}/{total} samples")
    mine, err = gzip_record(tmp, ["--module-offsets"])
    frames = collections.Counter(f for s, n in mine.items() for f in s.split(";"))
    offsets = [f for f in frames if re.fullmatch(r"\[gzip\+0x[0-9a-f]+\]", f)]
    print(f"--module-offsets: {len(mine)} stacks, {len(offsets)} distinct [gzip+0x..] frames")
    check(len(offsets) >= 2, "--module-offsets gives no [gzip+0x..] frames")
    check("[gzip]" not in frames, "[gzip] with --module-offsets")


if __name__ == "__main__":
    sys.exit(tr.run_case(globals()))
