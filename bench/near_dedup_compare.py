#!/usr/bin/env python3
"""Near-duplicate removal: CodeParrot's method with datasketch, compared with parrot's.

Runs CodeParrot's minhash_deduplication.py method, single process, on a JSONL of documents
(fields repo_name, path, content; .jsonl or .jsonl.gz), timing it:
  - tokens: the set of non-empty pieces of re.split("[^A-Za-z_0-9]", content); documents
    with fewer than 10 distinct tokens are left out;
  - MinHash(num_perm=256) per document, updated token by token as CodeParrot does;
  - clusters as CodeParrot's DuplicationIndex forms them: MinHashLSH(threshold, 256), each
    document queried then inserted; it joins the cluster of the first close duplicate that
    is a cluster base, else starts a cluster under its first close duplicate;
  - find_extremes: each cluster walked in order, a member kept if its exact Jaccard with
    every kept member is below the threshold; removed = clustered documents never kept.
Keys are document indexes (CodeParrot used (index, repo_name, path) tuples, whose set order
changes with PYTHONHASHSEED; integer keys make the run reproducible).

It writes the documents it would remove (--out, JSONL of repo_name/path/index). Given the
documents parrot KEPT after near dedup (--kept: `parrot corpus cat` of a build with near
dedup, the input being `parrot corpus cat` of the same build without it) it prints the
removed counts of each, both, only one, the agreement (Jaccard of the removed sets) and the
seconds of each (parrot's from --parrot-seconds or from --manifest's near-dedup time).

    build/venv/bin/python bench/near_dedup_compare.py docs.jsonl --kept kept.jsonl \\
        --manifest out/manifest.json --out removed_datasketch.jsonl

--scheme legacy (default) is the MinHash of datasketch before 2.0, the one CodeParrot ran
and parrot's default; --scheme affine32 is datasketch 2.0's default MinHash().
"""
import argparse
import collections
import gzip
import hashlib
import json
import re
import sys
import time

from datasketch import MinHash, MinHashLSH

NON_ALPHA = re.compile("[^A-Za-z_0-9]")


