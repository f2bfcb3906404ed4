"""Tessera Pages: a small offline-first desktop app on the Python bindings (tkinter).

It lists the pages of a local database, shows one as blocks, edits text and ticks to-dos, shows
the sync status, keeps working offline and syncs through the relay when online:

    python desktop_app.py --data ~/.tessera-pages --relay http://127.0.0.1:8787 --token "$TOKEN"

Threading: tkinter is touched only on the main thread. Tessera's async calls run on an asyncio
loop in a thread of the app's own; their results and the listener's callbacks (which arrive on
Tessera's threads) reach the window through a queue that the main thread drains.
"""

import argparse
import asyncio
import os
import queue
import threading
import tkinter as tk
from tkinter import ttk

import tessera
from tessera import BlockKind, Target

TOP = Target.END(parent=None)


class Tokens(tessera.TokenProvider):
    """Hands the core the token given on the command line (a real app fetches a fresh one)."""

    def __init__(self, token):
        self.value = token

    def token(self, refused):
        return self.value


class Listener(tessera.DocumentListener):
    """Forwards a document's changes and statuses to the window's queue."""

    def __init__(self, inbox, url):
        self.inbox, self.url = inbox, url

    def on_change(self, change):
        # Local edits are already on screen (the window made them); remote ones are redrawn.
        if change == tessera.Change.REMOTE:
            self.inbox.put(("changed", self.url))

    def on_status(self, status):
        self.inbox.put(("status", (self.url, status)))


def describe(status):
    """The status line a person reads: the core's sentence, plus an unsaved edit."""
    return status.summary + (" (saving)" if status.unsaved else "")


