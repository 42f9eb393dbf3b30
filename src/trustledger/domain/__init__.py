"""trustledger domain: decision documents, their events and the rules of DOMAIN.md."""
