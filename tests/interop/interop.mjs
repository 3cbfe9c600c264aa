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
// With --serve it is driven instead: after "synced" it reads one JSON command
// per line on stdin and answers each with one JSON line (see `commands` below;
// refusals.rs drives it, and tests/interop-py/client.py speaks the same
// protocol). Every answer carries the client's canonical `view` of the
// document and its encoded state vector (`sv`, hex), so the Rust side can
// compare them with a client that syncs from the server.
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
//     [--serve]            answer commands on stdin (every other flag but --url,
//                          --doc, --token and --timeout-ms is ignored)
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
      'timeout-ms': { type: 'string', default: '20000' },
      serve: { type: 'boolean', default: false }
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

// ---- --serve: the command protocol -----------------------------------------
//
// One JSON object per line on stdin, one JSON answer per line on stdout:
//   {"cmd":"state"}                          -> {"event":"state", ...}
//   {"cmd":"edit","ops":[op...]}             -> {"event":"edited", ...}  (one transaction)
//   {"cmd":"wait","denied":N | "text":T | "absent":T, "timeoutMs":M}
//                                            -> {"event":"waited","ok":bool, ...}
//   {"cmd":"disconnect"}                     -> {"event":"disconnected", ...}  (provider.disconnect())
//   {"cmd":"connect"}                        -> {"event":"connected", ...}  (provider.connect(), synced again)
//   {"cmd":"quit"}                           -> exits 0 (so does closing stdin)
// A command that cannot be carried out answers {"event":"error","message":…}.
// Every answer also holds {clientId, view, sv, pending, denied, connected}.
//
// Ops address paragraphs, proposals and comments by id and spots in a text by
// the words around them, so that the driver needs no offsets (Yjs counts
// UTF-16 code units, pycrdt UTF-8 bytes):
//   {"op":"insert","paragraph":ID,"text":S, "at":"start"|"end" | "after":W | "before":W, "attrs":{…}?}
//   {"op":"embed","paragraph":ID,"embed":{…}, <position as for insert>}
//   {"op":"delete","paragraph":ID,"find":W}          the first occurrence of W
//   {"op":"format","paragraph":ID,"find":W,"attrs":{…}}
//   {"op":"setField","paragraph":ID,"key":K,"value":V}
//   {"op":"setMeta","key":K,"value":V}
//   {"op":"insertParagraph","index":I,"fields":{…},"text":S}
//   {"op":"deleteParagraph","paragraph":ID}
//   {"op":"moveParagraph","paragraph":ID,"index":I}  delete, then insert a copy (Yjs 13 has no move)
//   {"op":"setProposal","proposal":ID,"key":K,"value":V}
//   {"op":"addComment","id":ID,"fields":{…}}        a new comment map (with an empty `replies`)
//   {"op":"setComment","comment":ID,"key":K,"value":V}

/** Keys sorted, nulls dropped: formatting attributes compared across languages. */
const canonAttrs = (attrs) => {
  const out = {}
  for (const k of Object.keys(attrs ?? {}).sort()) {
    if (attrs[k] !== null && attrs[k] !== undefined) out[k] = attrs[k]
  }
  return out
}

/** A Y.Text as [[insert, attrs]], adjacent runs with equal attributes merged; an embed is {embed: value}. */
const canonDelta = (text) => {
  const out = []
  for (const { insert, attributes } of text.toDelta()) {
    const attrs = canonAttrs(attributes)
    const last = out[out.length - 1]
    if (typeof insert === 'string') {
      if (insert.length === 0) continue
      if (last && typeof last[0] === 'string' && JSON.stringify(last[1]) === JSON.stringify(attrs)) last[0] += insert
      else out.push([insert, attrs])
    } else {
      out.push([{ embed: insert instanceof Y.AbstractType ? insert.toJSON() : insert }, attrs])
    }
  }
  return out
}

/** The string and boolean entries of a Y.Map (numbers differ in encoding between languages). */
const scalars = (map) => {
  const out = {}
  if (!(map instanceof Y.Map)) return out
  for (const [k, v] of map.entries()) {
    if (typeof v === 'string' || typeof v === 'boolean') out[k] = v
  }
  return out
}

const isComments = args.doc.includes('/comments/')

