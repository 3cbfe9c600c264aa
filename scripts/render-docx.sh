#!/usr/bin/env bash
# Renders the Word export through LibreOffice and checks the UN layout from
# what LibreOffice made of it (issue 13, item 3):
#
#   * the title is one paragraph, centred (LibreOffice's re-saved document:
#     fo:text-align="center"; the PDF: the title's lines are centred on the
#     page) and bold (every run of it, as LibreOffice resolves the styles);
#   * each footnote is numbered once: LibreOffice holds exactly one real
#     footnote per footnote of the draft, cited 1, 2, 3 … in order, whose
#     text is the footnote's text with no typed number before it, and in the
#     PDF text each note's first words follow its number alone (not "22",
#     the "2²" of a number typed beside Word's own);
#   * each preambular and operative opening the draft has in italics
#     (Recalling, Also encourages …) is italic, and the words after it not;
#     operative paragraphs and sub-paragraphs hang their number or letter;
#   * the masthead (United Nations, the symbol, the organ, Distr.) is on
#     page 1, and every page ends with its number.
#
# Inputs: the shared 2021 fixture (tests/fixtures/reducing-reoffending-2021-rev1.txt)
# and a real General Assembly resolution (../shared/fixtures/real/
# ga80-12-military-expenditures.txt; absent, the project's own Third
# Committee L. draft in tests/fixtures/corpus stands in; RENDER_DOCX_REAL
# names another). Each is exported
# with `plenary export --from … --format docx`, converted with
# `libreoffice --headless --convert-to pdf` and `--convert-to fodt` (the
# flat XML LibreOffice re-saves), read with pdftotext, and its pages
# rendered with pdftoppm at 60 dpi (and page 1's masthead at 100 dpi) into
# bench/results/docx/ (PNG), with the PDF text and this script's findings
# (report.txt).
#
# Not part of scripts/test (CI): installing LibreOffice adds 51 packages,
# some 250 MB installed,
# to every CI run for one check, and what LibreOffice draws depends on the
# fonts of the machine. The structure it checks is asserted in CI from the
# package itself (crates/plenary-doc/tests/export_docx.rs); this script is
# the check that a real word processor shows it, run by hand:
#
#   scripts/render-docx.sh            # exits non-zero on a failed check
#
# Installs libreoffice-writer-nogui, poppler-utils and fonts-liberation
# (Times New Roman's metric twin) with apt-get when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"

need=()
command -v soffice >/dev/null 2>&1 || need+=(libreoffice-writer-nogui)
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
fc-list 2>/dev/null | grep -qi "Liberation Serif" || need+=(fonts-liberation)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "== installing ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

echo "== cargo build -p plenary-server"
cargo build --quiet -p plenary-server --bin plenary
target="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
plenary="$target/debug/plenary"

out="${RENDER_DOCX_OUT:-bench/results/docx}"
mkdir -p "$out"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# LibreOffice keeps its profile here, not in the user's home.
profile="-env:UserInstallation=file://$work/profile"

real="${RENDER_DOCX_REAL:-$repo/../shared/fixtures/real/ga80-12-military-expenditures.txt}"
if [ ! -f "$real" ]; then
  echo "note: $real is absent; the project's tests/fixtures/corpus/ga-third-committee-l-rev1.txt stands in"
  real="$repo/tests/fixtures/corpus/ga-third-committee-l-rev1.txt"
fi
inputs=(
  "reducing-reoffending-2021-rev1:$repo/tests/fixtures/reducing-reoffending-2021-rev1.txt"
  "$(basename "$real" .txt):$real"
)

{
  echo "scripts/render-docx.sh, $(date -u +%Y-%m-%dT%H:%MZ), $(soffice --version 2>/dev/null | head -1 | cut -d' ' -f1-2), $(pdftotext -v 2>&1 | head -1)"
  echo "real text: ${real#"$repo/"}"
} >"$work/report.txt"
status=0
for input in "${inputs[@]}"; do
  name="${input%%:*}"
  src="${input#*:}"
  echo "== $name"
  "$plenary" export --from "$src" --format json --out "$work/$name.json"
  "$plenary" export --from "$src" --format docx --out "$work/$name.docx"
  (cd "$work" && timeout 180 soffice "$profile" --headless --norestore --convert-to pdf "$name.docx" >/dev/null 2>&1)
  (cd "$work" && timeout 180 soffice "$profile" --headless --norestore --convert-to fodt "$name.docx" >/dev/null 2>&1)
  [ -f "$work/$name.pdf" ] && [ -f "$work/$name.fodt" ] || { echo "LibreOffice did not convert $name.docx"; exit 1; }
  pdftotext -layout "$work/$name.pdf" "$out/$name.txt"
  pdftotext -bbox-layout "$work/$name.pdf" "$work/$name.bbox.html"
  rm -f "$out/$name"-*.png
  pdftoppm -png -r 60 "$work/$name.pdf" "$out/$name"
  # The masthead at 100 dpi, where its thin rule still shows.
  pdftoppm -png -r 100 -f 1 -l 1 -x 0 -y 0 -W 827 -H 420 -singlefile "$work/$name.pdf" "$out/$name-masthead"
  if ! python3 - "$work/$name.json" "$work/$name.fodt" "$work/$name.pdf" "$work/$name.bbox.html" "$name" >>"$work/report.txt" <<'PY'
