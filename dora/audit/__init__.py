"""Append-only, hash-chained audit store for workflow events (DORA Art. 9, 12, 17).

* :mod:`dora.audit.store`: the store (records, chain head, outbox, legal holds, purge).
* :mod:`dora.audit.canonical`: the canonical JSON encoding and the record hash.
* :mod:`dora.audit.verify`: walks a chain and locates the first edit/deletion/insertion/
  reordering; :mod:`dora.audit.export` does the same for an exported JSON Lines file.
* :mod:`dora.audit.blocking`: a synchronous face for Prefect hooks and the CLI.

A supervisor can check an export with nothing but Python's standard library::

    import hashlib, json
    prev = None
    for line in open("export.jsonl", encoding="utf-8"):
        rec = json.loads(line)
        body = {k: v for k, v in rec.items() if k != "hash"}
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert hashlib.sha256(text.encode("utf-8")).hexdigest() == rec["hash"], rec["seq"]
        assert prev is None or rec["prev_hash"] == prev, rec["seq"]  # first: the anchor
        prev = rec["hash"]
"""
