"""Commands over the standings projection: ``projections``, ``standing``, ``report``, ``rules``.

Registered on ``main`` when ``trustledger_cli.root`` loads one of them.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from trustledger.app import Ledger
from trustledger.app.files import write_file
from trustledger.domain.timefmt import format_timestamp, parse_timestamp
from trustledger.errors import InvalidDecision, NotFound, UsageError
from trustledger.storage import open_store
from trustledger_cli.common import (
    Group,
    db_option,
    detail,
    emit_json,
    json_option,
    note,
    show_progress,
    signing_key,
)
from trustledger_cli.root import main
from trustledger_projections.projection import DEFAULT_BATCH, CatchUp, catch_up, follow, rebuild
from trustledger_projections.queries import (
    DEFAULT_PANELS,
    Answer,
    actions_page,
    report_actions,
    report_standings,
    rules_in_force,
    standing_of,
    standings_page,
)

as_of_option = click.option(
    "--as-of",
    "as_of",
    metavar="TIME",
    help="RFC 3339 UTC time to judge at, e.g. 2026-12-01T00:00:00Z (default: now).",
)
at_position_option = click.option(
    "--at-position",
    "at_position",
    type=click.IntRange(min=0),
    metavar="N",
    help="Replay the ledger's entries 0..N from the log instead of reading the view.",
)
batch_option = click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=DEFAULT_BATCH,
    show_default=True,
    help="Events applied per transaction.",
)


def _as_of(value: str | None) -> datetime:
    # The only wall clock of the standings: the CLI's default for --as-of.
    if value is None:
        return datetime.now(UTC)
    try:
        return parse_timestamp(value, field="--as-of")
    except InvalidDecision as exc:
        raise UsageError(str(exc)) from exc


def _behind(entries: int) -> None:
    if entries:
        note(
            f"note: the standings view is {entries} notification(s) behind the ledger; run "
            "`trustledger projections catch-up`"
        )


# -- projections ------------------------------------------------------------------------------
@main.group(cls=Group)
def projections() -> None:
    """Build and keep up the standings view (read model) from the ledger's events.

    \b
    Example:
      trustledger projections rebuild
      trustledger projections catch-up
    """


def _run(kind: str, db: str, batch_size: int, as_json: bool) -> None:
    store = open_store(db)
    try:
        if not store.exists():
            store.close()
            raise NotFound(f"no ledger at {store.url}: run `trustledger init` first")
        chain_head = store.chain_head()
        head = chain_head.notification_id if chain_head is not None else 0
        show_bar = show_progress(as_json)
        with click.progressbar(
            length=max(head, 1), label=kind, file=sys.stderr if show_bar else io.StringIO()
        ) as bar:
            done = 0

            def progress(position: int, _head: int) -> None:
                nonlocal done
                bar.update(position - done)
                done = position
                detail(f"applied up to notification {position} of {_head}")

            run = rebuild if kind == "rebuilding" else catch_up
            result = run(store, batch_size=batch_size, progress=progress)
    finally:
        store.close()
    _report(result, as_json)


def _report(result: CatchUp, as_json: bool) -> None:
    if result.rebuilt_from_format is not None:
        note(
            f"note: the standings view held facts of format {result.rebuilt_from_format}, "
            f"written by an older trustledger: it was emptied and rebuilt from the start"
        )
    if as_json:
        emit_json({"applied": result.applied, "position": result.position, "head": result.head})
    else:
        note(f"applied {result.applied} event(s); the view is at notification {result.position}")


@projections.command("rebuild")
@batch_option
@db_option
@json_option
def projections_rebuild(batch_size: int, db: str, as_json: bool) -> None:
    """Empty the standings view and rebuild it from position 0, with a progress bar.

    Each batch commits with its tracking record; if interrupted, `projections catch-up`
    continues from the last committed batch.

    \b
    Example:
      trustledger projections rebuild --db sqlite:///ledger.db
    """
    _run("rebuilding", db, batch_size, as_json)


@projections.command("catch-up")
@batch_option
@db_option
@json_option
def projections_catch_up(batch_size: int, db: str, as_json: bool) -> None:
    """Apply only what was appended since the view's last position; safe to repeat.

    \b
    Example:
      trustledger projections catch-up
    """
    _run("catching up", db, batch_size, as_json)


@projections.command("follow")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.05),
    default=1.0,
    show_default=True,
    help="Seconds between polls of the ledger.",
)
@batch_option
@db_option
def projections_follow(interval: float, batch_size: int, db: str) -> None:
    """Keep the standings view up to date as decisions arrive (Ctrl-C to stop).

    \b
    Example:
      trustledger projections follow --interval 0.5
    """
    store = open_store(db)
    if not store.exists():  # follow retries an unreachable store: a missing one is an error
        store.close()
        raise NotFound(f"no ledger at {store.url}: run `trustledger init` first")

    def on_catch_up(result: CatchUp) -> None:
        if result.applied:
            note(f"applied {result.applied} event(s); at notification {result.position}")

    try:
        follow(store, interval=interval, batch_size=batch_size, on_catch_up=on_catch_up)
    except KeyboardInterrupt:
        note("stopped")
    finally:
        store.close()


# -- standing ---------------------------------------------------------------------------------
@main.command()
@click.argument("shop_id")
@as_of_option
@at_position_option
@db_option
@json_option
def standing(
    shop_id: str, as_of: str | None, at_position: int | None, db: str, as_json: bool
) -> None:
    """Show one shop's standing (docs/DECISIONS.md) as of a time, from the standings view.

    With --at-position N the standing is replayed from the ledger's entries 0..N instead.
    Exit 3 when the shop was not registered by then or the view is not built.

    \b
    Example:
      trustledger standing shop-10086 --as-of 2026-12-01T00:00:00Z --json
    """
    at = _as_of(as_of)
    answer = standing_of(db, shop_id, at=at, at_position=at_position)
    _behind(answer.behind)
    value = answer.value
    if as_json:
        emit_json({"as_of": format_timestamp(at), **value})
        return
    click.echo(f"{value['shop_id']}: {value['status']} as of {format_timestamp(at)}")
    click.echo(f"  points {value['points']} (tier {value['points_tier']})")
    eligible = value["trust_purchase_eligible"]
    reasons = "" if eligible else f" ({', '.join(value['ineligible_reasons'])})"
    click.echo(f"  trust purchase eligible: {'yes' if eligible else 'no'}{reasons}")
    programme = value["programme"]
    click.echo(
        f"  programme: {'enrolled' if programme['enrolled'] else 'not enrolled'}"
        f"{', badge' if programme['badge'] else ''}"
    )
    for action in value["required_actions"]:
        days = f" {action['suspend_days']} days" if action["suspend_days"] else ""
        click.echo(
            f"  required action: {action['measure']}{days} (tier {action['tier']} reached "
            f"{action['reached_at']})"
        )
    deposit = value["deposit"]
    click.echo(
        f"  deposit: balance {deposit['balance']} fen (paid {deposit['paid']}, deducted "
        f"{deposit['deducted']}, restored {deposit['restored']}, refunded "
        f"{deposit['refunded']}, paid out {deposit['paid_out']})"
    )
    click.echo(f"  warnings: {value['warnings']}")
    for measure in value["active_measures"]:
        extra = "".join(
            f" {key} {measure[key]}" for key in ("product_id", "until") if key in measure
        )
        click.echo(f"  measure {measure['type']} (penalty {measure['penalty_id']}){extra}")
    for name in ("complaints", "penalties", "appeals", "remedies", "overdue"):
        counts = ", ".join(f"{k} {v}" for k, v in value[name].items())
        click.echo(f"  {name}: {counts}")
    for item in value["verifications"]:
        click.echo(
            f"  verification {item['verification_id']} {item['kind']}: {item['status']}"
            f"{' (valid)' if item['valid'] else ''}"
        )
    click.echo(f"  rule set {value['rule_set']}")


# -- report -----------------------------------------------------------------------------------
@main.group(cls=Group)
def report() -> None:
    """Reports built from the standings view.

    \b
    Example:
      trustledger report standings --format csv --out standings.csv
    """


panels_option = click.option(
    "--panels",
    "max_panels",
    type=click.IntRange(min=0),
    default=DEFAULT_PANELS,
    show_default=True,
    metavar="N",
    help="html: show the decisions of at most N shops needing attention (0: none).",
)


def _write(data: bytes, out: str | None, what: str) -> None:
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    # Whole or not at all: a full disk is exit 5 and leaves no 0-byte file.
    write_file(Path(out), data)
    note(f"wrote {out} ({what})")


def report_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options both reports take: --format, --as-of, --at-position, --out."""
    for option in reversed(
        (
            click.option(
                "--format",
                "fmt",
                type=click.Choice(["json", "csv", "html"]),
                default="json",
                show_default=True,
                help="json (RFC 8785 canonical), csv, or a self-contained html page.",
            ),
            as_of_option,
            at_position_option,
            click.option(
                "--out", "out", type=click.Path(dir_okay=False), help="Write to FILE, not stdout."
            ),
        )
    ):
        command = option(command)
    return command


