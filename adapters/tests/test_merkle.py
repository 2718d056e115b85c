"""adapters.ledger.merkle against RFC 6962/9162 vectors, a naive reference and properties."""

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.ledger.merkle import (
    EMPTY_ROOT,
    HashStoreError,
    MemoryHashStore,
    ProofError,
    RootAccumulator,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_leaves,
    stored_hashes_for_append,
    stored_hashes_for_append_many,
    tree_hash,
    verify_consistency,
    verify_inclusion,
)

# The leaves of Certificate Transparency's reference tests (RFC 6962), and the published roots
# of their prefixes of size 1..8, inclusion proofs and consistency proofs.
CT_LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
CT_ROOTS = {
    0: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    2: "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    3: "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    4: "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    5: "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    6: "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    7: "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}
CT_INCLUSION = [  # (leaf index, tree size, audit path)
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
CT_CONSISTENCY = [  # (old size, new size, proof)
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]

MAX_N = 300
PROPERTY_SETTINGS = settings(max_examples=300, deadline=None)


# --- An independent, naive reference straight from the RFC 9162 §2.1 definitions ------------


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def naive_mth(entries: list[bytes]) -> bytes:
    """MTH(D[n]) computed from the entries themselves."""
    if not entries:
        return _sha256(b"")
    if len(entries) == 1:
        return _sha256(b"\x00" + entries[0])
    k = _k(len(entries))
    return _sha256(b"\x01" + naive_mth(entries[:k]) + naive_mth(entries[k:]))


def naive_path(m: int, entries: list[bytes]) -> list[bytes]:
    """PATH(m, D[n])."""
    if len(entries) == 1:
        return []
    k = _k(len(entries))
    if m < k:
        return naive_path(m, entries[:k]) + [naive_mth(entries[k:])]
    return naive_path(m - k, entries[k:]) + [naive_mth(entries[:k])]


def naive_subproof(m: int, entries: list[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b)."""
    n = len(entries)
    if m == n:
        return [] if b else [naive_mth(entries)]
    k = _k(n)
    if m <= k:
        return naive_subproof(m, entries[:k], b) + [naive_mth(entries[k:])]
    return naive_subproof(m - k, entries[k:], False) + [naive_mth(entries[:k])]


# --- Shared trees ---------------------------------------------------------------------------


def _entry(i: int) -> bytes:
    return f"entry {i}".encode()


ENTRIES = [_entry(i) for i in range(MAX_N)]


def _build_store(entries: list[bytes]) -> MemoryHashStore:
    store = MemoryHashStore()
    for entry in entries:
        store.append(entry)
    return store


STORE = _build_store(ENTRIES)


def _prefix_roots(entries: list[bytes]) -> list[bytes]:
    accumulator, roots = RootAccumulator(), [EMPTY_ROOT]
    for entry in entries:
        accumulator.append(leaf_hash(entry))
        roots.append(accumulator.root())
    return roots


PREFIX_ROOTS = _prefix_roots(ENTRIES)


class CountingReader:
    """Wraps a HashReader, counting calls and nodes read."""

    def __init__(self, store: MemoryHashStore) -> None:
        self.store, self.calls, self.nodes = store, 0, 0

    def __call__(self, nodes: list[tuple[int, int]]) -> list[bytes]:
        self.calls += 1
        self.nodes += len(nodes)
        return self.store.read_hashes(nodes)


def _hexes(hashes: list[bytes]) -> list[str]:
    return [h.hex() for h in hashes]


# --- Published vectors ------------------------------------------------------------------------


def test_hash_primitives_match_the_rfc_definitions() -> None:
    assert EMPTY_ROOT.hex() == CT_ROOTS[0]
    assert leaf_hash(b"").hex() == CT_ROOTS[1]
    assert node_hash(leaf_hash(b""), leaf_hash(b"\x00")).hex() == CT_ROOTS[2]


@pytest.mark.parametrize("size", range(9))
def test_roots_match_published_vectors(size: int) -> None:
    store = _build_store(CT_LEAVES[:size])
    leaf_hashes = [leaf_hash(leaf) for leaf in CT_LEAVES[:size]]
    assert tree_hash(size, store.read_hashes).hex() == CT_ROOTS[size]
    assert root_from_leaves(leaf_hashes).hex() == CT_ROOTS[size]
    assert naive_mth(CT_LEAVES[:size]).hex() == CT_ROOTS[size]
    accumulator = RootAccumulator()
    for h in leaf_hashes:
        accumulator.append(h)
    assert accumulator.root().hex() == CT_ROOTS[size]


@pytest.mark.parametrize(("index", "size", "expected"), CT_INCLUSION)
def test_inclusion_proofs_match_published_vectors(index: int, size: int, expected: list[str]) -> None:
    store = _build_store(CT_LEAVES)
    proof = inclusion_proof(index, size, store.read_hashes)
    assert _hexes(proof) == expected
    assert _hexes(naive_path(index, CT_LEAVES[:size])) == expected
    verify_inclusion(leaf_hash(CT_LEAVES[index]), index, size, proof, bytes.fromhex(CT_ROOTS[size]))


@pytest.mark.parametrize(("m", "n", "expected"), CT_CONSISTENCY)
def test_consistency_proofs_match_published_vectors(m: int, n: int, expected: list[str]) -> None:
    store = _build_store(CT_LEAVES)
    proof = consistency_proof(m, n, store.read_hashes)
    assert _hexes(proof) == expected
    assert _hexes(naive_subproof(m, CT_LEAVES[:n], True)) == expected
    verify_consistency(m, n, proof, bytes.fromhex(CT_ROOTS[m]), bytes.fromhex(CT_ROOTS[n]))


# --- Storage model ----------------------------------------------------------------------------


def test_append_writes_the_completed_subtrees() -> None:
    reader = CountingReader(_build_store(ENTRIES[:7]))
    rows = stored_hashes_for_append(7, ENTRIES[7], reader)
    assert [(level, index) for level, index, _ in rows] == [(0, 7), (1, 3), (2, 1), (3, 0)]
    assert rows[-1][2] == naive_mth(ENTRIES[:8])
    assert (reader.calls, reader.nodes) == (1, 3)  # the left siblings (0,6), (1,2), (2,0)
    reader = CountingReader(_build_store(ENTRIES[:8]))
    assert [(level, index) for level, index, _ in stored_hashes_for_append(8, b"x", reader)] == [(0, 8)]
    assert reader.calls == 0


def test_stored_hashes_equal_naive_roots_for_every_prefix() -> None:
    for size in range(MAX_N + 1):
        reader = CountingReader(STORE)
        assert tree_hash(size, reader) == PREFIX_ROOTS[size]
        assert reader.calls == (1 if size else 0)
        assert reader.nodes == bin(size).count("1")
    for size in (0, 1, 2, 3, 5, 8, 13, 64, 100, 255, 256, 257, 299):
        assert PREFIX_ROOTS[size] == naive_mth(ENTRIES[:size])


@PROPERTY_SETTINGS
@given(st.lists(st.binary(max_size=12), max_size=70))
def test_append_equals_the_definition_for_arbitrary_leaves(leaves: list[bytes]) -> None:
    store = MemoryHashStore()
    accumulator = RootAccumulator()
    for size, leaf in enumerate(leaves, start=1):
        rows = store.append(leaf)
        assert accumulator.append(leaf_hash(leaf)) == rows
        assert tree_hash(size, store.read_hashes) == accumulator.root() == naive_mth(leaves[:size])
    assert root_from_leaves([leaf_hash(leaf) for leaf in leaves]) == naive_mth(leaves)


@PROPERTY_SETTINGS
@given(st.integers(0, 200), st.lists(st.integers(0, 40), max_size=8))
def test_batch_append_equals_one_by_one(start: int, batch_sizes: list[int]) -> None:
    one_by_one = _build_store(ENTRIES[:start])
    batched = _build_store(ENTRIES[:start])
    all_rows = []
    n = start
    for count in batch_sizes:
        leaves = [b"batch %d" % i for i in range(n, n + count)]
        expected = [row for leaf in leaves for row in one_by_one.append(leaf)]
        reader = CountingReader(batched)
        rows = stored_hashes_for_append_many(n, leaves, reader)
        assert rows == expected
        assert reader.calls <= 1 and reader.nodes <= bin(n).count("1")
        batched.write(rows)
        batched.size = n = n + count
        all_rows.extend(rows)
    assert batched.read_hashes([(level, index) for level, index, _ in all_rows]) == [h for *_, h in all_rows]
    assert tree_hash(n, batched.read_hashes) == tree_hash(n, one_by_one.read_hashes)


def test_batch_append_reads_only_absorbed_subtrees() -> None:
    # Tree of 5 leaves = [0,4) + [4,5). Two more leaves complete (1, 2) from (0, 4) and the new
    # (0, 5), and nothing at level 3, so only (0, 4) is read, not (2, 0).
    reader = CountingReader(_build_store(ENTRIES[:5]))
    stored_hashes_for_append_many(5, ENTRIES[5:7], reader)
    assert (reader.calls, reader.nodes) == (1, 1)


def test_memory_store_rejects_rewrites_and_missing_nodes() -> None:
    store = _build_store(ENTRIES[:3])
    with pytest.raises(HashStoreError, match="already stored"):
        store.write([(0, 1, b"\x00" * 32)])
    with pytest.raises(HashStoreError, match="no stored hash"):
        tree_hash(4, store.read_hashes)


def test_a_reader_returning_the_wrong_count_is_a_storage_error() -> None:
    with pytest.raises(HashStoreError, match="returned 0 hashes for 2 nodes"):
        tree_hash(3, lambda nodes: [])
    with pytest.raises(HashStoreError, match="malformed hash"):
        tree_hash(1, lambda nodes: [b"short"])


# --- Proofs: properties over trees of 1..300 leaves ----------------------------------------


def _corrupted(proof: list[bytes]) -> list[list[bytes]]:
    """Every single-bit flip, a removed element, an extra element and a prepended element."""
    variants = []
    for i in range(len(proof)):
        flipped = list(proof)
        flipped[i] = bytes([flipped[i][0] ^ 0x08]) + flipped[i][1:]
        variants.append(flipped)
    if proof:
        variants.append(proof[:-1])
        variants.append(proof[1:])
    variants.append([*proof, EMPTY_ROOT])
    variants.append([EMPTY_ROOT, *proof])
    return variants


def _check_inclusion(index: int, size: int) -> None:
    reader = CountingReader(STORE)
    proof = inclusion_proof(index, size, reader)
    assert reader.calls <= 1 and reader.nodes <= 2 * size.bit_length()
    assert proof == naive_path(index, ENTRIES[:size])
    leaf, root = leaf_hash(ENTRIES[index]), PREFIX_ROOTS[size]
    verify_inclusion(leaf, index, size, proof, root)
    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash(b"changed"), index, size, proof, root)
    with pytest.raises(ProofError):
        verify_inclusion(leaf, index, size, proof, PREFIX_ROOTS[size - 1])
    for variant in _corrupted(proof):
        with pytest.raises(ProofError):
            verify_inclusion(leaf, index, size, variant, root)
    # The probes of Trillian's verifier tests: a wrong index or a wrong tree height.
    for other_index, other_size in ((index - 1, size), (index + 1, size), (index ^ 2, size)):
        with pytest.raises(ProofError):
            verify_inclusion(leaf, other_index, other_size, proof, root)
    for other_size in (size * 2, size // 2):
        with pytest.raises(ProofError):
            verify_inclusion(leaf, index, other_size, proof, root)


def _check_consistency(m: int, n: int) -> None:
    reader = CountingReader(STORE)
    proof = consistency_proof(m, n, reader)
    assert reader.calls <= 1 and reader.nodes <= 2 * n.bit_length()
    assert proof == (naive_subproof(m, ENTRIES[:n], True) if m else [])
    old, new = PREFIX_ROOTS[m], PREFIX_ROOTS[n]
    verify_consistency(m, n, proof, old, new)
    if m != n:
        with pytest.raises(ProofError):
            verify_consistency(m, n, proof, new, old)
    if m not in (0, n):  # the empty tree is a prefix of every tree, whatever its root
        with pytest.raises(ProofError):
            verify_consistency(m, n, proof, old, PREFIX_ROOTS[n - 1])
        with pytest.raises(ProofError):
            verify_consistency(m, n, proof, PREFIX_ROOTS[m - 1], new)
    for variant in _corrupted(proof):
        with pytest.raises(ProofError):
            verify_consistency(m, n, variant, old, new)
    if proof:  # a wrong old size or a wrong tree height
        for other_m, other_n in ((m - 1, n), (m + 1, n), (m ^ 2, n), (m, n * 2), (m, n // 2)):
            with pytest.raises(ProofError):
                verify_consistency(other_m, other_n, proof, old, new)


def test_every_proof_in_small_trees() -> None:
    for size in range(1, 33):
        for index in range(size):
            _check_inclusion(index, size)
        for m in range(size + 1):
            _check_consistency(m, size)


def test_proofs_at_every_size_up_to_300() -> None:
    for size in range(1, MAX_N + 1):
        for index in sorted({0, size // 3, size // 2, size - 1}):
            _check_inclusion(index, size)
        for m in sorted({0, 1, size // 2, size - 1, size}):
            _check_consistency(m, size)


@PROPERTY_SETTINGS
@given(st.data())
def test_inclusion_proofs_verify_and_detect_changes(data: st.DataObject) -> None:
    size = data.draw(st.integers(1, MAX_N), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    _check_inclusion(index, size)


@PROPERTY_SETTINGS
@given(st.data())
def test_consistency_proofs_verify_and_detect_changes(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, MAX_N), label="n")
    m = data.draw(st.integers(0, n), label="m")
    _check_consistency(m, n)


def test_consistency_edge_cases() -> None:
    root = PREFIX_ROOTS[5]
    verify_consistency(0, 5, [], EMPTY_ROOT, root)
    verify_consistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)
    verify_consistency(5, 5, [], root, root)
    with pytest.raises(ProofError, match="old root"):
        verify_consistency(0, 5, [], root, root)
    with pytest.raises(ProofError, match="must be empty"):
        verify_consistency(5, 5, [root], root, root)
    with pytest.raises(ProofError, match="old root"):
        verify_consistency(5, 5, [], PREFIX_ROOTS[4], root)
    with pytest.raises(ProofError, match="is empty"):
        verify_consistency(4, 5, [], PREFIX_ROOTS[4], root)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: inclusion_proof(5, 5, STORE.read_hashes), "not in a tree of size 5"),
        (lambda: inclusion_proof(0, 0, STORE.read_hashes), "not in a tree of size 0"),
        (lambda: inclusion_proof(-1, 5, STORE.read_hashes), "index must be a non-negative"),
        (lambda: consistency_proof(6, 5, STORE.read_hashes), "larger than new size"),
        (lambda: consistency_proof(-1, 5, STORE.read_hashes), "m must be a non-negative"),
        (lambda: tree_hash(-1, STORE.read_hashes), "size must be a non-negative"),
        (lambda: stored_hashes_for_append(-1, b"", STORE.read_hashes), "n must be a non-negative"),
        (lambda: verify_inclusion(EMPTY_ROOT, 3, 3, [], EMPTY_ROOT), "not in a tree of size 3"),
        (lambda: verify_inclusion(b"short", 0, 1, [], EMPTY_ROOT), "must be 32 bytes"),
        (lambda: verify_consistency(6, 5, [], EMPTY_ROOT, EMPTY_ROOT), "larger than new size"),
        (lambda: verify_consistency(1, 2, [b""], EMPTY_ROOT, EMPTY_ROOT), "must be 32 bytes"),
    ],
)
def test_invalid_arguments_raise_proof_error(call, message: str) -> None:
    with pytest.raises(ProofError, match=message):
        call()


def test_proof_error_is_a_value_error() -> None:
    assert issubclass(ProofError, ValueError)