/** The canonical view of the document, computed identically by refusals.rs and client.py. */
const view = () => {
  if (isComments) {
    const comments = {}
    for (const [id, c] of doc.getMap('comments').entries()) comments[id] = scalars(c)
    return { comments, policy: scalars(doc.getMap('policy')) }
  }
  const paragraphs = doc.getArray('paragraphs').toArray().map((p) => {
    const text = p instanceof Y.Map ? p.get('text') : null
    return { fields: scalars(p), delta: text instanceof Y.Text ? canonDelta(text) : null }
  })
  const proposals = doc.getArray('proposals').toArray().map((p) => {
    const supporters = p instanceof Y.Map ? p.get('supporters') : null
    return { fields: scalars(p), supporters: supporters instanceof Y.Array ? supporters.toArray().filter((s) => typeof s === 'string') : [] }
  })
  const footnotes = {}
  for (const [id, t] of doc.getMap('footnotes').entries()) footnotes[id] = t instanceof Y.Text ? canonDelta(t) : null
  return { meta: scalars(doc.getMap('meta')), paragraphs, proposals, footnotes }
}

const hex = (bytes) => Buffer.from(bytes).toString('hex')

const served = () => ({
  clientId: doc.clientID,
  view: view(),
  sv: hex(Y.encodeStateVector(doc)),
  pending: doc.store.pendingStructs !== null || doc.store.pendingDs !== null,
  denied: [...denials],
  connected: provider.wsconnected && provider.synced
})

const answer = (event, extra = {}) =>
  process.stdout.write(JSON.stringify({ event, ...extra, ...served() }) + '\n')

class CommandError extends Error {}

const paragraphText = (id) => {
  const p = paragraphMap(id)
  if (!p) throw new CommandError(`no paragraph ${JSON.stringify(id)}`)
  const text = p.get('text')
  if (!(text instanceof Y.Text)) throw new CommandError(`paragraph ${id} has no text`)
  return text
}

const find = (text, words) => {
  const i = text.toString().indexOf(words)
  if (i < 0) throw new CommandError(`${JSON.stringify(words)} is not in ${JSON.stringify(text.toString())}`)
  return i
}

/** Where an insert goes, in Yjs units (UTF-16). */
const position = (text, op) => {
  if (op.after !== undefined) return find(text, op.after) + op.after.length
  if (op.before !== undefined) return find(text, op.before)
  if (op.at === 'start') return 0
  if (op.at === 'end' || op.at === undefined) return text.length
  throw new CommandError(`bad position in ${JSON.stringify(op)}`)
}

const byId = (array, id, what) => {
  const m = array.toArray().find((x) => x instanceof Y.Map && x.get('id') === id)
  if (!m) throw new CommandError(`no ${what} ${JSON.stringify(id)}`)
  return m
}

const newParagraph = (fields, fill) => {
  const m = new Y.Map()
  for (const [k, v] of Object.entries(fields)) m.set(k, v)
  const text = new Y.Text()
  m.set('text', text)
  return [m, text, fill]
}

