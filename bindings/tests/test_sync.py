"""A Python device (the wheel, through uniffi) and `tessera` CLI devices against the relay in
workerd: concurrent offline edits converge byte for byte, listeners see remote changes and may
call back into the API, refused and expired tokens reach the app typed."""

import asyncio
import json
import threading
import time
import unittest

import tessera
from tessera import BlockKind, PageEdit, Target, TesseraError

from harness import Cli, Relay, Tmp, mint, run, token_provider

TOP = Target.END(parent=None)


class RelayTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = Tmp()
        cls.relay = Relay(cls.tmp / "relay")

    @classmethod
    def tearDownClass(cls):
        cls.relay.kill()
        cls.tmp.cleanup()

    def open(self, name, provider=None):
        provider = provider or token_provider(tessera)
        return tessera.Tessera.open(str(self.tmp / name), self.relay.url, provider), provider


class Convergence(RelayTest):
    def test_python_and_cli_edit_one_page_offline_and_end_byte_identical(self):
        async def main():
            py, _ = self.open("py-converge")
            page = await py.create("Shared")
            todo = await page.add_block(BlockKind.TODO(checked=False), "milk", TOP)
            await page.start_sync()
            await page.wait_in_sync(60_000)
            await page.stop_sync()
            url = page.url()

            cli = Cli(self.tmp / "cli-converge")
            cli.sync(url, self.relay, mint())
            # Both offline: the same block edited at both ends, and a block added on each side.
            await page.insert_text(todo, 0, "oat ")
            await page.apply(PageEdit.SET_KIND(block=todo, kind=BlockKind.TODO(checked=True)))
            await page.add_block(BlockKind.HEADING(level=2), "from python", TOP)
            cli.run("edit", url, todo, "--insert", "4", " and eggs")
            cli.run("add", url, "--kind", "paragraph", "--text", "from the cli")

            await page.start_sync()
            await page.wait_in_sync(60_000)
            cli.sync(url, self.relay, mint())
            await until_contains(page, "from the cli", 60)
            await page.wait_in_sync(60_000)
            mine = await page.to_json()
            theirs = cli.show_json(url)
            self.assertEqual(mine, theirs)
            view = json.loads(mine)
            texts = [b["text"] for b in view["blocks"]]
            self.assertIn("oat milk and eggs", texts)
            self.assertIn("from python", texts)
            self.assertIn("from the cli", texts)
            py.close()

        run(main())


async def until_contains(page, needle, secs):
    """Waits until the page's JSON contains `needle` (a remote change arrived)."""
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        if needle in await page.to_json():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{needle!r} never reached the page")


class Callbacks(RelayTest):
    def test_listener_fires_for_a_remote_change_and_may_call_the_api(self):
        seen = []
        done = threading.Event()

        class Listener(tessera.DocumentListener):
            def on_change(self, change):
                if change == tessera.Change.REMOTE:
                    # Back into the API from inside the callback: a read, a status and an edit.
                    text = asyncio.run(page.to_json())
                    status = page.status()
                    if "remote hello" in text:
                        asyncio.run(page.set_title("seen from the callback"))
                        seen.append((text, status))
                        done.set()

            def on_status(self, status):
                pass

        async def main():
            nonlocal page
            py, _ = self.open("py-callbacks")
            page = await py.create("Callbacks")
            await page.start_sync()
            await page.wait_in_sync(60_000)
            subscription = page.subscribe(Listener())
            cli = Cli(self.tmp / "cli-callbacks")
            cli.sync(page.url(), self.relay, mint())
            cli.run("add", page.url(), "--kind", "paragraph", "--text", "remote hello")
            cli.sync(page.url(), self.relay, mint())
            for _ in range(600):
                if done.is_set():
                    break
                await asyncio.sleep(0.1)
            self.assertTrue(done.is_set(), "no remote change reached the listener")
            subscription.cancel()
            # The edit made inside the callback syncs like any other.
            await page.wait_in_sync(60_000)
            cli.sync(page.url(), self.relay, mint())
            self.assertEqual(json.loads(cli.show_json(page.url()))["title"], "seen from the callback")
            py.close()

        page = None
        run(main())

    def test_a_blocked_listener_does_not_stall_sync(self):
        release = threading.Event()
        entered = threading.Event()

        class Blocking(tessera.DocumentListener):
            def on_change(self, change):
                entered.set()
                release.wait(120)

            def on_status(self, status):
                release.wait(120)

        async def main():
            py, _ = self.open("py-blocked")
            page = await py.create("Blocked")
            subscription = page.subscribe(Blocking())
            await page.add_block(BlockKind.PARAGRAPH(), "while the listener is stuck", TOP)
            self.assertTrue(entered.wait(30), "the listener was never called")
            # Both listener threads are now blocked until the end of the test: if sync waited
            # for them, this would time out.
            await page.start_sync()
            await page.wait_in_sync(60_000)
            cli = Cli(self.tmp / "cli-blocked")
            cli.sync(page.url(), self.relay, mint())
            self.assertIn("while the listener is stuck", cli.show_json(page.url()))
            release.set()
            subscription.cancel()
            py.close()

        try:
            run(main())
        finally:
            release.set()

    def test_status_listener_sees_the_session_go_in_sync(self):
        statuses = []

        class Listener(tessera.DocumentListener):
            def on_change(self, change):
                pass

            def on_status(self, status):
                statuses.append(status)

        async def main():
            py, _ = self.open("py-status")
            page = await py.create("Status")
            subscription = page.subscribe(Listener())
            await page.start_sync()
            await page.wait_in_sync(60_000)
            await asyncio.sleep(0.2)
            subscription.cancel()
            kinds = [type(s.sync).__name__.removeprefix("SyncStatus.") for s in statuses]
            self.assertEqual(kinds[0], "OFFLINE", "subscribing calls at once with the current status")
            self.assertIn("CONNECTING", kinds)
            self.assertTrue(any(s.in_sync for s in statuses), kinds)
            py.close()

        run(main())


