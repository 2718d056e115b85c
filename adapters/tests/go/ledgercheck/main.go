// Command ledgercheck checks OpenPassMarket ledger artefacts with Go's stock
// golang.org/x/mod/sumdb/note and sumdb/tlog packages, so that the Python
// implementation in adapters/ledger is tested against an independent one.
//
//	ledgercheck verify EXPORT_DIR PROOFS_JSON  verify an export and Python-made proofs
//	ledgercheck sign SKEY_FILE TEXT_FILE        print the note Go signs (compare byte for byte)
//	ledgercheck keygen NAME                     print a new signer key and verifier key
//	ledgercheck cosigned LOG_VKEY NOTE WITNESSES  open a cosigned checkpoint with note.Open and check
//	                                            the C2SP tlog-cosignature v1 lines of the witness keys
//
// verify prints a JSON summary on success and exits 1 on the first mismatch.
package main

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// proofs is the file the Python test writes: proofs made by adapters.ledger.merkle,
// some deliberately corrupted (Valid false) so that Go must reject them.
type proofs struct {
	Inclusion []struct {
		Index int64    `json:"index"`
		Size  int64    `json:"size"`
		Proof []string `json:"proof"`
		Valid bool     `json:"valid"`
	} `json:"inclusion"`
	Consistency []struct {
		Old   int64    `json:"old"`
		New   int64    `json:"new"`
		Proof []string `json:"proof"`
		Valid bool     `json:"valid"`
	} `json:"consistency"`
}

type summary struct {
	Origin             string `json:"origin"`
	Size               int64  `json:"size"`
	Root               string `json:"root"`
	CheckpointsChecked int    `json:"checkpoints_checked"`
	InclusionChecked   int    `json:"inclusion_checked"`
	InclusionRejected  int    `json:"inclusion_rejected"`
	ConsistencyChecked int    `json:"consistency_checked"`
	ConsistRejected    int    `json:"consistency_rejected"`
}

// memStore holds the stored hashes in tlog's linear StoredHashIndex order.
type memStore []tlog.Hash

func (s memStore) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(s)) {
			return nil, fmt.Errorf("no stored hash %d", x)
		}
		out[i] = s[x]
	}
	return out, nil
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "ledgercheck: "+format+"\n", args...)
	os.Exit(1)
}

func readVerifier(dir string) note.Verifier {
	raw, err := os.ReadFile(filepath.Join(dir, "log.vkey"))
	if err != nil {
		fail("%v", err)
	}
	v, err := note.NewVerifier(strings.TrimSuffix(string(raw), "\n"))
	if err != nil {
		fail("log.vkey: %v", err)
	}
	return v
}

type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
}

// openCheckpoint verifies a signed checkpoint with note.Open and parses its text.
func openCheckpoint(path string, v note.Verifier) checkpoint {
	msg, err := os.ReadFile(path)
	if err != nil {
		fail("%v", err)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		fail("%s: note.Open: %v", path, err)
	}
	lines := strings.Split(strings.TrimSuffix(n.Text, "\n"), "\n")
	if len(lines) < 3 {
		fail("%s: checkpoint has %d lines", path, len(lines))
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("%s: size: %v", path, err)
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		fail("%s: root: %v", path, err)
	}
	return checkpoint{lines[0], size, root}
}

// treeHash is tlog.TreeHash, except that the empty tree has the RFC 6962 root
// SHA-256() as in C2SP checkpoints (tlog defines it as all zeros).
func treeHash(n int64, r tlog.HashReader) tlog.Hash {
	if n == 0 {
		return tlog.Hash(sha256.Sum256(nil))
	}
	h, err := tlog.TreeHash(n, r)
	if err != nil {
		fail("TreeHash(%d): %v", n, err)
	}
	return h
}

func decodeProof(p []string) []tlog.Hash {
	out := make([]tlog.Hash, len(p))
	for i, s := range p {
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(raw) != tlog.HashSize {
			fail("malformed proof hash %q", s)
		}
		copy(out[i][:], raw)
	}
	return out
}

