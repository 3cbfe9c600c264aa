"""A stock pycrdt client for Plenary's refusal tests.

crates/plenary-server/tests/it/refusals.rs drives it exactly as it drives
tests/interop/interop.mjs with --serve: the same commands on stdin and the same
JSON answers on stdout (see the comment block "--serve: the command protocol"
in interop.mjs). It is nothing but pycrdt's own `Provider` on pycrdt-websocket's
`HttpxWebsocket` channel over an httpx-ws WebSocket, the client that
pycrdt-websocket documents. The only addition is a look at each incoming frame
on its way to the provider, to record y-protocols permission-denied messages
(pycrdt's provider ignores them).

Usage:
  python client.py --url ws://HOST:PORT/sync --doc NAME --token JWT [--timeout-ms 20000]

It prints {"event":"synced", ...} after the first sync, then answers commands.
Disconnecting stops the provider and closes the WebSocket; connecting opens a
new WebSocket and a new provider on the same document, which is how a pycrdt
application reconnects.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from httpx_ws import aconnect_ws
from pycrdt import Array, Decoder, Doc, Map, Provider, Text
from pycrdt.websocket.websocket import HttpxWebsocket

MESSAGE_AUTH = 2
PERMISSION_DENIED = 0


class CommandError(Exception):
    pass


class RecordingWebsocket(HttpxWebsocket):
    """pycrdt-websocket's channel, noting permission-denied messages as they pass."""

    def __init__(self, websocket, path: str, denials: list[str]):
        super().__init__(websocket, path)
        self._denials = denials

    async def recv(self) -> bytes:
        message = await super().recv()
        if message and message[0] == MESSAGE_AUTH:
            decoder = Decoder(message[1:])
            if decoder.read_var_uint() == PERMISSION_DENIED:
                self._denials.append(decoder.read_var_string())
        return message


def canon_attrs(attrs: dict | None) -> dict:
    return {k: attrs[k] for k in sorted(attrs or {}) if attrs[k] is not None}


def canon_delta(text: Text) -> list:
    out: list = []
    for insert, attrs in text.diff():
        attrs = canon_attrs(attrs)
        if isinstance(insert, str):
            if not insert:
                continue
            if out and isinstance(out[-1][0], str) and out[-1][1] == attrs:
                out[-1][0] += insert
            else:
                out.append([insert, attrs])
        else:
            value = insert.to_py() if hasattr(insert, "to_py") else insert
            out.append([{"embed": value}, attrs])
    return out


def scalars(m: Any) -> dict:
    if not isinstance(m, Map):
        return {}
    return {k: v for k, v in m.items() if isinstance(v, (str, bool))}


def utf8_offset(s: str, index: int) -> int:
    """pycrdt counts UTF-8 bytes."""
    return len(s[:index].encode("utf-8"))


