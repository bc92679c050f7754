"""`groupops content …`: plan content from scripts and spreadsheets (issue 11).

add · list · show · move · cancel · export · import. The same `ContentService` as the private
chat's commands; the running bot publishes what is due (this command sends nothing). Times are
the group's wall time, as in `/schedule`.

`export --chat ID > plan.csv` writes the items not yet done with; `import plan.csv [--dry-run]`
validates every line first, prints the changes (a diff) and applies them all in one transaction,
or, if any line is bad, changes nothing and names each bad line with its reason.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path
from typing import Any, cast

from bot import preflight
from bot.clock import SystemClock
from bot.config import Settings
from bot.domain.content import ContentKind, StepRefused, WhenError
from bot.experiment_stats import compare
from bot.recurrence import next_run
from bot.services.content import PLAN_COLUMNS, ContentError, ContentService, PlanRow


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add a post and schedule it")
    add.add_argument("--chat", type=int, required=True, help="the group's id")
    add.add_argument("--at", help="when: 'tomorrow 20:00', '2026-12-24 08:00'")
    add.add_argument("--every", help="a recurrence: 'mon,thu 20:00', 'daily 08:00'")
    add.add_argument("--text", required=True)
    add.add_argument("--title", default=None)
    add.add_argument("--kind", choices=[k.value for k in ContentKind], default="organic")
    listing = actions.add_parser("list", help="a group's items")
    listing.add_argument("--chat", type=int, required=True)
    show = actions.add_parser("show", help="one item: its plan, history and posts")
    show.add_argument("item", type=int)
    move = actions.add_parser("move", help="a new time for an item")
    move.add_argument("item", type=int)
    move.add_argument("when")
    cancel = actions.add_parser("cancel", help="cancel an item")
    cancel.add_argument("item", type=int)
    export = actions.add_parser("export", help="a group's plan as CSV, on standard output")
    export.add_argument("--chat", type=int, required=True)
    imp = actions.add_parser("import", help="apply a plan CSV: all lines or none")
    imp.add_argument("file", help="the CSV file (- for standard input)")
    imp.add_argument("--dry-run", action="store_true", help="show the changes, make none")


async def run_content(settings: Settings, args: argparse.Namespace) -> int:
    """Run one `content` action; the exit code (2 for a refused input)."""
    from storage.engine import create_engine, session_factory
    from storage.uow import SqlUnitOfWorkFactory

    await preflight.check_database(settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        service = _service(SqlUnitOfWorkFactory(session_factory(engine)), settings)
        try:
            return await _act(service, args)
        except (ContentError, WhenError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        except StepRefused as refused:
            print(f"error: {refused.refusal.reason}", file=sys.stderr)
            return 2
    finally:
        await engine.dispose()


def _service(uow_factory: Any, settings: Settings) -> ContentService:
    nothing = cast(Any, None)  # the command line publishes nothing and asks no admins
    return ContentService(
        uow_factory,
        SystemClock(),
        nothing,
        nothing,
        nothing,
        next_run=next_run,
        compare=compare,
        wording=nothing,
        default_timezone=settings.default_timezone,
    )


async def _act(service: ContentService, args: argparse.Namespace) -> int:
    out = sys.stdout
    if args.action == "add":
        if (args.at is None) == (args.every is None):
            raise ContentError("Give --at or --every (one of them).")
        when = args.at if args.at is not None else f"every {args.every}"
        words = (args.every or "").split()
        if words and words[0] in ("every", "daily", "weekdays", "weekends", "monthly", "yearly"):
            when = args.every
        done = await service.add(
            args.chat, when, args.text, kind=ContentKind(args.kind), title=args.title
        )
        print(f"#{done.item.id} scheduled for {done.at.isoformat()}", file=out)
        if done.quiet_from is not None:
            print(f"(moved out of the group's quiet hours from {done.quiet_from})", file=out)
        return 0
    if args.action == "list":
        for item in await service.items(args.chat):
            due = item.due_at.isoformat() if item.due_at else "-"
            print(
                "\t".join(
                    (
                        f"#{item.id}",
                        item.state.value,
                        item.kind.value,
                        due,
                        item.rule or "",
                        item.title,
                    )
                ),
                file=out,
            )
        return 0
    if args.action == "show":
        item = await service.get(args.item)
        print(
            f"#{item.id} {item.title}\n"
            f"chat {item.chat_id} · {item.kind.value} · {item.state.value}",
            file=out,
        )
        print(f"due {item.due_at} · rule {item.rule or '-'} · posts {item.posts}", file=out)
        if item.body is not None:
            print(f"text: {item.body.text}", file=out)
        for t in await service.history(args.item):
            from_state = t.from_state.value if t.from_state else "-"
            print(
                f"  {t.at.isoformat()} {t.action}: {from_state} → {t.to_state.value}"
                f" by {t.by or 'cli'} {t.note}",
                file=out,
            )
        for post in await service.posts(args.item):
            print(f"  post {post.planned_at.isoformat()} {post.state} {post.measures}", file=out)
        return 0
    if args.action == "move":
        done = await service.move(args.item, args.when, None)
        print(f"#{done.item.id} moved to {done.at.isoformat()}", file=out)
        return 0
    if args.action == "cancel":
        await service.cancel(args.item, None)
        print(f"#{args.item} cancelled", file=out)
        return 0
    if args.action == "export":
        writer = csv.writer(out)
        writer.writerow(PLAN_COLUMNS)
        for row in await service.export(args.chat):
            writer.writerow([row.id, row.chat, row.kind, row.when, row.title, row.text, row.state])
        return 0
    return await _import(service, args.file, args.dry_run)


async def _import(service: ContentService, path: str, dry_run: bool) -> int:
    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8-sig")  # noqa: ASYNC240
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("chat", "when", "text") if c not in (reader.fieldnames or ())]
    if missing:
        print(
            f"error: line 1: the header lacks {', '.join(missing)} ({','.join(PLAN_COLUMNS)})",
            file=sys.stderr,
        )
        return 2
    rows = [
        PlanRow(
            id=r.get("id") or "",
            chat=r.get("chat") or "",
            kind=r.get("kind") or "",
            when=r.get("when") or "",
            title=r.get("title") or "",
            text=r.get("text") or "",
            state=r.get("state") or "",
        )
        for r in reader
    ]
    result = await service.import_plan(rows, apply=not dry_run)
    for change in result.changes:
        sign = {"add": "+", "change": "~", "cancel": "-"}[change.action]
        which = f"#{change.item_id}" if change.item_id is not None else "new"
        print(f"{sign} {which} (chat {change.chat_id}): {change.detail}")
    if result.errors:
        for line, reason in result.errors:
            print(f"error: line {line}: {reason}", file=sys.stderr)
        print(f"nothing changed: {len(result.errors)} bad line(s)", file=sys.stderr)
        return 2
    if dry_run:
        print(f"dry run: {len(result.changes)} change(s), none made")
    else:
        print(f"{len(result.changes)} change(s) made")
    return 0