func equalHashes(a, b []tlog.Hash) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func verify(dir, proofsPath string) {
	v := readVerifier(dir)
	latest := openCheckpoint(filepath.Join(dir, "checkpoint"), v)

	// Rebuild the stored hashes from the leaves with tlog.StoredHashes.
	f, err := os.Open(filepath.Join(dir, "entries.jsonl"))
	if err != nil {
		fail("%v", err)
	}
	defer f.Close()
	var store memStore
	reader := bufio.NewReaderSize(f, 1<<16)
	var n int64
	for {
		line, err := reader.ReadBytes('\n')
		if len(line) == 0 && err != nil {
			break
		}
		if !bytes.HasSuffix(line, []byte("\n")) {
			fail("entry %d does not end with a newline", n)
		}
		if int64(len(store)) != tlog.StoredHashIndex(0, n) {
			fail("stored hash count %d before record %d", len(store), n)
		}
		hashes, err := tlog.StoredHashes(n, line[:len(line)-1], store)
		if err != nil {
			fail("StoredHashes(%d): %v", n, err)
		}
		store = append(store, hashes...)
		n++
	}
	if n != latest.size {
		fail("%d entries, checkpoint size %d", n, latest.size)
	}
	if got := treeHash(n, store); got != latest.root {
		fail("TreeHash(%d) = %v, checkpoint root %v", n, got, latest.root)
	}
	sum := summary{Origin: latest.origin, Size: latest.size, Root: latest.root.String()}

	// Earlier checkpoints: each signed, with the root of its prefix, and provably
	// contained in the latest tree (tlog.ProveTree / tlog.CheckTree).
	names, _ := filepath.Glob(filepath.Join(dir, "checkpoints", "*.note"))
	sort.Strings(names)
	nameRE := regexp.MustCompile(`^(0|[1-9][0-9]*)\.note$`)
	for _, name := range names {
		m := nameRE.FindStringSubmatch(filepath.Base(name))
		c := openCheckpoint(name, v)
		if m == nil || m[1] != strconv.FormatInt(c.size, 10) || c.origin != latest.origin || c.size > n {
			fail("%s: unexpected checkpoint (size %d, origin %q)", name, c.size, c.origin)
		}
		if got := treeHash(c.size, store); got != c.root {
			fail("%s: TreeHash(%d) = %v, checkpoint root %v", name, c.size, got, c.root)
		}
		if c.size > 0 {
			p, err := tlog.ProveTree(n, c.size, store)
			if err != nil {
				fail("ProveTree(%d, %d): %v", n, c.size, err)
			}
			if err := tlog.CheckTree(p, n, latest.root, c.size, c.root); err != nil {
				fail("%s: CheckTree: %v", name, err)
			}
		}
		sum.CheckpointsChecked++
	}

	// Proofs made by the Python implementation.
	raw, err := os.ReadFile(proofsPath)
	if err != nil {
		fail("%v", err)
	}
	var ps proofs
	if err := json.Unmarshal(raw, &ps); err != nil {
		fail("%s: %v", proofsPath, err)
	}
	for _, p := range ps.Inclusion {
		if p.Index < 0 || p.Index >= p.Size || p.Size > n {
			fail("inclusion proof request (%d, %d) out of range", p.Index, p.Size)
		}
		proof := decodeProof(p.Proof)
		leaf := store[tlog.StoredHashIndex(0, p.Index)]
		err := tlog.CheckRecord(tlog.RecordProof(proof), p.Size, treeHash(p.Size, store), p.Index, leaf)
		if !p.Valid {
			if err == nil {
				fail("CheckRecord accepted a corrupted proof for leaf %d in size %d", p.Index, p.Size)
			}
			sum.InclusionRejected++
			continue
		}
		if err != nil {
			fail("CheckRecord(leaf %d, size %d): %v", p.Index, p.Size, err)
		}
		want, err := tlog.ProveRecord(p.Size, p.Index, store)
		if err != nil || !equalHashes(want, proof) {
			fail("ProveRecord(%d, %d) differs from the Python proof (%v)", p.Size, p.Index, err)
		}
		sum.InclusionChecked++
	}
	for _, p := range ps.Consistency {
		if p.Old < 1 || p.Old > p.New || p.New > n {
			fail("consistency proof request (%d, %d) out of range", p.Old, p.New)
		}
		proof := decodeProof(p.Proof)
		err := tlog.CheckTree(tlog.TreeProof(proof), p.New, treeHash(p.New, store), p.Old, treeHash(p.Old, store))
		if !p.Valid {
			if err == nil {
				fail("CheckTree accepted a corrupted proof from %d to %d", p.Old, p.New)
			}
			sum.ConsistRejected++
			continue
		}
		if err != nil {
			fail("CheckTree(%d, %d): %v", p.Old, p.New, err)
		}
		want, err := tlog.ProveTree(p.New, p.Old, store)
		if err != nil || !equalHashes(want, proof) {
			fail("ProveTree(%d, %d) differs from the Python proof (%v)", p.New, p.Old, err)
		}
		sum.ConsistencyChecked++
	}

	out, _ := json.Marshal(sum)
	fmt.Println(string(out))
}

