"""RFC 9162 §2.1 Merkle hash trees over the ledger, built from stored complete-subtree hashes.

Storage model (that of Go's ``golang.org/x/mod/sumdb/tlog``, with coordinates instead of a
linear index): the node at (level L, index k) is the hash of the complete subtree over leaves
[k*2^L, (k+1)*2^L). It is written once, when its last leaf is appended, and never changes.
Every other hash the RFC defines (the root of a tree whose size is not a power of two, a proof
element) is folded from at most log2(n)+1 stored nodes, so appends, roots and proofs never
scan the log.

Storage is reached through a ``HashReader``: a callable given a list of (level, index) nodes
that returns their hashes in the same order. Each function below calls it at most once, so a
database store answers it with one query.
"""

import hashlib
from collections.abc import Callable, Iterable, Sequence

type Node = tuple[int, int]
"""(level, index) of a complete subtree: leaves [index * 2**level, (index + 1) * 2**level)."""

type StoredHash = tuple[int, int, bytes]
"""A row to store: (level, index, hash)."""

type HashReader = Callable[[list[Node]], list[bytes]]
"""Returns the stored hash of each requested node, in request order."""

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}) = SHA-256() (RFC 9162 §2.1.1), the root of the empty tree."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


class ProofError(ValueError):
    """A proof was requested for impossible arguments, or a proof does not verify."""


class HashStoreError(LookupError):
    """A HashReader did not return one 32-byte hash per requested node (a storage bug)."""


# --- Hashing (RFC 9162 §2.1.1) -----------------------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d): the hash of one leaf (RFC 9162 §2.1.1)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right): the hash of an interior node (RFC 9162 §2.1.1)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _split_point(n: int) -> int:
    """k, the largest power of two smaller than n (n > 1), where the RFC splits D[n]."""
    return 1 << ((n - 1).bit_length() - 1)


def root_from_leaves(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) straight from the definition in RFC 9162 §2.1.1, given the leaf hashes.

    Holds every leaf hash in memory; use `RootAccumulator` to stream a long log.
    """
    n = len(leaf_hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hashes[0]
    k = _split_point(n)
    return node_hash(root_from_leaves(leaf_hashes[:k]), root_from_leaves(leaf_hashes[k:]))


# --- Stored complete subtrees --------------------------------------------------------------------


def _complete_subtrees(lo: int, hi: int) -> list[Node]:
    """The complete subtrees, left to right, that tile leaves [lo, hi).

    Every range the RFC recursion produces starts at a multiple of a power of two at least as
    large as the range, so the largest-first tiling consists of aligned, stored subtrees.
    """
    nodes: list[Node] = []
    while lo < hi:
        level = (hi - lo).bit_length() - 1
        if lo % (1 << level):
            raise AssertionError(f"leaf range [{lo}, {hi}) is not aligned to stored subtrees")
        nodes.append((level, lo >> level))
        lo += 1 << level
    return nodes


def _fold(subtree_hashes: Sequence[bytes]) -> bytes:
    """MTH of a leaf range from the hashes of its tiling, as the RFC's right-leaning tree."""
    h = subtree_hashes[-1]
    for left in reversed(subtree_hashes[:-1]):
        h = node_hash(left, h)
    return h


def _read(read_hashes: HashReader, nodes: list[Node]) -> list[bytes]:
    """One call to the reader, checked: exactly one 32-byte hash per node."""
    if not nodes:
        return []
    hashes = list(read_hashes(list(nodes)))
    if len(hashes) != len(nodes):
        raise HashStoreError(f"read_hashes returned {len(hashes)} hashes for {len(nodes)} nodes")
    for node, h in zip(nodes, hashes, strict=True):
        if not isinstance(h, bytes) or len(h) != HASH_SIZE:
            raise HashStoreError(f"read_hashes returned a malformed hash for node {node}")
    return hashes


def _range_hashes(ranges: list[tuple[int, int]], read_hashes: HashReader) -> list[bytes]:
    """MTH(D[lo:hi]) for each range, from a single read of all their stored subtrees."""
    tilings = [_complete_subtrees(lo, hi) for lo, hi in ranges]
    stored = iter(_read(read_hashes, [node for tiling in tilings for node in tiling]))
    return [_fold([next(stored) for _ in tiling]) for tiling in tilings]


