"""Drives the tkinter desktop app (bindings/examples/desktop_app.py) under Xvfb: a new page, a
to-do added, ticked and edited, online through the relay in workerd (a CLI device sees the page
and its edit comes back into the window), offline edits still work; then a screenshot.

    xvfb-run -a python check_app.py [--screenshot PATH]
"""

import argparse
import asyncio
import json
import subprocess
import sys
import time
import tkinter as tk
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))

import desktop_app  # noqa: E402
from harness import Cli, Relay, Tmp, mint  # noqa: E402


def pump(root, until, what, secs=60):
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        root.update()
        if until():
            return
        time.sleep(0.02)
    raise AssertionError(f"the app never showed: {what} (status line: {app_status(root)!r})")


def app_status(root):
    return getattr(root, "tessera_app").status.get() if hasattr(root, "tessera_app") else None


def page_json(app):
    return json.loads(asyncio.run_coroutine_threadsafe(app.current.to_json(), app.loop).result(30))


def texts(app):
    return [row.entry.get() for row in app.rows]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--screenshot")
    args = parser.parse_args()
    tmp = Tmp()
    relay = Relay(tmp / "relay")
    try:
        root = tk.Tk()
        app = desktop_app.App(root, str(tmp / "app"), relay.url, mint())
        root.tessera_app = app
        root.protocol("WM_DELETE_WINDOW", app.close)

        app.new_page()
        pump(root, lambda: app.current is not None and app.list.size() == 1, "a new page in the list")

        app.new_block_text.set("milk")
        app.add_block(desktop_app.BlockKind.TODO(checked=False))
        pump(root, lambda: texts(app) == ["milk"], "the new to-do")

        app.rows[0].checkbox.invoke()
        pump(root, lambda: page_json(app)["blocks"][0]["props"].get("checked") is True, "the to-do ticked")

        entry = app.rows[0].entry
        entry.focus_force()
        root.update()
        entry.delete(0, tk.END)
        entry.insert(0, "oat milk")
        entry.event_generate("<Return>")
        pump(root, lambda: page_json(app)["blocks"][0]["text"] == "oat milk", "the edited text")

        app.online_button.invoke()
        pump(root, lambda: app.status.get() == "in sync", "in sync with the relay")

        url = app.current.url()
        cli = Cli(tmp / "cli")
        cli.sync(url, relay, mint())
        shown = json.loads(cli.show_json(url))
        assert shown["blocks"][0]["text"] == "oat milk", shown
        assert shown["blocks"][0]["props"]["checked"] is True, shown

        cli.run("add", url, "--kind", "todo", "--text", "bread (from the CLI)")
        cli.sync(url, relay, mint())
        pump(root, lambda: "bread (from the CLI)" in texts(app), "the CLI's block, synced in")

        app.online_button.invoke()
        pump(root, lambda: app.status.get() == "offline", "offline")
        app.new_block_text.set("written offline")
        app.add_block(desktop_app.BlockKind.PARAGRAPH())
        pump(root, lambda: "written offline" in texts(app), "an edit made offline")

        # The list selects pages too: pick the page again from the list.
        app.list.selection_clear(0, tk.END)
        app.list.selection_set(0)
        app.list.event_generate("<<ListboxSelect>>")
        pump(root, lambda: texts(app) == ["oat milk", "bread (from the CLI)", "written offline"], "the page reselected")

        if args.screenshot:
            root.geometry("760x420+0+0")
            pump(root, lambda: True, "a redraw")
            time.sleep(0.3)
            root.update()
            subprocess.run(["import", "-window", "root", "-crop", "760x420+0+0", args.screenshot], check=True)
            print("screenshot:", args.screenshot)
        app.close()
        print("desktop app: checked (new page, to-do added/ticked/edited, synced with the CLI, offline edit)")
    finally:
        relay.kill()
        tmp.cleanup()


if __name__ == "__main__":
    main()
