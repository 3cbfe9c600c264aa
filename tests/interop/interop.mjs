// A stock y-websocket client for Plenary's interop test
// (crates/plenary-server/tests/it/interop.rs drives it).
//
// It is deliberately nothing but `yjs` + the unmodified `WebsocketProvider`,
// so that whatever it does, any browser editor built on them does too. It
// joins one document, edits paragraph texts of the SPEC §2 schema, publishes
// its presence, waits until it has seen what the other side wrote, and
// prints what it ended with as JSON lines on stdout:
//
//   {"event":"synced", ...state}   after the first sync with the server
//   {"event":"denied", ...state}   after a permission-denied (--expect-denied)
//   {"event":"done", ...state}     after every --expect-* condition held
//
// where state = {clientId, paragraphs: [{id, text, runs: [{text, italic, footnote}]}],
// awareness: [{clientId, state}] (peers only), denied: [reason]}.
// Exits 0 after "done"; on timeout or an unexpected denial or close it
// writes why to stderr and exits 1 (usage errors: 2).
//
// Usage:
//   node interop.mjs --url ws://HOST:PORT/sync --doc NAME --token JWT \
//     [--edit insert:<paragraphId>:<index|end>:<text>]... \
//     [--edit delete:<paragraphId>:<index>:<length>]... \
//     [--name N --delegation D --color C --paragraph P]   (presence)
//     [--wait-go]          print "synced", then edit only after a line "go" on stdin;
//                          after "done", stay until stdin closes
//     [--expect-denied]    the edits must be refused with permission-denied
//     [--expect-text T]... wait until some paragraph's text contains T
//     [--expect-peer N]... wait until a peer's presence has user.name N
//     [--timeout-ms 20000]
// --url, --doc and --token fall back to PLENARY_SYNC_URL, PLENARY_DOC and
// PLENARY_TOKEN.

import { parseArgs } from 'node:util'
import { createInterface } from 'node:readline'
import * as Y from 'yjs'
import { WebsocketProvider, messageAuth } from 'y-websocket'
import * as authProtocol from 'y-protocols/auth'
import WebSocket from 'ws'

const usage = (message) => {
  process.stderr.write(`interop.mjs: ${message}\n`)
  process.exit(2)
}

let args
try {
  args = parseArgs({
    options: {
      url: { type: 'string', default: process.env.PLENARY_SYNC_URL },
      doc: { type: 'string', default: process.env.PLENARY_DOC },
      token: { type: 'string', default: process.env.PLENARY_TOKEN },
      edit: { type: 'string', multiple: true, default: [] },
      name: { type: 'string' },
      delegation: { type: 'string' },
      color: { type: 'string', default: '#1f77b4' },
      paragraph: { type: 'string' },
      'wait-go': { type: 'boolean', default: false },
      'expect-denied': { type: 'boolean', default: false },
      'expect-text': { type: 'string', multiple: true, default: [] },
      'expect-peer': { type: 'string', multiple: true, default: [] },
      'timeout-ms': { type: 'string', default: '20000' }
    }
  }).values
} catch (e) {
  usage(e.message)
}
if (!args.url || !args.doc || !args.token) usage('--url, --doc and --token are required')
const timeoutMs = Number(args['timeout-ms'])
if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) usage('--timeout-ms must be a positive number')

/** Parses `insert:<id>:<index|end>:<text>` / `delete:<id>:<index>:<length>`. */
const parseEdit = (spec) => {
  const parts = spec.split(':')
  if (parts.length < 4) usage(`bad --edit ${JSON.stringify(spec)}`)
  const [op, paragraph, at] = parts
  const rest = parts.slice(3).join(':')
  if (op === 'insert') return { op, paragraph, at, text: rest }
  if (op === 'delete') return { op, paragraph, at: Number(at), length: Number(rest) }
  usage(`bad --edit operation ${JSON.stringify(op)}`)
}
const edits = args.edit.map(parseEdit)

const doc = new Y.Doc()
const provider = new WebsocketProvider(args.url, args.doc, doc, {
  params: { token: args.token },
  WebSocketPolyfill: WebSocket,
  disableBc: true
})

// y-websocket answers the y-protocols auth message with a console.warn and
// nothing else. Its per-provider `messageHandlers` table is the documented
// extension point, so record denials there with y-protocols' own reader.
const denials = []
provider.messageHandlers[messageAuth] = (_encoder, decoder, _provider) => {
  authProtocol.readAuthMessage(decoder, doc, (_doc, reason) => denials.push(reason))
}

