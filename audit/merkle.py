"""The Merkle tree of RFC 9162 §2.1, as pure functions over 32-byte hashes.

Leaf hash SHA-256(0x00 || data), interior node SHA-256(0x01 || left || right), the empty tree's
hash SHA-256(""). Proofs are built (§2.1.3.1, §2.1.4.1) from a ``Subtree`` callable that returns
the hash of a complete, aligned subtree, so the same code serves a list in memory and the
stored log (which keeps the hashes of complete subtrees, see audit.tree). Verification
(§2.1.3.2, §2.1.4.2) follows the RFC's algorithms step by step and needs nothing but the proof.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()

# (start, width) → the hash of leaves [start, start + width); width is a power of two and
# start a multiple of it.
Subtree = Callable[[int, int], bytes]


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """k: the largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def range_hash(start: int, end: int, subtree: Subtree) -> bytes:
    """MTH(D[start:end]) where start is aligned as every range the RFC's recursion visits is:
    a complete left subtree, then the hash of what remains to its right."""
    width = end - start
    if width == 0:
        return EMPTY_ROOT
    if width & (width - 1) == 0:
        return subtree(start, width)
    k = split_point(width)
    return node_hash(subtree(start, k), range_hash(start + k, end, subtree))


def inclusion_proof(index: int, size: int, subtree: Subtree) -> list[bytes]:
    """PATH(index, D[size]) (§2.1.3.1): sibling hashes from the leaf up to the root."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = split_point(end - start)
        if index < start + k:
            path.append(range_hash(start + k, end, subtree))
            end = start + k
        else:
            path.append(range_hash(start, start + k, subtree))
            start += k
    path.reverse()
    return path


def consistency_proof(old_size: int, size: int, subtree: Subtree) -> list[bytes]:
    """PROOF(old_size, D[size]) (§2.1.4.1); empty when the sizes are equal."""
    if not 0 < old_size <= size:
        raise ValueError(f"no consistency proof from {old_size} to {size}")
    proof: list[bytes] = []
    start, m, n, whole = 0, old_size, size, True
    while m != n:
        k = split_point(n)
        if m <= k:
            proof.append(range_hash(start + k, start + n, subtree))
            n = k
        else:
            proof.append(range_hash(start, start + k, subtree))
            start, m, n, whole = start + k, m - k, n - k, False
    if not whole:
        proof.append(range_hash(start, start + m, subtree))
    proof.reverse()
    return proof


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """§2.1.3.2: whether ``leaf`` is leaf ``index`` of the tree of ``size`` with ``root``."""
    if index >= size or index < 0:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, size: int, old_root: bytes, root: bytes, proof: Sequence[bytes]
) -> bool:
    """§2.1.4.2: whether the tree of ``size`` with ``root`` extends the one of ``old_size``.

    Equal sizes (outside the RFC's 0 < m < n) hold with an empty proof and equal roots."""
    if old_size == size:
        return old_size >= 0 and not proof and old_root == root
    if not 0 < old_size < size or not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == root and sn == 0


class Frontier:
    """The compact range [0, size): the roots of the complete subtrees the tree's leaves form
    so far, largest first. Appending is amortised one node hash a leaf and the root needs only
    these, so a tree can be extended (by the sequencer) or recomputed (by verification)
    without keeping its leaves. ``completed`` is called with (level, index, hash) for every
    complete subtree formed at a level it asks for (the stored tiles, see audit.tree)."""

    __slots__ = ("completed", "hashes", "levels", "size")

    def __init__(
        self,
        size: int = 0,
        hashes: Sequence[bytes] = (),
        completed: Callable[[int, int, bytes], None] | None = None,
        levels: frozenset[int] = frozenset(),
    ) -> None:
        if len(hashes) != size.bit_count():
            raise ValueError(f"a tree of {size} has {size.bit_count()} frontier hashes, not {len(hashes)}")
        self.size = size
        self.hashes = list(hashes)
        self.completed = completed
        self.levels = levels

    def append(self, leaf: bytes) -> None:
        hashes = self.hashes
        size = self.size
        level = 0
        while size & 1:
            leaf = node_hash(hashes.pop(), leaf)
            size >>= 1
            level += 1
            if level in self.levels and self.completed is not None:
                self.completed(level, self.size >> level, leaf)
        hashes.append(leaf)
        self.size += 1

    def extend(self, leaves: Sequence[bytes]) -> None:
        """Append many leaves at once, as ``append`` one by one would, but faster: the leaves
        are cut into the largest aligned complete subtrees they form, each hashed level by
        level in one list at a time, then joined to the frontier (verification's hot loop)."""
        done, count = 0, len(leaves)
        while done < count:
            size = self.size
            width = size & -size if size else 1 << 62
            while width > count - done:
                width >>= 1
            level = width.bit_length() - 1
            self._join(self._block(leaves[done : done + width], size), level)
            done += width

    def _block(self, nodes: Sequence[bytes], start: int) -> bytes:
        sha256 = hashlib.sha256
        level = 0
        while len(nodes) > 1:
            pairs = iter(nodes)
            nodes = [
                sha256(b"\x01" + left + right).digest() for left, right in zip(pairs, pairs, strict=True)
            ]
            level += 1
            if level in self.levels and self.completed is not None:
                first = start >> level
                for offset, digest in enumerate(nodes):
                    self.completed(level, first + offset, digest)
        return nodes[0]

    def _join(self, digest: bytes, level: int) -> None:
        """Append the root of the complete subtree of 2**level leaves that starts at ``size``."""
        hashes = self.hashes
        before = self.size
        size = before >> level
        top = level
        while size & 1:
            digest = node_hash(hashes.pop(), digest)
            size >>= 1
            top += 1
            if top in self.levels and self.completed is not None:
                self.completed(top, before >> top, digest)
        hashes.append(digest)
        self.size = before + (1 << level)

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        acc = self.hashes[-1]
        for h in reversed(self.hashes[:-1]):
            acc = node_hash(h, acc)
        return acc


def memory_subtree(leaves: Sequence[bytes]) -> Subtree:
    """A ``Subtree`` over leaf hashes held in memory (tests, and small ranges)."""

    def subtree(start: int, width: int) -> bytes:
        level = list(leaves[start : start + width])
        while len(level) > 1:
            level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
        return level[0]

    return subtree


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH of the given leaf hashes."""
    return range_hash(0, len(leaves), memory_subtree(leaves))
