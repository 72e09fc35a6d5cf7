"""Evidence custody: the pure domain core (hashing, ledger, Merkle proofs, checkpoints, policy)."""