class Client:
    def __init__(self, url: str, name: str, token: str):
        http = "http://" + url.split("://", 1)[1] if "://" in url else url
        self.url = f"{http.rstrip('/')}/{name}?token={token}"
        self.name = name
        self.doc: Doc = Doc()
        self.denials: list[str] = []
        self.is_comments = "/comments/" in name
        self.connected = False
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task | None = None

    # --- connection -------------------------------------------------------

    async def _run(self, synced: asyncio.Event, stop: asyncio.Event) -> None:
        try:
            async with aconnect_ws(self.url) as ws:
                channel = RecordingWebsocket(ws, self.name, self.denials)
                async with Provider(self.doc, channel) as provider:
                    await provider.synced.wait()
                    self.connected = True
                    synced.set()
                    await stop.wait()
        except Exception as e:  # noqa: BLE001 - reported, the driver decides
            print(f"client.py: connection ended: {e!r}", file=sys.stderr)
        finally:
            self.connected = False
            synced.set()

    async def connect(self, timeout: float) -> None:
        synced = asyncio.Event()
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(self._run(synced, self._stop))
        try:
            await asyncio.wait_for(synced.wait(), timeout)
        except asyncio.TimeoutError:
            raise CommandError("did not sync") from None
        if not self.connected:
            raise CommandError("the connection failed before it synced")

    async def disconnect(self) -> None:
        if self._stop is not None:
            self._stop.set()
        if self._task is not None:
            await asyncio.wait_for(self._task, 5)
        self._task = None
        self.connected = False

    # --- the document -----------------------------------------------------

    def paragraphs(self) -> Array:
        return self.doc.get("paragraphs", type=Array)

    def view(self) -> dict:
        if self.is_comments:
            comments = self.doc.get("comments", type=Map)
            policy = self.doc.get("policy", type=Map)
            return {
                "comments": {k: scalars(v) for k, v in comments.items()},
                "policy": scalars(policy),
            }
        meta = self.doc.get("meta", type=Map)
        paragraphs = self.paragraphs()
        proposals = self.doc.get("proposals", type=Array)
        footnotes = self.doc.get("footnotes", type=Map)
        paras = []
        for p in paragraphs:
            text = p.get("text") if isinstance(p, Map) else None
            paras.append(
                {
                    "fields": scalars(p),
                    "delta": canon_delta(text) if isinstance(text, Text) else None,
                }
            )
        props = []
        for p in proposals:
            sup = p.get("supporters") if isinstance(p, Map) else None
            props.append(
                {
                    "fields": scalars(p),
                    "supporters": [s for s in sup if isinstance(s, str)]
                    if isinstance(sup, Array)
                    else [],
                }
            )
        return {
            "meta": scalars(meta),
            "paragraphs": paras,
            "proposals": props,
            "footnotes": {
                k: canon_delta(v) if isinstance(v, Text) else None for k, v in footnotes.items()
            },
        }

    def served(self) -> dict:
        return {
            "clientId": self.doc.client_id,
            "view": self.view(),
            "sv": self.doc.get_state().hex(),
            "pending": None,
            "denied": list(self.denials),
            "connected": self.connected,
        }

    def has_text(self, t: str) -> bool:
        if self.is_comments:
            return False
        return any(
            isinstance(p, Map) and isinstance(p.get("text"), Text) and t in str(p.get("text"))
            for p in self.paragraphs()
        )

    def by_id(self, array: Array, id_: str, what: str) -> tuple[int, Map]:
        for i, m in enumerate(array):
            if isinstance(m, Map) and m.get("id") == id_:
                return i, m
        raise CommandError(f"no {what} {id_!r}")

    def paragraph_text(self, id_: str) -> Text:
        _, m = self.by_id(self.paragraphs(), id_, "paragraph")
        text = m.get("text")
        if not isinstance(text, Text):
            raise CommandError(f"paragraph {id_} has no text")
        return text

    @staticmethod
    def find(s: str, words: str) -> int:
        i = s.find(words)
        if i < 0:
            raise CommandError(f"{words!r} is not in {s!r}")
        return i

    def position(self, text: Text, op: dict) -> int:
        s = str(text)
        if "after" in op:
            return utf8_offset(s, self.find(s, op["after"]) + len(op["after"]))
        if "before" in op:
            return utf8_offset(s, self.find(s, op["before"]))
        at = op.get("at", "end")
        if at == "start":
            return 0
        if at == "end":
            return len(s.encode("utf-8"))
        raise CommandError(f"bad position in {op!r}")

    def apply(self, op: dict) -> None:
        kind = op.get("op")
        if kind == "insert":
            text = self.paragraph_text(op["paragraph"])
            text.insert(self.position(text, op), op["text"], op.get("attrs"))
        elif kind == "embed":
            text = self.paragraph_text(op["paragraph"])
            text.insert_embed(self.position(text, op), op["embed"], op.get("attrs"))
        elif kind in ("delete", "format"):
            text = self.paragraph_text(op["paragraph"])
            s = str(text)
            i = self.find(s, op["find"])
            start = utf8_offset(s, i)
            stop = utf8_offset(s, i + len(op["find"]))
            if kind == "delete":
                del text[start:stop]
            else:
                text.format(start, stop, op["attrs"])
        elif kind == "setField":
            _, m = self.by_id(self.paragraphs(), op["paragraph"], "paragraph")
            m[op["key"]] = op["value"]
        elif kind == "setMeta":
            self.doc.get("meta", type=Map)[op["key"]] = op["value"]
        elif kind == "insertParagraph":
            fields = dict(op.get("fields") or {})
            fields["text"] = Text()
            self.paragraphs().insert(op["index"], Map(fields))
            self.paragraphs()[op["index"]]["text"].insert(0, op.get("text", ""))
        elif kind == "deleteParagraph":
            i, _ = self.by_id(self.paragraphs(), op["paragraph"], "paragraph")
            del self.paragraphs()[i]
        elif kind == "moveParagraph":
            # Delete, then insert a copy (same fields, same formatted text), as
            # a Yjs 13 peer would; pycrdt's own Array.move is not in Yjs 13.
            arr = self.paragraphs()
            i, old = self.by_id(arr, op["paragraph"], "paragraph")
            fields = {k: v for k, v in old.items() if isinstance(v, (str, bool, int, float))}
            chunks = old["text"].diff()
            keys = {k for _, a in chunks for k in (a or {})}
            del arr[i]
            fields["text"] = Text()
            arr.insert(op["index"], Map(fields))
            text = arr[op["index"]]["text"]
            pos = 0
            for chunk, attrs in chunks:
                full = {k: (attrs or {}).get(k) for k in keys}
                if isinstance(chunk, str):
                    text.insert(pos, chunk, full)
                    pos += len(chunk.encode("utf-8"))
                else:
                    text.insert_embed(pos, chunk, full)
                    pos += 1
        elif kind == "setProposal":
            _, m = self.by_id(self.doc.get("proposals", type=Array), op["proposal"], "proposal")
            m[op["key"]] = op["value"]
        elif kind == "addComment":
            fields = dict(op.get("fields") or {})
            fields["replies"] = Array()
            self.doc.get("comments", type=Map)[op["id"]] = Map(fields)
        elif kind == "setComment":
            m = self.doc.get("comments", type=Map).get(op["comment"])
            if not isinstance(m, Map):
                raise CommandError(f"no comment {op['comment']!r}")
            m[op["key"]] = op["value"]
        else:
            raise CommandError(f"unknown op {kind!r}")