def read_jsonl(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def doc_key(d):
    """A document's identity across the two runs: name and content."""
    content = d.get("content") or ""
    h = hashlib.sha1(content.encode("utf-8", "surrogatepass")).hexdigest()
    return (d.get("repo_name") or "", d.get("path") or "", h)


def get_tokens(code):
    return {t for t in NON_ALPHA.split(code) if len(t.strip()) > 0}


def get_min_hash(tokens, num_perm, scheme, min_tokens):
    if len(tokens) < min_tokens:
        return None
    m = MinHash(num_perm=num_perm, scheme=scheme)
    for token in tokens:
        m.update(token.encode())
    return m


def jaccard(t1, t2):
    return len(t1 & t2) / len(t1 | t2)


class DuplicationIndex:
    """CodeParrot's cluster formation over an LSH index."""

    def __init__(self, threshold, num_perm):
        self.index = MinHashLSH(threshold=threshold, num_perm=num_perm)
        self.clusters = collections.defaultdict(set)
        self.edges = []  # every candidate pair the LSH reported, for the components rule

    def add(self, key, min_hash):
        close = self.index.query(min_hash)
        if key in self.index.keys:
            return
        self.index.insert(key, min_hash)
        self.edges.extend((key, c) for c in close)
        if close:
            for base in close:
                if base in self.clusters:
                    self.clusters[base].add(key)
                    break
            else:
                self.clusters[close[0]].add(key)

    def get_clusters(self):
        return [[base] + list(dups) for base, dups in self.clusters.items()]


def datasketch_removed(docs, threshold, num_perm, scheme, min_tokens):
    t0 = time.perf_counter()
    index = DuplicationIndex(threshold, num_perm)
    for i, d in enumerate(docs):
        mh = get_min_hash(get_tokens(d["content"] or ""), num_perm, scheme, min_tokens)
        if mh is not None:
            index.add(i, mh)
    t_index = time.perf_counter() - t0
    greedy = reduce_clusters(docs, index.get_clusters(), threshold)
    components = reduce_clusters(docs, connected_components(index.edges), threshold)
    return greedy, components, {"minhash_lsh_seconds": t_index, "seconds": time.perf_counter() - t0}


def connected_components(edges):
    """Clusters as BigCode (and parrot) form them: connected components of the candidate
    pairs, members in document order."""
    parent = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups = collections.defaultdict(list)
    for x in parent:
        groups[find(x)].append(x)
    return [sorted(g) for g in groups.values() if len(g) > 1]


def reduce_clusters(docs, clusters, threshold):
    """CodeParrot's find_extremes: walking a cluster, a member is kept unless its exact
    Jaccard with a member kept before is >= threshold. Returns (removed, clusters, members)."""
    in_clusters = {x for c in clusters for x in c}
    extremes = set()
    for cluster in clusters:
        kept = []
        for el in cluster:
            tok = get_tokens(docs[el]["content"] or "")
            for _, ktok in kept:
                if jaccard(tok, ktok) >= threshold:
                    break
            else:
                kept.append((el, tok))
        extremes.update(el for el, _ in kept)
    return in_clusters - extremes, len(clusters), len(in_clusters)


def parrot_seconds(args):
    if args.parrot_seconds is not None:
        return args.parrot_seconds
    if args.manifest:
        with open(args.manifest) as f:
            m = json.load(f)
        for path in (("resources", "near_dedup_seconds"), ("near_dedup", "seconds")):
            v = m
            for k in path:
                v = v.get(k) if isinstance(v, dict) else None
            if isinstance(v, (int, float)):
                return float(v)
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("input", help="JSONL(.gz) of documents: repo_name, path, content")
    ap.add_argument("--kept", help="JSONL(.gz) of the documents parrot kept after near dedup")
    ap.add_argument("--out", help="write the documents datasketch's method removes here (JSONL)")
    ap.add_argument("--parrot-seconds", type=float, help="parrot's near-dedup seconds")
    ap.add_argument("--manifest", help="parrot's build manifest (near-dedup seconds read from it)")
    ap.add_argument("--threshold", type=float, default=0.85)
    ap.add_argument("--num-perm", type=int, default=256)
    ap.add_argument("--min-tokens", type=int, default=10)
    ap.add_argument("--scheme", choices=("legacy", "affine32"), default="legacy")
    args = ap.parse_args()

    docs = list(read_jsonl(args.input))
    nbytes = sum(len((d.get("content") or "").encode("utf-8", "surrogatepass")) for d in docs)
    greedy, comps, st = datasketch_removed(docs, args.threshold, args.num_perm, args.scheme, args.min_tokens)
    removed = greedy[0]
    print("input: %d documents, %.1f MB" % (len(docs), nbytes / 1e6))
    print("datasketch (CodeParrot's method, %s MinHash, single process): %d clusters holding %d documents, "
          "%d removed, %.2f s (MinHash+LSH %.2f s, %.2f MB/s)"
          % (args.scheme, greedy[1], greedy[2], len(removed), st["seconds"],
             st["minhash_lsh_seconds"], nbytes / 1e6 / st["seconds"]))
    if args.out:
        with open(args.out, "w") as f:
            for i in sorted(removed):
                f.write(json.dumps({"index": i, "repo_name": docs[i].get("repo_name"), "path": docs[i].get("path")}) + "\n")
    if not args.kept:
        return 0

    keys = [doc_key(d) for d in docs]
    kept = collections.Counter(doc_key(d) for d in read_jsonl(args.kept))
    # input documents not among the kept ones (as a multiset) were removed by parrot
    parrot = set()
    for i, k in enumerate(keys):
        if kept[k] > 0:
            kept[k] -= 1
        else:
            parrot.add(i)
    extra = sum(v for v in kept.values() if v > 0)
    if extra:
        print("warning: %d kept documents are not in the input" % extra, file=sys.stderr)
    for label, (rem, ncl, nin) in (("CodeParrot's greedy clusters", greedy),
                                   ("connected components (BigCode's, parrot's rule)", comps)):
        both, union = rem & parrot, rem | parrot
        print("datasketch LSH + %s: %d clusters, %d documents in them" % (label, ncl, nin))
        print("  removed by datasketch %d, by parrot %d, by both %d, only datasketch %d, only parrot %d;"
              " agreement (Jaccard of the removed sets) %.4f"
              % (len(rem), len(parrot), len(both), len(rem - parrot), len(parrot - rem),
                 len(both) / len(union) if union else 1.0))
    ps = parrot_seconds(args)
    print("seconds: datasketch %.2f, parrot %s" % (st["seconds"], "%.2f" % ps if ps is not None else "(not given)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
