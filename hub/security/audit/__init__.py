"""The audit trail: every state change, decision and operator action in one SM3 hash chain.

The chain covers three tables, each row written in the transaction that made its change:
`request_events` (every application move with its reason and the message that caused it, the
receivable's move on the same row: the flow's decisions, by "system"), `lifecycle_events` (the
limit reservation's and the registration's moves) and `audit_actions` (an operator's action,
who and why: `record_action`). Business transactions write those rows as they always did and
never touch the chain, so none of them waits for another's hash.

A sealer appends the new rows afterwards, in id order per table (merged by time), to
`audit_chain`: each entry names its row and carries the previous entry's hash and its own,
SM3(previous hash || the row's canonical bytes). `audit_head`, one row, holds the last seq and
hash and, per table, the id up to which every row is sealed; sealers lock it (FOR UPDATE;
SQLite has one writer), so the hubs' background `Sealer`s and `factorhub audit seal` make one
chain. PostgreSQL hands out ids before commit, so a lower id can become visible after a higher
one: there a sealer seals up to the ids it saw only once every transaction that might still
write below them has ended (`pg_current_snapshot`), a few rounds later.

`verify` recomputes every entry from its row (`Flaw` lists what it finds); `sealed` reads the
chain back for a report (`factorhub audit export`). The canonical bytes are the JSON array of
the table's source name and the columns in `_SOURCES`, in that order, `at` in ISO 8601 UTC: a
column added to a table later is not sealed until a new source says so, and old entries keep
verifying.

The package: `entries` (the sealed sources, their canonical bytes, `record_action`), `sealer`
(`Sealer`, `seal_now`) and `verify` (`verify`, `sealed`, `chain_head`).
"""

# `as` re-exports: private names the chain tests reach into, kept importable from here
from hub.security.audit.entries import _BY_NAME as _BY_NAME
from hub.security.audit.entries import GENESIS, operator_name, record_action
from hub.security.audit.entries import _canonical as _canonical
from hub.security.audit.entries import _iso as _iso
from hub.security.audit.sealer import AuditError, Sealer, seal_now
from hub.security.audit.verify import (
    ChainHead,
    Finding,
    Flaw,
    Sealed,
    Verdict,
    chain_head,
    sealed,
    verify,
)

__all__ = [
    "GENESIS",
    "AuditError",
    "ChainHead",
    "Finding",
    "Flaw",
    "Sealed",
    "Sealer",
    "Verdict",
    "chain_head",
    "operator_name",
    "record_action",
    "seal_now",
    "sealed",
    "verify",
]