func sign(skeyPath, textPath string) {
	skey, err := os.ReadFile(skeyPath)
	if err != nil {
		fail("%v", err)
	}
	text, err := os.ReadFile(textPath)
	if err != nil {
		fail("%v", err)
	}
	s, err := note.NewSigner(strings.TrimSuffix(string(skey), "\n"))
	if err != nil {
		fail("NewSigner: %v", err)
	}
	msg, err := note.Sign(&note.Note{Text: string(text)}, s)
	if err != nil {
		fail("Sign: %v", err)
	}
	os.Stdout.Write(msg)
}

func keygen(name string) {
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		fail("GenerateKey: %v", err)
	}
	fmt.Println(skey)
	fmt.Println(vkey)
}

// witnessKey is a cosignature/v1 verifier key, <name>+<hex key ID>+<base64(0x04 || Ed25519 key)>, decoded
// here from the spec (tlog-cosignature), independently of the Python implementation.
type witnessKey struct {
	name string
	id   uint32
	key  ed25519.PublicKey
}

func parseWitnessKey(vkey string) witnessKey {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 {
		fail("witness key %q: want <name>+<key ID>+<key>", vkey)
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) != 1+ed25519.PublicKeySize || raw[0] != 0x04 {
		fail("witness key %q: not a type 0x04 Ed25519 key", vkey)
	}
	h := sha256.New()
	h.Write([]byte(parts[0] + "\n"))
	h.Write(raw)
	id := binary.BigEndian.Uint32(h.Sum(nil)[:4])
	if fmt.Sprintf("%08x", id) != parts[1] {
		fail("witness key %q: key ID is not SHA-256(name || 0x0A || 0x04 || key)[:4]", vkey)
	}
	return witnessKey{parts[0], id, ed25519.PublicKey(raw[1:])}
}

// cosigned opens a cosigned checkpoint with the stock note.Open (the log key verifies, the cosignatures are
// kept as unverified signatures) and checks each witness's line: key ID || u64 timestamp || signature over
// "cosignature/v1\ntime <timestamp>\n" + the note text. Prints the verified witness names and timestamps.
func cosigned(logVkeyPath, notePath, witnessesPath string) {
	raw, err := os.ReadFile(logVkeyPath)
	if err != nil {
		fail("%v", err)
	}
	logKey, err := note.NewVerifier(strings.TrimSpace(string(raw)))
	if err != nil {
		fail("log key: %v", err)
	}
	msg, err := os.ReadFile(notePath)
	if err != nil {
		fail("%v", err)
	}
	n, err := note.Open(msg, note.VerifierList(logKey))
	if err != nil {
		fail("note.Open: %v", err)
	}
	lines, err := os.ReadFile(witnessesPath)
	if err != nil {
		fail("%v", err)
	}
	type verified struct {
		Name      string `json:"name"`
		Timestamp uint64 `json:"timestamp"`
	}
	out := []verified{}
	for _, line := range strings.Fields(string(lines)) {
		w := parseWitnessKey(line)
		for _, sig := range n.UnverifiedSigs {
			if sig.Name != w.name || sig.Hash != w.id {
				continue
			}
			value, err := base64.StdEncoding.DecodeString(sig.Base64)
			if err != nil || len(value) != 4+8+ed25519.SignatureSize {
				fail("%s: a cosignature is key ID, timestamp and a 64-byte signature", w.name)
			}
			timestamp := binary.BigEndian.Uint64(value[4:12])
			message := fmt.Sprintf("cosignature/v1\ntime %d\n%s", timestamp, n.Text)
			if !ed25519.Verify(w.key, []byte(message), value[12:]) {
				fail("%s: the cosignature does not verify", w.name)
			}
			out = append(out, verified{w.name, timestamp})
		}
	}
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(out); err != nil {
		fail("%v", err)
	}
}

func main() {
	switch {
	case len(os.Args) == 4 && os.Args[1] == "verify":
		verify(os.Args[2], os.Args[3])
	case len(os.Args) == 4 && os.Args[1] == "sign":
		sign(os.Args[2], os.Args[3])
	case len(os.Args) == 3 && os.Args[1] == "keygen":
		keygen(os.Args[2])
	case len(os.Args) == 5 && os.Args[1] == "cosigned":
		cosigned(os.Args[2], os.Args[3], os.Args[4])
	default:
		fmt.Fprintln(os.Stderr, "usage: ledgercheck verify DIR PROOFS | sign SKEY TEXT | keygen NAME | cosigned LOG_VKEY NOTE WITNESSES")
		os.Exit(2)
	}
}