import json, re, subprocess, sys
import xml.etree.ElementTree as ET

json_path, fodt_path, pdf_path, bbox_path, name = sys.argv[1:6]
res = json.load(open(json_path))
meta = res["meta"]
NS = {
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
    "fo": "urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0",
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
}
T = lambda tag: "{%s}%s" % (NS[tag.split(":")[0]], tag.split(":")[1])
failures = []
findings = []

def fail(what):
    failures.append(what)

# --- LibreOffice's re-saved document (flat ODT) --------------------------
root = ET.parse(fodt_path).getroot()
styles = {}
for st in root.iter(T("style:style")):
    props = {}
    for kind in ("style:paragraph-properties", "style:text-properties"):
        el = st.find(kind, NS)
        if el is not None:
            for k, v in el.attrib.items():
                props[k.split("}")[1]] = v
    styles[(st.get(T("style:family")), st.get(T("style:name")))] = (st.get(T("style:parent-style-name")), props)

def prop(family, name, key):
    seen = set()
    while name and (family, name) not in seen:
        seen.add((family, name))
        parent, props = styles.get((family, name), (None, {}))
        if key in props:
            return props[key]
        name = parent
    return None

def runs(p):
    """(text, bold, italic) of each piece of a paragraph's own text (notes left out)."""
    pstyle = p.get(T("text:style-name"))
    out = []
    def walk(el, tstyle):
        def fmt(t):
            b = (tstyle and prop("text", tstyle, "font-weight")) or prop("paragraph", pstyle, "font-weight")
            i = (tstyle and prop("text", tstyle, "font-style")) or prop("paragraph", pstyle, "font-style")
            out.append((t, b == "bold", i == "italic"))
        if el.text:
            fmt(el.text)
        for c in el:
            if c.tag == T("text:note"):
                pass
            elif c.tag == T("text:span"):
                walk(c, c.get(T("text:style-name")) or tstyle)
            elif c.tag == T("text:tab"):
                fmt("\t")
            elif c.tag == T("text:s"):
                fmt(" " * int(c.get(T("text:c"), "1")))
            else:
                walk(c, tstyle)
            if c.tail:
                fmt(c.tail)
    walk(p, None)
    return out

body = root.find("office:body/office:text", NS)
# Paragraphs of the page, not of the notes.
note_paras = {id(p) for n in body.iter(T("text:note")) for p in n.iter(T("text:p"))}
paras = [p for p in body.iter(T("text:p")) if id(p) not in note_paras]
ptext = lambda p: "".join(t for t, _, _ in runs(p))

# The title.
# "80/12. Objective information …"; "Resolution 2801 (2025)" when untitled.
title = meta.get("title") or ""
if meta.get("number"):
    number = meta["number"].strip().rstrip(".")
    title = f"{number}. {title}" if title else f"Resolution {number}"
found = [p for p in paras if ptext(p).strip() == title]
if len(found) != 1:
    fail(f"title: {len(found)} paragraphs read {title!r}")
else:
    p = found[0]
    align = prop("paragraph", p.get(T("text:style-name")), "text-align")
    bold = all(b for t, b, _ in runs(p) if t.strip())
    findings.append(f"title {title!r}: text-align={align}, bold={bold}")
    if align != "center":
        fail(f"title not centred (text-align={align})")
    if not bold:
        fail("title not bold")

# The paragraphs: after the acting body, one Word paragraph per paragraph.
acting = meta.get("actingBody") or ""
start = next((i for i, p in enumerate(paras) if ptext(p).strip() == acting), None)
if start is None:
    fail(f"acting body {acting!r} not found")
else:
    printed = paras[start + 1 : start + 1 + len(res["paragraphs"])]
    italic_ok = 0
    for para, p in zip(res["paragraphs"], printed):
        first = para["text"][0] if para["text"] else {}
        if not first.get("italic"):
            continue
        opening = first["text"]
        pieces = [r for r in runs(p) if r[0] != "\t"]
        # Operative numbers ("2.") come before the opening.
        while pieces and re.fullmatch(r"\(?[0-9a-z]+[.)]", pieces[0][0].strip() or "x"):
            pieces = pieces[1:]
        text = "".join(t for t, _, _ in pieces)
        if not text.startswith(opening):
            fail(f"{para.get('label') or para['id']}: starts {text[:40]!r}, not {opening!r}")
            continue
        # Every character of the opening italic, the next word not.
        acc, ok, after = 0, True, None
        for t, _, i in pieces:
            if acc < len(opening):
                ok = ok and i
            elif after is None and t.strip():
                after = i
            acc += len(t)
        if not ok or after:
            fail(f"{para.get('label') or para['id']}: opening {opening!r} italic={ok}, text after it italic={after}")
        else:
            italic_ok += 1
    # Operative paragraphs and sub-paragraphs hang their number or letter.
    hanging = [
        (prop("paragraph", p.get(T("text:style-name")), "text-indent") or "").startswith("-")
        for para, p in zip(res["paragraphs"], printed)
        if para["kind"] == "operative"
    ]
    if not all(hanging):
        fail(f"{hanging.count(False)} operative paragraphs or sub-paragraphs without a hanging indent")
    findings.append(f"hanging indents: {hanging.count(True)} of {len(hanging)} operative paragraphs and sub-paragraphs")
    findings.append(f"italic openings: {italic_ok} of {sum(1 for p in res['paragraphs'] if p['text'] and p['text'][0].get('italic'))} italic, the words after them upright")

