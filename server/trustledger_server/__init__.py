"""trustledger over HTTP: the read API of C2SP tlog-tiles, the append API, standings, and a
C2SP tlog-witness server (docs/OPERATIONS.md). An ASGI application (Starlette) served by
uvicorn; it opens the store, calls one library function per request and renders, as the
CLI does."""