class App:
    def __init__(self, root, data_dir, relay=None, token=None):
        self.root = root
        self.db = tessera.Tessera.open(data_dir, relay, Tokens(token) if token else None)
        self.relay = relay
        self.inbox = queue.Queue()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="tessera-app-loop", daemon=True).start()
        self.pages = []  # DocSummary rows, in the list's order
        self.open = {}  # url -> (Document, Subscription)
        self.current = None
        self.online = False
        self.rows = []  # widgets of the shown blocks
        self.build()
        self.root.after(50, self.drain)
        self.refresh_list()

    # -- plumbing ---------------------------------------------------------------------------
    def call(self, coro, then=None):
        """Runs a Tessera coroutine on the app's loop; `then(result)` runs on the main thread."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)

        def done(f):
            try:
                self.inbox.put(("result", (then, f.result())))
            except tessera.TesseraError as e:
                self.inbox.put(("error", e))

        future.add_done_callback(done)
        return future

    def drain(self):
        try:
            while True:
                kind, value = self.inbox.get_nowait()
                if kind == "result":
                    then, result = value
                    if then:
                        then(result)
                elif kind == "error":
                    self.status.set(f"error: {value}")
                elif kind == "changed" and self.current and value == self.current.url():
                    self.show_page()
                    self.refresh_list()
                elif kind == "status" and self.current and value[0] == self.current.url():
                    self.status.set(describe(value[1]))
        except queue.Empty:
            pass
        self.root.after(50, self.drain)

    # -- layout -----------------------------------------------------------------------------
    def build(self):
        self.root.title("Tessera Pages")
        self.root.geometry("760x480")
        bar = ttk.Frame(self.root, padding=4)
        bar.pack(side=tk.TOP, fill=tk.X)
        ttk.Button(bar, text="New page", command=self.new_page).pack(side=tk.LEFT)
        self.new_block_text = tk.StringVar()
        entry = ttk.Entry(bar, textvariable=self.new_block_text, width=30)
        entry.pack(side=tk.LEFT, padx=4)
        entry.bind("<Return>", lambda _e: self.add_block(BlockKind.PARAGRAPH()))
        ttk.Button(bar, text="+ Text", command=lambda: self.add_block(BlockKind.PARAGRAPH())).pack(side=tk.LEFT)
        ttk.Button(bar, text="+ To-do", command=lambda: self.add_block(BlockKind.TODO(checked=False))).pack(side=tk.LEFT)
        self.online_button = ttk.Button(bar, text="Go online", command=self.toggle_online)
        self.online_button.pack(side=tk.RIGHT)
        if not self.relay:
            self.online_button.state(["disabled"])
        body = ttk.PanedWindow(self.root, orient=tk.HORIZONTAL)
        body.pack(fill=tk.BOTH, expand=True)
        self.list = tk.Listbox(body, width=24, exportselection=False)
        self.list.bind("<<ListboxSelect>>", lambda _e: self.select())
        body.add(self.list, weight=1)
        right = ttk.Frame(body, padding=6)
        body.add(right, weight=3)
        self.title = ttk.Label(right, text="", font=("TkDefaultFont", 16, "bold"))
        self.title.pack(anchor=tk.W)
        self.blocks = ttk.Frame(right)
        self.blocks.pack(fill=tk.BOTH, expand=True, pady=6)
        self.status = tk.StringVar(value="offline")
        ttk.Label(self.root, textvariable=self.status, relief=tk.SUNKEN, padding=2).pack(side=tk.BOTTOM, fill=tk.X)

    # -- actions ----------------------------------------------------------------------------
    def refresh_list(self):
        def show(rows):
            self.pages = rows
            self.list.delete(0, tk.END)
            for row in rows:
                self.list.insert(tk.END, row.title or "(untitled)")
            if self.current:
                urls = [r.url for r in rows]
                if self.current.url() in urls:
                    self.list.selection_set(urls.index(self.current.url()))

        self.call(self.db.list(), show)

    def new_page(self):
        n = len(self.pages) + 1
        self.call(self.db.create(f"Page {n}"), lambda doc: (self.attach(doc), self.refresh_list()))

    def select(self):
        picked = self.list.curselection()
        if picked:
            url = self.pages[picked[0]].url
            if url in self.open:
                self.attach(self.open[url][0])
            else:
                self.call(self.db.find(url), self.attach)

    def attach(self, doc):
        url = doc.url()
        if url not in self.open:
            self.open[url] = (doc, doc.subscribe(Listener(self.inbox, url)))
            if self.online:
                self.call(doc.start_sync())
        self.current = doc
        self.status.set(describe(doc.status()))
        self.show_page()

    def show_page(self):
        if self.current:
            self.call(self.current.view(), self.draw)

    def draw(self, view):
        if not self.current or view.url != self.current.url():
            return
        self.title.configure(text=view.title or "(untitled)")
        for row in self.rows:
            row.destroy()
        self.rows = []
        for block in flatten(view.blocks):
            self.rows.append(self.block_row(block))

    def block_row(self, block):
        row = ttk.Frame(self.blocks)
        row.pack(fill=tk.X, pady=1)
        doc = self.current
        if block.kind == "todo":
            ticked = tk.BooleanVar(value=bool(block.checked))
            box = ttk.Checkbutton(
                row, variable=ticked,
                command=lambda: self.call(doc.set_kind(block.id, BlockKind.TODO(checked=ticked.get()))),
            )
            box.pack(side=tk.LEFT)
            row.checkbox = box
        text = tk.StringVar(value=block.text)
        entry = ttk.Entry(row, textvariable=text)
        entry.pack(side=tk.LEFT, fill=tk.X, expand=True)

        def save(_event=None):
            if text.get() != block.text:
                self.call(doc.set_text(block.id, text.get()))

        entry.bind("<Return>", save)
        entry.bind("<FocusOut>", save)
        row.entry, row.block_id = entry, block.id
        return row

    def add_block(self, kind):
        if self.current:
            text = self.new_block_text.get()
            self.new_block_text.set("")
            self.call(self.current.add_block(kind, text, TOP), lambda _id: self.show_page())

    def toggle_online(self):
        self.online = not self.online
        self.online_button.configure(text="Go offline" if self.online else "Go online")
        for doc, _ in self.open.values():
            self.call(doc.start_sync() if self.online else doc.stop_sync())

    def close(self):
        for _, subscription in self.open.values():
            subscription.cancel()
        self.db.close()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.root.destroy()


def flatten(blocks):
    for b in blocks:
        yield b
        yield from flatten(b.children)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.path.expanduser("~/.tessera-pages"))
    parser.add_argument("--relay", help="relay URL; without it the app stays offline")
    parser.add_argument("--token", default=os.environ.get("TESSERA_TOKEN"))
    args = parser.parse_args()
    root = tk.Tk()
    app = App(root, args.data, args.relay, args.token)
    root.protocol("WM_DELETE_WINDOW", app.close)
    root.mainloop()


if __name__ == "__main__":
    main()
