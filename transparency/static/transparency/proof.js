// The in-browser inclusion check of an entry page (the only script of the public site).
// It trusts nothing the page says: it fetches the latest signed checkpoint, the entry's exact leaf bytes and the
// audit path from the public API, recomputes the leaf hash and the root with the browser's own SHA-256
// (RFC 9162 §2.1.3.2) and compares the result with the root the checkpoint states. The checkpoint's Ed25519
// signature is checked with the log's verifier key where the browser's Web Crypto supports Ed25519.
"use strict";

(function () {
  const panel = document.getElementById("browser-check");
  if (!panel || !window.crypto || !window.crypto.subtle) {
    return; // no SubtleCrypto (e.g. not a secure context): the page's offline instructions stand alone
  }
  const button = document.getElementById("check-button");
  const result = document.getElementById("check-result");
  panel.hidden = false;

  const encoder = new TextEncoder();

  function b64decode(text) {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  function b64encode(bytes) {
    let binary = "";
    for (const b of bytes) binary += String.fromCharCode(b);
    return btoa(binary);
  }

  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  function equal(a, b) {
    return a.length === b.length && a.every((v, i) => v === b[i]);
  }

  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }

  const leafHash = (leaf) => sha256(concat(Uint8Array.of(0), leaf));
  const nodeHash = (left, right) => sha256(concat(Uint8Array.of(1), left, right));

  // RFC 9162 §2.1.3.2: the root an inclusion proof implies for leaf `index` of a tree of `size` leaves.
  async function rootFromInclusionProof(index, size, hash, path) {
    if (index >= size) throw new Error(`index ${index} is not below the tree size ${size}`);
    let fn = index;
    let sn = size - 1n;
    let r = hash;
    for (const p of path) {
      if (sn === 0n) throw new Error("the proof is longer than the tree is deep");
      if ((fn & 1n) === 1n || fn === sn) {
        r = await nodeHash(p, r);
        if ((fn & 1n) === 0n) {
          while ((fn & 1n) === 0n && fn !== 0n) {
            fn >>= 1n;
            sn >>= 1n;
          }
        }
      } else {
        r = await nodeHash(r, p);
      }
      fn >>= 1n;
      sn >>= 1n;
    }
    if (sn !== 0n) throw new Error("the proof is shorter than the tree is deep");
    return r;
  }

  // A C2SP signed note: text (ending in a newline), a blank line, signature lines "— <name> <base64>".
  function parseNote(note) {
    const split = note.lastIndexOf("\n\n");
    if (split < 0 || !note.endsWith("\n")) throw new Error("the checkpoint is not a signed note");
    const text = note.slice(0, split + 1);
    const signatures = note
      .slice(split + 2, -1)
      .split("\n")
      .map((line) => {
        const m = /^\u2014 (\S+) (\S+)$/.exec(line);
        if (!m) throw new Error("malformed signature line in the checkpoint");
        return { name: m[1], blob: b64decode(m[2]) };
      });
    const lines = text.slice(0, -1).split("\n");
    if (lines.length < 3 || !/^(0|[1-9][0-9]*)$/.test(lines[1])) throw new Error("malformed checkpoint body");
    return { text, signatures, origin: lines[0], size: BigInt(lines[1]), root: b64decode(lines[2]) };
  }

  // Verifier key "<name>+<8 hex key ID>+<base64(0x01 || public key)>"; the signature's key ID must match.
  async function checkSignature(checkpoint, vkey) {
    // A name holds no "+", but base64 may: only the first two "+" separate fields.
    const [name, hexId, ...rest] = vkey.trim().split("+");
    const key64 = rest.join("+");
    const key = b64decode(key64 || "");
    if (key.length !== 33 || key[0] !== 1) return { ok: false, why: "the verifier key is not an Ed25519 note key" };
    const keyId = (await sha256(concat(encoder.encode(name + "\n"), key))).slice(0, 4);
    const hex = Array.from(keyId, (b) => b.toString(16).padStart(2, "0")).join("");
    if (hex !== hexId) return { ok: false, why: "the verifier key's ID does not match its key" };
    const signature = checkpoint.signatures.find((s) => s.name === name && equal(s.blob.slice(0, 4), keyId));
    if (!signature) return { ok: false, why: `no signature by ${name} on the checkpoint` };
    let publicKey;
    try {
      publicKey = await crypto.subtle.importKey("raw", key.slice(1), { name: "Ed25519" }, false, ["verify"]);
    } catch (error) {
      return { ok: null, why: "this browser cannot verify Ed25519 signatures, so the signature was not checked" };
    }
    const valid = await crypto.subtle.verify(
      { name: "Ed25519" },
      publicKey,
      signature.blob.slice(4),
      encoder.encode(checkpoint.text),
    );
    return valid
      ? { ok: true, why: `the checkpoint's signature verifies with the log's key ${name}+${hexId}` }
      : { ok: false, why: "the checkpoint's signature does not verify with the log's key" };
  }

  async function fetchOk(url, as) {
    const response = await fetch(url, { credentials: "omit", cache: "no-store" });
    if (!response.ok) throw new Error(`${url} answered ${response.status}`);
    return as === "text" ? response.text() : response.json();
  }

  function show(passed, lines) {
    result.replaceChildren();
    const verdict = document.createElement("p");
    verdict.className = passed ? "verdict ok" : "verdict bad";
    verdict.id = "check-verdict";
    verdict.textContent = passed
      ? "Passed: this entry is included in the log's latest signed checkpoint."
      : "FAILED: this entry could not be shown to be in the log's latest checkpoint.";
    const list = document.createElement("ul");
    for (const line of lines) {
      const item = document.createElement("li");
      item.textContent = line;
      list.append(item);
    }
    result.append(verdict, list);
  }

  async function check() {
    const index = BigInt(panel.dataset.index);
    const notes = [];
    const note = await fetchOk(panel.dataset.checkpointUrl, "text");
    const checkpoint = parseNote(note);
    notes.push(`Checkpoint: ${checkpoint.origin}, size ${checkpoint.size}, root ${b64encode(checkpoint.root)}.`);
    if (index >= checkpoint.size) {
      show(false, [...notes, `Entry ${index} is not covered by this checkpoint yet.`]);
      return;
    }
    const [entries, proof, vkey] = await Promise.all([
      fetchOk(`${panel.dataset.entriesUrl}?start=${index}&end=${index + 1n}`),
      fetchOk(`${panel.dataset.proofUrl}?index=${index}&tree_size=${checkpoint.size}`),
      fetchOk(panel.dataset.keyUrl, "text"),
    ]);
    const leaf = b64decode(entries.entries[0].leaf_b64);
    const leafText = new TextDecoder().decode(leaf);
    const shown = document.getElementById("leaf-json").textContent;
    const sameAsPage = leafText === shown;
    notes.push(
      sameAsPage
        ? "The leaf the API serves is byte for byte the canonical JSON shown on this page."
        : "The leaf the API serves differs from the canonical JSON shown on this page.",
    );
    let leafIndexOk = false;
    try {
      leafIndexOk = BigInt(JSON.parse(leafText).index) === index;
    } catch (error) {
      leafIndexOk = false;
    }
    if (!leafIndexOk) notes.push(`The leaf does not state index ${index}.`);
    const hash = await leafHash(leaf);
    notes.push(`Leaf hash SHA-256(0x00 ‖ leaf): ${b64encode(hash)}.`);
    let rootOk = false;
    try {
      const root = await rootFromInclusionProof(index, checkpoint.size, hash, proof.hashes.map(b64decode));
      rootOk = equal(root, checkpoint.root);
      notes.push(
        rootOk
          ? `The ${proof.hashes.length} proof hashes lead to the checkpoint's root.`
          : `The ${proof.hashes.length} proof hashes lead to ${b64encode(root)}, not the checkpoint's root.`,
      );
    } catch (error) {
      notes.push(`The proof is malformed: ${error.message}.`);
    }
    const signature = await checkSignature(checkpoint, vkey);
    notes.push(`Signature: ${signature.why}.`);
    show(sameAsPage && leafIndexOk && rootOk && signature.ok !== false, notes);
  }

  button.addEventListener("click", async () => {
    button.disabled = true;
    result.textContent = "Checking…";
    try {
      await check();
    } catch (error) {
      show(false, [`The check could not run: ${error.message}`]);
    } finally {
      button.disabled = false;
    }
  });
})();