def _check_size(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ProofError(f"{name} must be a non-negative integer, got {value!r}")


def _trailing_ones(n: int) -> int:
    return (n ^ (n + 1)).bit_length() - 1


def stored_hashes_for_append(n: int, leaf: bytes, read_hashes: HashReader) -> list[StoredHash]:
    """The rows to store when leaf number n (0-based) is appended to a tree of n leaves.

    Returns (0, n, leaf_hash(leaf)) followed by one row per subtree the leaf completes, by
    increasing level: each trailing 1 bit of n merges a stored left sibling, read in one call.
    """
    _check_size("n", n)
    h = leaf_hash(leaf)
    completed = _trailing_ones(n)
    left_siblings = _read(read_hashes, [(level, (n >> level) - 1) for level in range(completed)])
    rows: list[StoredHash] = [(0, n, h)]
    for level, left in enumerate(left_siblings, start=1):
        h = node_hash(left, h)
        rows.append((level, n >> level, h))
    return rows


def stored_hashes_for_append_many(n: int, leaves: Sequence[bytes], read_hashes: HashReader) -> list[StoredHash]:
    """The rows to store when leaves n, n+1, ... are appended at once; equal to one by one.

    Reads, in one call, only the complete subtrees of the old tree [0, n) whose parent the batch
    completes; every other left sibling is itself one of the new rows.
    """
    _check_size("n", n)
    end = n + len(leaves)
    absorbed = [(level, index) for level, index in _complete_subtrees(0, n) if (index + 2) << level <= end]
    known = dict(zip(absorbed, _read(read_hashes, absorbed), strict=True))

    def read_known(nodes: list[Node]) -> list[bytes]:
        return [known[node] for node in nodes]

    rows: list[StoredHash] = []
    for offset, leaf in enumerate(leaves):
        new_rows = stored_hashes_for_append(n + offset, leaf, read_known)
        known.update(((level, index), h) for level, index, h in new_rows)
        rows.extend(new_rows)
    return rows


def tree_hash(size: int, read_hashes: HashReader) -> bytes:
    """MTH(D[0:size]), the root of the first `size` leaves (RFC 9162 §2.1.1).

    Folds the at most log2(size)+1 stored subtrees that tile the tree; size 0 gives EMPTY_ROOT.
    """
    _check_size("size", size)
    if size == 0:
        return EMPTY_ROOT
    return _range_hashes([(0, size)], read_hashes)[0]


# --- Inclusion proofs (RFC 9162 §2.1.3) ---------------------------------------------------------


def _path(m: int, lo: int, hi: int) -> list[tuple[int, int]]:
    """PATH(m, D[lo:hi]) of RFC 9162 §2.1.3.1, as the leaf ranges whose MTHs form the path.

    m is relative to lo, as in the RFC's PATH(m - k, D[k:n]).
    """
    if hi - lo == 1:
        return []
    k = _split_point(hi - lo)
    if m < k:
        return _path(m, lo, lo + k) + [(lo + k, hi)]
    return _path(m - k, lo + k, hi) + [(lo, lo + k)]


def inclusion_proof(index: int, size: int, read_hashes: HashReader) -> list[bytes]:
    """The audit path PATH(index, D[size]) proving leaf `index` is in the tree of `size` leaves.

    RFC 9162 §2.1.3.1 order (leaf level first); one read of O(log size) stored nodes.
    """
    _check_size("index", index)
    _check_size("size", size)
    if index >= size:
        raise ProofError(f"leaf index {index} is not in a tree of size {size}")
    return _range_hashes(_path(index, 0, size), read_hashes)


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Check that `proof` shows `leaf_hash` at `index` in the tree (size, root); else ProofError.

    The algorithm of RFC 9162 §2.1.3.2, step by step.
    """
    _check_size("index", index)
    _check_size("size", size)
    _check_hashes(leaf_hash, root, *proof)
    # 1. The leaf index must be inside the tree.
    if index >= size:
        raise ProofError(f"leaf index {index} is not in a tree of size {size}")
    # 2-3. fn is the leaf's position, sn the last position, r the running hash.
    fn, sn, r = index, size - 1, leaf_hash
    # 4. Climb one level per proof element.
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            # A right-most node without a sibling moves up without hashing.
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    # 5. The path must end at the root, and the root must match.
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the path to the root")
    if r != root:
        raise ProofError(f"inclusion proof for leaf {index} does not match the root of size {size}")


# --- Consistency proofs (RFC 9162 §2.1.4) -------------------------------------------------------


def _subproof(m: int, lo: int, hi: int, b: bool) -> list[tuple[int, int]]:
    """SUBPROOF(m, D[lo:hi], b) of RFC 9162 §2.1.4.1, as leaf ranges whose MTHs form the proof.

    b says whether D[lo:hi] is a subtree of the old tree's own decomposition, whose hash the
    verifier already knows (so it is left out of the proof).
    """
    n = hi - lo
    if m == n:
        return [] if b else [(lo, hi)]
    k = _split_point(n)
    if m <= k:
        return _subproof(m, lo, lo + k, b) + [(lo + k, hi)]
    return _subproof(m - k, lo + k, hi, False) + [(lo, lo + k)]


def consistency_proof(m: int, n: int, read_hashes: HashReader) -> list[bytes]:
    """PROOF(m, D[n]) = SUBPROOF(m, D[n], true): the tree of n leaves extends the tree of m.

    RFC 9162 §2.1.4.1 order, the same as RFC 6962 and Go's tlog.TreeProof. The proof is empty
    when m == n, and when m == 0 (the empty tree is a prefix of every tree).
    """
    _check_size("m", m)
    _check_size("n", n)
    if m > n:
        raise ProofError(f"old size {m} is larger than new size {n}")
    if m == 0:
        return []
    return _range_hashes(_subproof(m, 0, n, True), read_hashes)


def verify_consistency(m: int, n: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes) -> None:
    """Check that `proof` shows tree (n, new_root) extends tree (m, old_root); else ProofError.

    For 0 < m < n, the algorithm of RFC 9162 §2.1.4.2 step by step. m == n needs an empty
    proof and equal roots; m == 0 needs an empty proof and old_root == EMPTY_ROOT.
    """
    _check_size("m", m)
    _check_size("n", n)
    _check_hashes(old_root, new_root, *proof)
    if m > n:
        raise ProofError(f"old size {m} is larger than new size {n}")
    if m == n or m == 0:
        if proof:
            raise ProofError(f"consistency proof from {m} to {n} must be empty")
        expected_old = new_root if m == n else EMPTY_ROOT
        if old_root != expected_old:
            raise ProofError(f"old root does not match the tree of size {m}")
        return
    # 1. A proof between different sizes is never empty.
    if not proof:
        raise ProofError(f"consistency proof from {m} to {n} is empty")
    # 2. If the old tree is a complete subtree, the verifier supplies its hash.
    path = list(proof)
    if m & (m - 1) == 0:
        path.insert(0, old_root)
    # 3-4. fn and sn are the last positions; skip the levels where the old tree is complete.
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5. Rebuild both roots from the first node.
    fr = sr = path[0]
    # 6. Climb one level per remaining element.
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    # 7. Both rebuilt roots must match, at the top of the new tree.
    if sn != 0:
        raise ProofError("consistency proof is shorter than the path to the root")
    if fr != old_root:
        raise ProofError(f"consistency proof does not match the old root of size {m}")
    if sr != new_root:
        raise ProofError(f"consistency proof does not match the new root of size {n}")


def _check_hashes(*hashes: bytes) -> None:
    for h in hashes:
        if not isinstance(h, bytes) or len(h) != HASH_SIZE:
            raise ProofError(f"hashes must be {HASH_SIZE} bytes, got {h!r:.80}")


# --- Streaming and in-memory storage ------------------------------------------------------------


class RootAccumulator:
    """Streams leaf hashes keeping only the O(log n) complete subtrees that tile the tree so far.

    `append` returns the same rows as `stored_hashes_for_append`, so a verifier can also rebuild
    a store while streaming.
    """

    def __init__(self) -> None:
        self._size = 0
        self._subtrees: list[bytes] = []  # tiling of [0, size), largest (left-most) first

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    def append(self, leaf_hash: bytes) -> list[StoredHash]:
        """Add the next leaf (by its hash) and return the rows it completes."""
        _check_hashes(leaf_hash)
        n, h = self._size, leaf_hash
        rows: list[StoredHash] = [(0, n, h)]
        for level in range(1, _trailing_ones(n) + 1):
            h = node_hash(self._subtrees.pop(), h)
            rows.append((level, n >> level, h))
        self._subtrees.append(h)
        self._size = n + 1
        return rows

    def root(self) -> bytes:
        """MTH of the leaves appended so far (EMPTY_ROOT before the first)."""
        if not self._subtrees:
            return EMPTY_ROOT
        return _fold(self._subtrees)


class MemoryHashStore:
    """A dict of stored subtree hashes for tests and the offline verifier.

    `read_hashes` is the HashReader; a missing node raises HashStoreError.
    """

    def __init__(self) -> None:
        self._hashes: dict[Node, bytes] = {}
        self.size = 0

    def read_hashes(self, nodes: list[Node]) -> list[bytes]:
        """Return the hash of each node in order (the HashReader protocol)."""
        try:
            return [self._hashes[node] for node in nodes]
        except KeyError as exc:
            raise HashStoreError(f"no stored hash for node {exc.args[0]}") from None

    def write(self, rows: Iterable[StoredHash]) -> None:
        """Store rows; a stored hash never changes, so rewriting one differently is an error."""
        for level, index, h in rows:
            old = self._hashes.setdefault((level, index), h)
            if old != h:
                raise HashStoreError(f"node {(level, index)} is already stored with another hash")

    def append(self, leaf: bytes) -> list[StoredHash]:
        """Append one leaf and store its rows."""
        rows = stored_hashes_for_append(self.size, leaf, self.read_hashes)
        self.write(rows)
        self.size += 1
        return rows

    def extend(self, leaves: Sequence[bytes]) -> list[StoredHash]:
        """Append many leaves with one read and store their rows."""
        rows = stored_hashes_for_append_many(self.size, leaves, self.read_hashes)
        self.write(rows)
        self.size += len(leaves)
        return rows
