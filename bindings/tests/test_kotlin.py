"""The Kotlin program (bindings/kotlin/SyncPage.kt, compiled by kotlinc, run on the JVM with JNA)
syncs a page with a `tessera` CLI device through the relay and prints the same JSON."""

import os
import subprocess
import unittest

from harness import Cli, Relay, Tmp, mint


class Kotlin(unittest.TestCase):
    def test_kotlin_program_syncs_a_page_with_the_cli(self):
        java = os.environ.get("KOTLIN_RUN")
        self.assertTrue(java, "KOTLIN_RUN (the java command line) is set by mk/bindings.mk")
        tmp = Tmp()
        relay = Relay(tmp / "relay")
        try:
            cli = Cli(tmp / "cli")
            url = cli.run("new", "--title", "From the CLI")
            cli.run("add", url, "--kind", "todo", "--text", "written by the CLI")
            cli.sync(url, relay, mint())
            out = subprocess.run(
                java.split() + [str(tmp / "jvm"), relay.url, url, mint(), "written by Kotlin"],
                capture_output=True, text=True, timeout=180,
            )
            self.assertEqual(out.returncode, 0, out.stderr)
            printed = out.stdout.strip()
            self.assertIn("written by Kotlin", printed)
            self.assertIn("written by the CLI", printed)
            cli.sync(url, relay, mint())
            self.assertEqual(printed, cli.show_json(url))
        finally:
            relay.kill()
            tmp.cleanup()


if __name__ == "__main__":
    unittest.main()
