"""The process test_crash.py kills: adds blocks to one page as fast as it can and prints each
block's number once `apply` has returned (the edit is then durable, per the API's contract)."""

import asyncio
import sys

import tessera


async def main(data_dir, url, prefix):
    db = tessera.Tessera.open(data_dir, None, None)
    page = await db.find(url)
    top = tessera.Target.END(parent=None)
    i = 0
    while True:
        await page.apply(tessera.PageEdit.ADD_BLOCK(kind=tessera.BlockKind.PARAGRAPH(), text=f"{prefix}{i}", target=top))
        print(i, flush=True)
        i += 1


asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
