"""The README's snippets work when pasted: the Python one runs against the relay in workerd, and
the Kotlin one is the main of the program test_kotlin.py compiles and runs."""

import json
import os
import re
import subprocess
import sys
import unittest
from pathlib import Path

from harness import Cli, Relay, Tmp, mint

README = Path(__file__).resolve().parents[1] / "README.md"
KOTLIN = Path(__file__).resolve().parents[1] / "kotlin" / "SyncPage.kt"


def blocks(lang):
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(), re.S)


class Readme(unittest.TestCase):
    def test_the_python_snippet_runs_and_syncs(self):
        (snippet,) = blocks("python")
        tmp = Tmp()
        relay = Relay(tmp / "relay")
        try:
            env = dict(os.environ, TESSERA_RELAY=relay.url, TESSERA_TOKEN=mint())
            out = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True,
                                 env=env, cwd=tmp.path, timeout=120)
            self.assertEqual(out.returncode, 0, out.stderr)
            # The listener prints from its own thread, so its lines may interleave with the
            # snippet's: find the page's JSON by its shape.
            self.assertIn("refused: ", out.stdout)
            self.assertIn("Change.LOCAL", out.stdout)
            self.assertIn("in sync", out.stdout)
            printed = re.search(r'\{"url":"automerge:[^"]+".*\}', out.stdout).group(0)
            url = json.loads(printed)["url"]
            self.assertIn("milk and eggs", printed)
            cli = Cli(tmp / "cli")
            cli.sync(url, relay, mint())
            self.assertEqual(printed, cli.show_json(url))
        finally:
            relay.kill()
            tmp.cleanup()

    def test_the_kotlin_snippet_is_the_program_that_is_compiled_and_run(self):
        (snippet,) = blocks("kotlin")
        self.assertIn(snippet.strip(), KOTLIN.read_text())


if __name__ == "__main__":
    unittest.main()
