"""trustledger ledger core: pure functions on bytes, no I/O."""
