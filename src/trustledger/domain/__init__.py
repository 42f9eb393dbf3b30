"""trustledger domain: decision documents, their events and the rules of docs/DECISIONS.md."""
