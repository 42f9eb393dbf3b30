"""Serving the log: ``serve`` (the HTTP service) and ``tiles publish`` (the read API as
static files).

Registered on ``main`` when ``trustledger_cli.root`` loads one of them.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import click

from trustledger.app import Ledger
from trustledger.app.tiles import publish_tiles
from trustledger.storage import open_store
from trustledger_cli.common import (
    Group,
    count,
    db_option,
    emit_json,
    json_option,
    note,
    signing_key,
)
from trustledger_cli.root import main
from trustledger_server.app import Service
from trustledger_server.process import parse_listen, read_tokens, run


@main.command()
@db_option
@click.option(
    "--log-key",
    "log_key",
    metavar="LOG.key",
    help="The log key, for the routes that sign checkpoints (the read API never signs).",
)
@click.option(
    "--listen",
    default="127.0.0.1:8080",
    show_default=True,
    metavar="HOST:PORT",
    help="Address to listen on (plain HTTP: put TLS in front, docs/OPERATIONS.md).",
)
@click.option(
    "--append-token-file",
    "token_file",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Bearer tokens allowed to post decisions, one a line (without it, appends are refused).",
)
@click.option(
    "--max-request-bytes",
    type=click.IntRange(min=1),
    default=Service.max_request_bytes,
    show_default=True,
    help="Largest request body accepted (413 beyond).",
)
@click.option(
    "--max-batch",
    type=click.IntRange(min=1),
    default=Service.max_batch,
    show_default=True,
    help="Most decisions in one append request (413 beyond).",
)
def serve(
    db: str,
    log_key: str | None,
    listen: str,
    token_file: str | None,
    max_request_bytes: int,
    max_batch: int,
) -> None:
    """Serve the log over HTTP: the C2SP tlog-tiles read API (/checkpoint, /tile/...),
    the append API and standings.

    Reads need no credential; appends need a bearer token of --append-token-file. The
    served checkpoint is the latest one signed (`trustledger checkpoint`), with its
    cosignatures. Stops on Ctrl-C or SIGTERM, finishing the requests in flight.

    \b
    Example:
      trustledger serve --db sqlite:///ledger.db --listen 127.0.0.1:8080
    """
    host, port = parse_listen(listen)
    service = Service(
        url=db,
        log_key=signing_key(log_key) if log_key else None,
        append_tokens=read_tokens(Path(token_file)) if token_file else frozenset(),
        max_request_bytes=max_request_bytes,
        max_batch=max_batch,
    )
    store = open_store(db, read_only=True)  # for its URL as shown (a password redacted)
    shown = store.url
    store.close()
    note(f"serving {shown} on http://{listen}/ (checkpoint, tile/...)")
    run(service, host, port)


@main.group(cls=Group)
def tiles() -> None:
    """The log's C2SP tlog-tiles, as static files.

    \b
    Example:
      trustledger tiles publish --out site/
    """


@tiles.command("publish")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Directory to publish into (created if missing; the same one each run).",
)
@db_option
@json_option
def tiles_publish(out_dir: str, db: str, as_json: bool) -> None:
    """Write the read API (checkpoint, tile/<L>/<N>[.p/<W>], tile/entries/...) under
    --out for a static web server, CDN or object store; only what changed since the
    last run into the same directory.

    The checkpoint is the latest signed one with its cosignatures, written after every
    tile it needs. Exit 1 when the directory holds a tree this log does not extend.

    \b
    Example:
      trustledger tiles publish --out site/ --db sqlite:///ledger.db
    """
    with Ledger.open(db, read_only=True) as ledger:
        report = publish_tiles(ledger.store, Path(out_dir))
    if as_json:
        emit_json(asdict(report))
        return
    checkpoint = "and the checkpoint" if report.checkpoint_written else "(checkpoint unchanged)"
    click.echo(
        f"published size {report.size} (was {report.previous_size}) to {report.out_dir}: "
        f"{count(report.tiles, 'tile')} {checkpoint}, {count(report.files, 'file')}, "
        f"{report.bytes:,} bytes"
    )