# Footnotes: real notes, cited 1..n, no typed number.
notes = list(body.iter(T("text:note")))
want = res["footnotes"]
if len(notes) != len(want):
    fail(f"{len(notes)} footnotes in LibreOffice, {len(want)} in the draft")
for n, (note, fn) in enumerate(zip(notes, want), start=1):
    citation = note.find("text:note-citation", NS).text
    text = "".join("".join(t for t, _, _ in runs(p)) for p in note.iter(T("text:p"))).strip()
    own = "".join(r["text"] for r in fn["text"] if not r.get("footnote"))
    if citation != str(n):
        fail(f"footnote {n} cited as {citation!r}")
    if text != own.strip():
        fail(f"footnote {n} reads {text!r}, not {own!r} (a typed number?)")
findings.append(f"footnotes: {len(notes)} real notes, cited {', '.join(n.find('text:note-citation', NS).text for n in notes)}")

# --- The PDF ---------------------------------------------------------------
pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(["pdfinfo", pdf_path], capture_output=True, text=True).stdout).group(1))
page_text = [subprocess.run(["pdftotext", "-layout", "-f", str(k), "-l", str(k), pdf_path, "-"], capture_output=True, text=True).stdout for k in range(1, pages + 1)]
alltext = "\n".join(page_text)
tokens = alltext.split()
# Each note's first words follow its number alone ("2", not "22").
doubled = []
for n, fn in enumerate(want, start=1):
    own = "".join(r["text"] for r in fn["text"] if not r.get("footnote")).split()
    head = own[:8]
    hits = [i for i in range(len(tokens)) if tokens[i : i + len(head)] == head]
    if not hits:
        fail(f"footnote {n}: {' '.join(head)!r} not in the PDF text")
        continue
    before = tokens[hits[-1] - 1]
    if before != str(n):
        doubled.append(f"{before!r} before footnote {n}")
if doubled:
    fail("footnote numbers printed twice or wrong: " + "; ".join(doubled))
findings.append(f"PDF: {pages} pages; each footnote's text follows its number alone: {not doubled}")
# Page numbers: every page's last line is its number.
for k, t in enumerate(page_text, start=1):
    last = [l.strip() for l in t.splitlines() if l.strip()]
    if not last or last[-1] != str(k):
        fail(f"page {k} does not end with its number (last line {last[-1] if last else ''!r})")
# The masthead on page 1.
for must in ["United Nations", meta.get("symbol"), meta.get("organ"), meta.get("distribution") and "Distr.: " + meta["distribution"]]:
    if must and must not in page_text[0]:
        fail(f"page 1 lacks {must!r}")
# The title's lines are centred on the page (PDF coordinates).
bbox = open(bbox_path).read()
page_w = float(re.search(r'<page width="([\d.]+)"', bbox).group(1))
words = title.split()
lines = re.findall(r'<line xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)"[^>]*>(.*?)</line>', bbox, re.S)
line_words = [(float(a), float(b), re.findall(r">([^<]*)</word>", w)) for a, b, w in lines]
offsets = []
i = 0
while i < len(line_words):
    x0, x1, ws = line_words[i]
    if ws and ws == words[: len(ws)]:
        j, rest, span = i, list(words), []
        while j < len(line_words) and rest[: len(line_words[j][2])] == line_words[j][2] and line_words[j][2]:
            span.append(line_words[j])
            rest = rest[len(line_words[j][2]) :]
            j += 1
        if not rest:
            offsets = [((a + b) / 2 - page_w / 2) for a, b, _ in span]
            break
    i += 1
if not offsets:
    fail("title not found in the PDF's lines")
else:
    findings.append("title lines' centres vs page centre (pt): " + ", ".join(f"{o:+.1f}" for o in offsets))
    if any(abs(o) > 6 for o in offsets):
        fail("title lines not centred on the page")

print(f"--- {name}")
for f in findings:
    print("  " + f)
for f in failures:
    print("  FAIL " + f)
print("  " + ("ok" if not failures else f"{len(failures)} failed"))
sys.exit(1 if failures else 0)
PY
  then
    status=1
  fi
done
cp "$work/report.txt" "$out/report.txt"
cat "$out/report.txt"
ls "$out"/*.png
exit $status