@report.command("standings")
@report_options
@click.option(
    "--digest",
    is_flag=True,
    help="Print only the SHA-256 of the canonical JSON report (what auditors compare).",
)
@panels_option
@db_option
def report_standings_command(
    fmt: str,
    as_of: str | None,
    at_position: int | None,
    out: str | None,
    digest: bool,
    max_panels: int,
    db: str,
) -> None:
    """Every shop's standing as of a time: JSON, CSV or HTML, or just its digest.

    The JSON is RFC 8785 canonical JSON; --digest prints SHA-256 over exactly those bytes,
    so two parties holding the same ledger get the same digest (docs/PROJECTIONS.md). The
    HTML page adds its provenance (ledger size, head, latest checkpoint, digest), sortable
    and filterable tables, trends per month and the decisions of the shops needing
    attention.

    \b
    Example:
      trustledger report standings --format html --as-of 2026-12-01T00:00:00Z --out s.html
      trustledger report standings --as-of 2026-12-01T00:00:00Z --digest
    """
    from trustledger_projections.report import format_csv

    at = _as_of(as_of)
    _render_report(
        fmt,
        digest,
        out,
        page=lambda: standings_page(db, at=at, at_position=at_position, max_panels=max_panels),
        report=lambda: report_standings(db, at=at, at_position=at_position),
        to_csv=format_csv,
        listed=lambda document: f"{len(document['shops'])} shops",
    )