def answer(client: Client, event: str, **extra: Any) -> None:
    sys.stdout.write(json.dumps({"event": event, **extra, **client.served()}) + "\n")
    sys.stdout.flush()


async def within(seconds: float, pred) -> bool:
    until = time.monotonic() + seconds
    while True:
        if pred():
            return True
        if time.monotonic() > until:
            return False
        await asyncio.sleep(0.005)


async def handle(client: Client, c: dict) -> bool:
    """Carries out one command; returns False on quit."""
    cmd = c.get("cmd")
    if cmd == "state":
        answer(client, "state")
    elif cmd == "edit":
        with client.doc.transaction():
            for op in c.get("ops") or []:
                client.apply(op)
        # Let the provider's sender task put the update on the wire, as it
        # would between two keystrokes.
        await asyncio.sleep(0)
        answer(client, "edited")
    elif cmd == "wait":
        seconds = c.get("timeoutMs", 5000) / 1000
        if "denied" in c:
            ok = await within(seconds, lambda: len(client.denials) >= c["denied"])
        elif "text" in c:
            ok = await within(seconds, lambda: client.has_text(c["text"]))
        elif "absent" in c:
            ok = await within(seconds, lambda: not client.has_text(c["absent"]))
        else:
            ok = True
        answer(client, "waited", ok=ok)
    elif cmd == "disconnect":
        await client.disconnect()
        answer(client, "disconnected")
    elif cmd == "connect":
        await client.connect(c.get("timeoutMs", 5000) / 1000)
        answer(client, "connected")
    elif cmd == "quit":
        return False
    else:
        raise CommandError(f"unknown command {cmd!r}")
    return True


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--doc", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--timeout-ms", type=int, default=20000)
    args = parser.parse_args()

    client = Client(args.url, args.doc, args.token)
    try:
        await client.connect(args.timeout_ms / 1000)
    except CommandError as e:
        print(f"client.py: {e}", file=sys.stderr)
        return 1
    answer(client, "synced")

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            break
        line = line.strip()
        if not line:
            continue
        try:
            c = json.loads(line)
        except json.JSONDecodeError:
            answer(client, "error", message=f"not JSON: {line!r}")
            continue
        try:
            if not await handle(client, c):
                break
        except CommandError as e:
            answer(client, "error", message=str(e))
        except Exception as e:  # noqa: BLE001 - the driver shows it
            answer(client, "error", message=repr(e))
    await client.disconnect()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
