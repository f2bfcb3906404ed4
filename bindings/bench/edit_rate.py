"""What the FFI costs: the same edits through Python (the uniffi wheel) and through
client-native directly (the Rust example `edit_rate`), in one run, on fresh databases.

    python edit_rate.py --rust target/release/examples/edit_rate [--edits 2000]

Each edit inserts one character into one block and is awaited until it is durable in SQLite,
as an app's edit is; `status()` calls measure a crossing that does no IO at all.
"""

import argparse
import asyncio
import subprocess
import tempfile
import time

import tessera


async def python_side(edits, calls):
    with tempfile.TemporaryDirectory() as data:
        db = tessera.Tessera.open(data, None, None)
        page = await db.create("bench")
        block = await page.add_block(tessera.BlockKind.PARAGRAPH(), "", tessera.Target.END(parent=None))
        start = time.perf_counter()
        for i in range(edits):
            await page.apply(tessera.PageEdit.INSERT_TEXT(block=block, pos=i, text="x"))
        edit_s = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(calls):
            page.status()
        status_s = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(calls // 10):
            await page.to_json()
        json_s = time.perf_counter() - start
        assert len((await page.view()).blocks[0].text) == edits
        db.close()
        return edit_s, status_s, json_s


def rust_side(binary, edits, calls):
    with tempfile.TemporaryDirectory() as data:
        out = subprocess.run([binary, data, str(edits), str(calls)], check=True, capture_output=True, text=True)
        edit_s, status_s, json_s = (float(x) for x in out.stdout.split())
        return edit_s, status_s, json_s


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rust", required=True, help="the edit_rate example binary")
    parser.add_argument("--edits", type=int, default=2000)
    parser.add_argument("--calls", type=int, default=20000)
    args = parser.parse_args()
    # Interleaved, so that a noisy neighbour on the machine hits both sides alike.
    rust = rust_side(args.rust, args.edits, args.calls)
    py = asyncio.run(python_side(args.edits, args.calls))
    rust2 = rust_side(args.rust, args.edits, args.calls)
    py2 = asyncio.run(python_side(args.edits, args.calls))
    rust = [min(a, b) for a, b in zip(rust, rust2)]
    py = [min(a, b) for a, b in zip(py, py2)]
    n = args.edits
    print(f"FFI cost: {n} durable one-character edits, {args.calls} status() and {args.calls // 10} "
          "to_json() calls on a fresh database (best of 2 runs each)")
    print(f"{'':28}{'client-native (Rust)':>22}{'Python via uniffi':>20}{'overhead':>16}")
    rows = [
        ("edits/s (apply, durable)", n, 0),
        ("status() calls/s", args.calls, 1),
        ("to_json() calls/s", args.calls // 10, 2),
    ]
    for name, count, i in rows:
        r, p = count / rust[i], count / py[i]
        extra_us = (py[i] - rust[i]) / count * 1e6
        print(f"{name:28}{r:>22,.0f}{p:>20,.0f}{extra_us:>+13.1f} µs")


if __name__ == "__main__":
    main()