@report.command("actions")
@report_options
@click.option(
    "--digest",
    is_flag=True,
    help="Print only the SHA-256 of the canonical JSON work queue.",
)
@panels_option
@db_option
def report_actions_command(
    fmt: str,
    as_of: str | None,
    at_position: int | None,
    out: str | None,
    digest: bool,
    max_panels: int,
    db: str,
) -> None:
    """The work queue as of a time: every item a shop must act on, most urgent first.

    One row per item (a measure a points tier requires, a complaint or appeal past its
    deadline, a remedy overdue or owed) with the shop, when it was due, the amount owed and
    the decision ids it comes from. Overdue items come first (longest overdue first), then
    required measures (highest tier first), then remedies owed (earliest due first); ties
    by shop (docs/PROJECTIONS.md). JSON, CSV, HTML or the digest, as `report standings`.

    \b
    Example:
      trustledger report actions --as-of 2026-12-01T00:00:00Z --format csv --out queue.csv
      trustledger report actions --format html --out queue.html
    """
    from trustledger_projections.actions import format_actions_csv

    at = _as_of(as_of)
    _render_report(
        fmt,
        digest,
        out,
        page=lambda: actions_page(db, at=at, at_position=at_position, max_panels=max_panels),
        report=lambda: report_actions(db, at=at, at_position=at_position),
        to_csv=format_actions_csv,
        listed=lambda document: f"{len(document['items'])} items",
    )


def _render_report(
    fmt: str,
    digest: bool,
    out: str | None,
    *,
    page: Callable[[], Answer],
    report: Callable[[], Answer],
    to_csv: Callable[[dict[str, Any]], str],
    listed: Callable[[dict[str, Any]], str],
) -> None:
    """What a report command writes: the HTML ``page``, or the ``report``'s document as
    canonical JSON, as CSV (``to_csv``) or as the digest of its canonical JSON; ``listed``
    says what a file written holds."""
    from trustledger_projections.report import format_json, report_digest

    if fmt == "html" and not digest:
        answer = page()
        _behind(answer.behind)
        _write(answer.value.text.encode("utf-8"), out, answer.value.listed)
        return
    answer = report()
    _behind(answer.behind)
    document = answer.value.document
    if digest:
        data = (report_digest(document) + "\n").encode()
    elif fmt == "json":
        data = format_json(document) + b"\n"
    else:
        data = to_csv(document).encode("utf-8")
    _write(data, out, listed(document))


# -- rules ------------------------------------------------------------------------------------
@main.group(cls=Group)
def rules() -> None:
    """Show and publish the versioned rule set (docs/DECISIONS.md's (rule) numbers).

    \b
    Example:
      trustledger rules show
      trustledger rules publish rules.toml --by keys/root.key
    """


@rules.command("show")
@as_of_option
@db_option
@json_option
def rules_show(as_of: str | None, db: str, as_json: bool) -> None:
    """Print the rule set in force (TOML exactly as published, or the defaults).

    \b
    Example:
      trustledger rules show --as-of 2027-01-01T00:00:00Z
    """
    published = rules_in_force(db, at=_as_of(as_of))
    if as_json:
        emit_json(
            {
                "version": published.rules.version,
                "effective_from": format_timestamp(published.effective_from),
                "sha256": published.sha256,
                "toml": published.toml,
            }
        )
    else:
        click.echo(published.toml, nl=not published.toml.endswith("\n"))


@rules.command("publish")
@click.argument("toml_file", metavar="RULES.toml", type=click.Path(dir_okay=False))
@click.option("--by", "by", required=True, metavar="ROOT.key", help="The root key file.")
@click.option("--actor", help="Who authorised the rule set (recorded).")
@db_option
@json_option
def rules_publish(toml_file: str, by: str, actor: str | None, db: str, as_json: bool) -> None:
    """Publish a rule set: a root-signed event carrying the TOML and its SHA-256.

    Decisions that occur from its effective_from on are judged by it; effective_from may
    not lie in the past.

    \b
    Example:
      trustledger rules publish rules.toml --by keys/root.key
    """
    try:
        text = Path(toml_file).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {toml_file}: {exc.strerror}") from exc
    key = signing_key(by)
    with Ledger.open(db) as ledger:
        published = ledger.publish_rules(text, by=key, actor=actor)
    body = {
        "version": published.rules.version,
        "effective_from": format_timestamp(published.effective_from),
        "sha256": published.sha256,
    }
    if as_json:
        emit_json(body)
    else:
        click.echo(
            f"published rule set {body['version']} (sha256 {body['sha256']}), in force from "
            f"{body['effective_from']}"
        )