const applyOp = (op) => {
  switch (op.op) {
    case 'insert': {
      const text = paragraphText(op.paragraph)
      text.insert(position(text, op), op.text, op.attrs)
      break
    }
    case 'embed': {
      const text = paragraphText(op.paragraph)
      text.insertEmbed(position(text, op), op.embed, op.attrs)
      break
    }
    case 'delete': {
      const text = paragraphText(op.paragraph)
      text.delete(find(text, op.find), op.find.length)
      break
    }
    case 'format': {
      const text = paragraphText(op.paragraph)
      text.format(find(text, op.find), op.find.length, op.attrs)
      break
    }
    case 'setField':
      byId(doc.getArray('paragraphs'), op.paragraph, 'paragraph').set(op.key, op.value)
      break
    case 'setMeta':
      doc.getMap('meta').set(op.key, op.value)
      break
    case 'insertParagraph': {
      const [m, text] = newParagraph(op.fields ?? {})
      doc.getArray('paragraphs').insert(op.index, [m])
      text.insert(0, op.text ?? '')
      break
    }
    case 'deleteParagraph': {
      const arr = doc.getArray('paragraphs')
      const i = arr.toArray().findIndex((x) => x instanceof Y.Map && x.get('id') === op.paragraph)
      if (i < 0) throw new CommandError(`no paragraph ${op.paragraph}`)
      arr.delete(i, 1)
      break
    }
    case 'moveParagraph': {
      // What an editor on Yjs 13 does to move an array element: delete it and
      // insert a copy (same fields, same formatted text) elsewhere.
      const arr = doc.getArray('paragraphs')
      const i = arr.toArray().findIndex((x) => x instanceof Y.Map && x.get('id') === op.paragraph)
      if (i < 0) throw new CommandError(`no paragraph ${op.paragraph}`)
      const old = arr.get(i)
      const fields = {}
      for (const [k, v] of old.entries()) if (!(v instanceof Y.AbstractType)) fields[k] = v
      const delta = old.get('text').toDelta()
      arr.delete(i, 1)
      const [m, text] = newParagraph(fields)
      arr.insert(op.index, [m])
      text.applyDelta(delta)
      break
    }
    case 'setProposal':
      byId(doc.getArray('proposals'), op.proposal, 'proposal').set(op.key, op.value)
      break
    case 'addComment': {
      const m = new Y.Map()
      doc.getMap('comments').set(op.id, m)
      for (const [k, v] of Object.entries(op.fields ?? {})) m.set(k, v)
      m.set('replies', new Y.Array())
      break
    }
    case 'setComment': {
      const m = doc.getMap('comments').get(op.comment)
      if (!(m instanceof Y.Map)) throw new CommandError(`no comment ${op.comment}`)
      m.set(op.key, op.value)
      break
    }
    default:
      throw new CommandError(`unknown op ${JSON.stringify(op.op)}`)
  }
}

/** Resolves to whether `pred()` held before `ms` ran out. */
const within = (ms, pred) =>
  new Promise((resolve) => {
    const until = Date.now() + ms
    const tick = () => {
      if (pred()) return resolve(true)
      if (Date.now() > until) return resolve(false)
      setTimeout(tick, 5)
    }
    tick()
  })

const hasText = (t) =>
  doc.getArray('paragraphs').toArray().some((p) => p instanceof Y.Map && p.get('text')?.toString().includes(t))

const commands = {
  state: async () => answer('state'),
  edit: async (c) => {
    doc.transact(() => { for (const op of c.ops ?? []) applyOp(op) })
    answer('edited')
  },
  wait: async (c) => {
    const ms = c.timeoutMs ?? 5000
    let pred = () => true
    if (c.denied !== undefined) pred = () => denials.length >= c.denied
    else if (c.text !== undefined) pred = () => hasText(c.text)
    else if (c.absent !== undefined) pred = () => !hasText(c.absent)
    answer('waited', { ok: await within(ms, pred) })
  },
  disconnect: async () => {
    provider.disconnect()
    await within(5000, () => provider.ws === null)
    answer('disconnected')
  },
  connect: async (c) => {
    provider.connect()
    const ok = await within(c.timeoutMs ?? 5000, () => provider.wsconnected && provider.synced)
    if (!ok) throw new CommandError('did not sync again after connect()')
    answer('connected')
  },
  quit: async () => {
    provider.destroy()
    setTimeout(() => process.exit(0), 100)
  }
}

async function serve () {
  answer('synced')
  const lines = createInterface({ input: process.stdin })
  for await (const line of lines) {
    if (line.trim() === '') continue
    let c
    try {
      c = JSON.parse(line)
    } catch (e) {
      answer('error', { message: `not JSON: ${line}` })
      continue
    }
    const run = commands[c.cmd]
    try {
      if (!run) throw new CommandError(`unknown command ${JSON.stringify(c.cmd)}`)
      await run(c)
      if (c.cmd === 'quit') return new Promise(() => {})
    } catch (e) {
      answer('error', { message: e instanceof CommandError ? e.message : String(e?.stack ?? e) })
    }
  }
  provider.destroy()
  setTimeout(() => process.exit(0), 100)
  return new Promise(() => {})
}

await waitFor('the first sync', () => provider.synced)
if (args.serve) {
  // `serve()` never returns: it exits on "quit" or when stdin closes.
  await serve()
}
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