let closedBy = null
provider.on('closed', (event) => { closedBy = event })
provider.on('connection-close', (event) => {
  if (event) process.stderr.write(`interop.mjs: connection closed ${event.code} ${event.reason}\n`)
})

const paragraphMap = (id) =>
  doc.getArray('paragraphs').toArray().find((p) => p instanceof Y.Map && p.get('id') === id)

/** Each paragraph's text, plus its runs of formatting (SPEC §2: italic, footnote marks). */
const paragraphs = () =>
  doc.getArray('paragraphs').toArray().map((p) => {
    const text = p instanceof Y.Map ? p.get('text') : null
    if (!(text instanceof Y.Text)) return { id: p?.get?.('id') ?? null, text: null, runs: [] }
    const runs = []
    for (const { insert, attributes } of text.toDelta()) {
      if (typeof insert !== 'string') continue
      const italic = attributes?.italic === true
      const footnote = typeof attributes?.footnote === 'string' ? attributes.footnote : null
      const last = runs[runs.length - 1]
      if (last && last.italic === italic && last.footnote === footnote) last.text += insert
      else runs.push({ text: insert, italic, footnote })
    }
    return { id: p.get('id'), text: text.toString(), runs }
  })

const peers = () =>
  [...provider.awareness.getStates()]
    .filter(([id]) => id !== doc.clientID)
    .map(([clientId, state]) => ({ clientId, state }))

const snapshot = () => ({ clientId: doc.clientID, paragraphs: paragraphs(), awareness: peers(), denied: [...denials] })

const emit = (event) => process.stdout.write(JSON.stringify({ event, ...snapshot() }) + '\n')

const fail = (message) => {
  process.stderr.write(`interop.mjs: ${message}\nstate: ${JSON.stringify(snapshot())}\n`)
  process.exit(1)
}

const deadline = Date.now() + timeoutMs

/** Resolves once `pred()` holds; fails the run at the deadline. */
const waitFor = (what, pred) =>
  new Promise((resolve) => {
    const tick = () => {
      if (closedBy) fail(`server closed the connection for good (${closedBy.code} ${closedBy.reason}) while waiting for ${what}`)
      if (!args['expect-denied'] && denials.length > 0) fail(`server denied our edit (${denials.join('; ')}) while waiting for ${what}`)
      if (pred()) return resolve()
      if (Date.now() > deadline) fail(`timed out after ${timeoutMs} ms waiting for ${what}`)
      setTimeout(tick, 10)
    }
    tick()
  })

const waitForGo = () =>
  new Promise((resolve) => {
    const lines = createInterface({ input: process.stdin })
    lines.on('line', (line) => {
      if (line.trim() === 'go') {
        lines.close()
        resolve()
      }
    })
    lines.on('close', resolve)
  })

const applyEdits = () => {
  doc.transact(() => {
    for (const e of edits) {
      const p = paragraphMap(e.paragraph)
      if (!p) fail(`no paragraph with id ${JSON.stringify(e.paragraph)}`)
      const text = p.get('text')
      if (e.op === 'insert') {
        const index = e.at === 'end' ? text.length : Number(e.at)
        text.insert(index, e.text)
      } else {
        text.delete(e.at, e.length)
      }
    }
  })
}

await waitFor('the first sync', () => provider.synced)
emit('synced')
if (args['wait-go']) await waitForGo()
applyEdits()
if (args.name || args.delegation || args.paragraph) {
  provider.awareness.setLocalState({
    user: { name: args.name ?? null, delegation: args.delegation ?? null, color: args.color },
    paragraph: args.paragraph ?? null
  })
}
if (args['expect-denied']) {
  await waitFor('permission-denied', () => denials.length > 0)
  emit('denied')
}
for (const t of args['expect-text']) {
  await waitFor(`a paragraph containing ${JSON.stringify(t)}`, () =>
    paragraphs().some((p) => p.text?.includes(t)))
}
for (const name of args['expect-peer']) {
  await waitFor(`the presence of ${JSON.stringify(name)}`, () =>
    peers().some(({ state }) => state?.user?.name === name))
}
emit('done')
// With --wait-go the driver also says when to leave (it closes our stdin),
// so it can look at our presence while we are still here.
if (args['wait-go']) {
  await new Promise((resolve) => {
    if (process.stdin.readableEnded) return resolve()
    process.stdin.on('end', resolve)
    process.stdin.on('close', resolve)
    process.stdin.resume()
  })
}
// Leave politely: destroy() withdraws our presence and closes the socket, as
// closing a tab does; give the close frame a moment to go out.
provider.destroy()
setTimeout(() => process.exit(0), 100)