class Tokens(RelayTest):
    def test_a_refused_token_raises_the_typed_error_with_its_code(self):
        async def main():
            provider = token_provider(tessera, fixed="not-a-jwt")
            py, _ = self.open("py-refused", provider)
            page = await py.create("Refused")
            await page.start_sync()
            with self.assertRaises(TesseraError.TokenNeeded) as caught:
                await page.wait_in_sync(60_000)
            self.assertEqual(caught.exception.code, tessera.ErrorCode.AUTH_FAILED)
            self.assertIn("auth_failed", caught.exception.reason)
            # The wait ends only once the provider was asked again after the refusal (the
            # status meanwhile is RefreshingToken, not final) and its token was refused too.
            self.assertEqual(provider.calls, [None, tessera.ErrorCode.AUTH_FAILED])
            await asyncio.sleep(1)
            self.assertEqual(len(provider.calls), 2, "asked once per refusal streak")
            status = page.status().sync
            self.assertIsInstance(status, tessera.SyncStatus.TOKEN_NEEDED)
            self.assertEqual(status.code, tessera.ErrorCode.AUTH_FAILED)
            py.close()

        run(main())

    def test_a_provider_that_raises_reaches_the_app_as_a_callback_error(self):
        class Broken(tessera.TokenProvider):
            def token(self, refused):
                raise RuntimeError("the sign-in server is down")

        async def main():
            py, _ = self.open("py-broken", Broken())
            page = await py.create("Broken")
            with self.assertRaises(TesseraError.Callback) as caught:
                await page.start_sync()
            self.assertIn("the sign-in server is down", caught.exception.reason)
            self.assertIsInstance(page.status().sync, tessera.SyncStatus.OFFLINE)
            py.close()

        run(main())

    def test_an_expiring_token_is_asked_again_mid_session(self):
        async def main():
            provider = token_provider(tessera, expiring=4)
            py, _ = self.open("py-expiry", provider)
            page = await py.create("Expiry")
            block = await page.add_block(BlockKind.PARAGRAPH(), "before", TOP)
            await page.start_sync()
            await page.wait_in_sync(60_000)
            self.assertEqual(provider.calls, [None])
            # The relay ends the session when the token expires; the core asks for another,
            # and the session resumes with it.
            await until(lambda: tessera.ErrorCode.TOKEN_EXPIRED in provider.calls, 60)
            await until(lambda: page.status().in_sync, 60)
            await page.set_text(block, "after the refresh")
            await until(lambda: page.status().in_sync, 60)
            cli = Cli(self.tmp / "cli-expiry")
            cli.sync(page.url(), self.relay, mint())
            self.assertIn("after the refresh", cli.show_json(page.url()))
            py.close()

        run(main())


async def until(condition, secs):
    deadline = time.monotonic() + secs
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


class Errors(unittest.TestCase):
    def test_bad_input_is_refused_before_anything_is_written(self):
        async def main():
            tmp = Tmp()
            try:
                py = tessera.Tessera.open(str(tmp / "db"), None, None)
                page = await py.create("Errors")
                with self.assertRaises(TesseraError.InvalidInput):
                    await page.add_block(BlockKind.HEADING(level=9), "x", TOP)
                with self.assertRaises(TesseraError.Edit):
                    await page.insert_text("00000000000000aa", 0, "x")
                with self.assertRaises(TesseraError.InvalidInput):
                    await py.find("automerge:not-a-document")
                with self.assertRaises(TesseraError.NoRelay):
                    await page.start_sync()
                self.assertEqual(json.loads(await page.to_json())["blocks"], [])
                py.close()
                with self.assertRaises(TesseraError.Closed):
                    await page.to_json()
            finally:
                tmp.cleanup()

        run(main())


if __name__ == "__main__":
    unittest.main()
