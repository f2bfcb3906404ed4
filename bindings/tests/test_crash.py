"""kill -9 of a Python process in the middle of a burst of edits loses no edit whose call had
returned: `apply` resolves only once the edit is in the local database."""

import json
import os
import signal
import subprocess
import sys
import unittest
from pathlib import Path

import tessera

from harness import Tmp, run

CHILD = Path(__file__).with_name("burst_child.py")


class Crash(unittest.TestCase):
    def test_kill9_mid_burst_loses_no_returned_edit(self):
        tmp = Tmp()
        try:
            data = str(tmp / "device")

            async def create():
                db = tessera.Tessera.open(data, None, None)
                page = await db.create("Burst")
                db.close()
                return page.url()

            url = run(create())
            for round_ in range(3):
                child = subprocess.Popen(
                    [sys.executable, str(CHILD), data, url, f"r{round_}-"], stdout=subprocess.PIPE, text=True
                )
                returned = []
                # Kill at a different depth each round, while the child is mid-burst.
                for line in child.stdout:
                    returned.append(int(line))
                    if len(returned) >= 40 + 70 * round_:
                        os.kill(child.pid, signal.SIGKILL)
                        break
                child.wait()
                child.stdout.close()
                self.assertEqual(child.returncode, -signal.SIGKILL, "the child ended by itself")

                async def stored():
                    db = tessera.Tessera.open(data, None, None)
                    page = await db.find(url)
                    view = json.loads(await page.to_json())
                    db.close()
                    return [b["text"] for b in view["blocks"]]

                texts = set(run(stored()))
                missing = [i for i in returned if f"r{round_}-{i}" not in texts]
                self.assertEqual(missing, [], f"round {round_}: returned edits lost after kill -9")
        finally:
            tmp.cleanup()


if __name__ == "__main__":
    unittest.main()
