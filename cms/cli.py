"""The `cms` command: serve, import, export, keys, reindex, dlq, webhooks.

Exit codes: 0 done; 1 done, but some files or entries failed (each is reported); 2 bad usage;
3 the server refused (its problem+json is shown); 4 the server could not be reached.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from . import __version__
from .client import Client
from .errors import ApiError, CMSClientError, ConnectionFailed
from .exporter import Exporter, ExportReport
from .importer import Importer, ImportReport
from .progress import NullProgress, Progress, RichProgress

OK, FAILURES, USAGE, REFUSED, UNREACHABLE = 0, 1, 2, 3, 4
DEFAULT_URL = "http://127.0.0.1:8000"
SCOPES = ("content:read", "content:write", "media:read", "media:write", "admin")
WEBHOOK_EVENTS = ("entry.published", "entry.unpublished", "entry.deleted", "media.ready")


class Output:
    """Human output (rich, stdout) or one JSON document (``--json``); errors on stderr."""

    def __init__(self, as_json: bool, quiet: bool) -> None:
        from rich.console import Console

        self.as_json = as_json
        self.quiet = quiet
        self.out = Console(highlight=False, soft_wrap=True)
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)

    def progress(self) -> Progress:
        return NullProgress() if self.quiet or self.as_json else RichProgress()

    def result(self, data: Any, human: Callable[[], None]) -> None:
        if self.as_json:
            sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        elif not self.quiet:
            human()

    def line(self, text: str) -> None:
        self.out.print(text, markup=False)

    def error(self, text: str, problem: dict[str, Any] | None = None) -> None:
        self.err.print(f"error: {text}", style="red", markup=False)
        if self.as_json:
            body = {"error": text, **({"problem": problem} if problem else {})}
            sys.stdout.write(json.dumps(body, indent=2, ensure_ascii=False) + "\n")


# --- arguments ------------------------------------------------------------------------------


def _common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    default = (lambda value: value) if top else (lambda value: argparse.SUPPRESS)
    parser.add_argument(
        "--url",
        default=default(os.environ.get("CMS_URL") or DEFAULT_URL),
        help="the API's base URL (env CMS_URL; default %(default)s)" if top else argparse.SUPPRESS,
    )
    parser.add_argument(
        "--key",
        default=default(os.environ.get("CMS_KEY")),
        help="an API key (env CMS_KEY)" if top else argparse.SUPPRESS,
    )
    parser.add_argument(
        "--json",
        action="store_true",
        default=default(False),
        help="print the result as JSON on stdout" if top else argparse.SUPPRESS,
    )
    parser.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        default=default(False),
        help="no progress bars or summaries" if top else argparse.SUPPRESS,
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=default(60.0),
        help="seconds to wait for each response" if top else argparse.SUPPRESS,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cms", description="Command line for the headless CMS (its REST API)."
    )
    parser.add_argument("--version", action="version", version=f"cms {__version__}")
    _common(parser, top=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=text, description=text)
        _common(sub, top=False)
        return sub

    serve = command("serve", "run the API on the local backend (chalice local)")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--data-dir", help="where the data lives (CMS_DATA_DIR)")
    serve.add_argument("--admin-key", help="bootstrap admin key (CMS_ADMIN_KEY)")
    serve.add_argument("--project-dir", help="the CMS checkout (the folder with app.py)")

    imp = command("import", "import a folder of Markdown files (Hugo, Jekyll, Eleventy)")
    imp.add_argument("dir", type=Path)
    imp.add_argument("--collection", required=True)
    imp.add_argument(
        "--create-collection", action="store_true", help="create it if missing (admin key)"
    )
    imp.add_argument("--workers", type=int, default=4, help="parallel requests (default 4)")
    imp.add_argument("--batch-size", type=int, default=25, help="entries per request (1-100)")
    imp.add_argument(
        "--delete",
        action="store_true",
        help="delete the entries of files this folder imported before that are gone from it"
        " (not one changed on the server since)",
    )
    imp.add_argument("--no-batch", action="store_true", help="one request per step")
    imp.add_argument(
        "--no-wait",
        action="store_true",
        help="return once the server has stored the entries, before it renders them",
    )

    exp = command("export", "export published content (incremental with the change feed)")
    exp.add_argument("dir", type=Path)
    exp.add_argument("--format", choices=("hugo", "json"), default="hugo")
    exp.add_argument(
        "--collection", action="append", help="only this collection (repeatable; default all)"
    )
    exp.add_argument("--workers", type=int, default=4)
    exp.add_argument(
        "--content-dir",
        default="content/{collection}",
        help="where in DIR each collection's files go (default content/{collection}; with one"
        " --collection, 'content' puts them straight into DIR/content)",
    )
    exp.add_argument(
        "--drafts",
        action="store_true",
        help="also the entries that are not published (their working copy)",
    )

    def action(group: Any, name: str, text: str) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = group.add_parser(name, help=text, description=text)
        _common(sub, top=False)
        return sub

    keys = command("keys", "API keys (admin)")
    key_commands = keys.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = action(key_commands, "create", "create a key; its secret is shown once")
    create.add_argument("--name", required=True)
    create.add_argument("--scope", action="append", choices=SCOPES, required=True)
    action(key_commands, "list", "list keys (never their secrets)")
    revoke = action(key_commands, "revoke", "revoke a key")
    revoke.add_argument("id")

    command("reindex", "rebuild the index from the objects (admin)")

    hooks = command("webhooks", "webhook targets, their deliveries, and a local receiver")
    hook_commands = hooks.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = action(hook_commands, "create", "add a target; its signing secret is shown once")
    add.add_argument("target_url", metavar="URL")
    add.add_argument(
        "--event", action="append", dest="events", choices=WEBHOOK_EVENTS, required=True
    )
    add.add_argument("--description", default="")
    action(hook_commands, "list", "list targets (never their secrets)")
    remove = action(hook_commands, "delete", "remove a target")
    remove.add_argument("id")
    log = action(hook_commands, "deliveries", "the latest deliveries and their outcome")
    log.add_argument("--limit", type=int, default=20)
    replay = action(hook_commands, "replay", "send a delivery's body again")
    replay.add_argument("id")
    listen = action(
        hook_commands, "listen", "receive deliveries here, check their signature, print them"
    )
    listen.add_argument("--host", default="127.0.0.1")
    listen.add_argument("--port", type=int, default=9000)
    listen.add_argument(
        "--secret",
        default=os.environ.get("CMS_WEBHOOK_SECRET"),
        help="the webhook's signing secret (env CMS_WEBHOOK_SECRET); without it nothing is checked",
    )

    dlq = command("dlq", "the dead-letter queue of failed events (admin)")
    dlq_commands = dlq.add_subparsers(dest="action", required=True, metavar="ACTION")
    action(dlq_commands, "list", "list dead letters")
    redrive = action(dlq_commands, "redrive", "send dead letters back to the queue")
    redrive.add_argument("--id", action="append", dest="ids", help="only these (repeatable)")
    return parser


# --- commands -------------------------------------------------------------------------------


def plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def show_items(
    out: Output, items: Sequence[Any], line: Callable[[Any], str], one: str, many: str = ""
) -> None:
    """A listing: ``{"items": [...]}`` with --json, else a line each and their count."""

    def human() -> None:
        for item in items:
            out.line(line(item))
        out.line(plural(len(items), one, many or None))

    out.result({"items": [item.raw for item in items]}, human)


def _client(args: argparse.Namespace) -> Client:
    return Client(args.url, args.key, timeout=args.timeout)


def project_dir(given: str | None) -> Path:
    """The CMS checkout to serve: --project-dir, else the one this package was installed
    from (an editable install: ``pip install -e .``)."""
    candidate = Path(given).resolve() if given else Path(__file__).resolve().parent.parent
    if not (candidate / "app.py").is_file() or not (candidate / "chalicelib").is_dir():
        raise FileNotFoundError(
            f"{candidate} is not the CMS source (no app.py and chalicelib/): pass --project-dir"
        )
    return candidate


def serve_command(args: argparse.Namespace) -> tuple[list[str], Path, dict[str, str]]:
    """(argv, working directory, environment) of the `chalice local` that serves the API."""
    project = project_dir(args.project_dir)
    beside = Path(sys.executable).parent / "chalice"
    chalice = str(beside) if beside.exists() else shutil.which("chalice")
    if chalice is None:
        raise FileNotFoundError("chalice is not installed: pip install -r requirements-dev.txt")
    env = dict(os.environ)
    if args.data_dir:
        env["CMS_DATA_DIR"] = str(Path(args.data_dir).resolve())
    if args.admin_key:
        env["CMS_ADMIN_KEY"] = args.admin_key
    argv = [chalice, "local", "--stage", "local", "--no-autoreload"]
    argv += ["--host", args.host, "--port", str(args.port)]
    return argv, project, env


def run_serve(args: argparse.Namespace, out: Output) -> NoReturn:
    argv, cwd, env = serve_command(args)
    data = env.get("CMS_DATA_DIR") or str(cwd / ".cms-data")
    out.err.print(
        f"Serving the CMS API on http://{args.host}:{args.port} (data: {data}); Ctrl-C stops it.",
        markup=False,
    )
    sys.stdout.flush()
    sys.stderr.flush()
    os.chdir(cwd)
    os.execve(argv[0], argv, env)  # chalice gets the signals itself


def run_import(args: argparse.Namespace, out: Output) -> int:
    client = _client(args)
    if args.create_collection:
        try:
            client.get_collection(args.collection)
        except ApiError as exc:
            if exc.status != 404:
                raise
            client.put_collection(args.collection)
            out.err.print(f"created collection {args.collection}", markup=False)
    importer = Importer(
        client,
        args.collection,
        workers=args.workers,
        batch_size=args.batch_size,
        use_batch=not args.no_batch,
        wait=not args.no_wait,
        delete=args.delete,
        progress=out.progress(),
    )
    report = importer.run(args.dir)
    out.result(report.to_dict(), lambda: _show_import(report, out))
    if not out.as_json:
        for failure in report.failures:
            out.error(f"{failure.path}: {failure.reason}")
        if report.rendered is False:
            out.error(f"the server is still rendering after {importer.wait_timeout:.0f} s")
    return OK if report.ok and report.rendered is not False else FAILURES


def _show_import(report: ImportReport, out: Output) -> None:
    for warning in report.warnings:
        out.err.print(f"warning: {warning}", style="yellow", markup=False)
    for skipped in report.not_taken:
        out.err.print(f"not taken: {skipped.path}: {skipped.reason}", markup=False)
    rate = f"{report.files / report.seconds:.0f} files/s" if report.seconds else ""
    out.line(
        f"{plural(report.files, 'file')}: {plural(report.entries, 'page')} ({report.created} "
        f"created, {report.updated} updated, {report.unchanged} unchanged, {report.skipped} "
        f"skipped as not modified since the last import, {report.deleted} deleted;"
        f" {report.published} published, "
        f"{plural(report.drafts, 'draft')}), {plural(report.resources, 'resource')} "
        f"({report.media_uploaded} uploaded), {len(report.not_taken)} not taken, "
        f"{len(report.failures)} failed ({report.seconds:.1f} s, {rate}; stored in "
        f"{report.stored_seconds:.1f} s)"
    )


def run_export(args: argparse.Namespace, out: Output) -> int:
    exporter = Exporter(
        _client(args),
        args.format,
        collections=args.collection,
        workers=args.workers,
        content_dir=args.content_dir,
        drafts=args.drafts,
        progress=out.progress(),
    )
    report = exporter.run(args.dir)
    out.result(report.to_dict(), lambda: _show_export(report, out))
    if not out.as_json:
        for key, reason in report.failures:
            out.error(f"{key}: {reason}")
    return OK if report.ok else FAILURES


def _show_export(report: ExportReport, out: Output) -> None:
    for warning in report.warnings:
        out.err.print(f"warning: {warning}", style="yellow", markup=False)
    if report.reset:
        out.err.print("the server's index was rebuilt: exported everything again", markup=False)
    for rel in report.written:
        out.line(f"wrote   {rel}")
    for rel in report.removed:
        out.line(f"removed {rel}")
    out.line(
        f"{plural(report.entries, 'entry', 'entries')} exported, {report.deleted} removed, "
        f"{plural(report.resources, 'resource')}: {plural(len(report.written), 'file')} "
        f"written, {len(report.removed)} removed, {report.unchanged_files} unchanged "
        f"({report.seconds:.1f} s)"
    )


def run_keys(args: argparse.Namespace, out: Output) -> int:
    client = _client(args)
    if args.action == "create":
        key = client.create_key(args.name, args.scope)
        out.result(key.raw, lambda: out.line(f"{key.id} {key.name} [{', '.join(key.scopes)}]"))
        if not out.as_json and not out.quiet:
            out.line(f"key: {key.secret}")
            out.err.print("This is the only time the key is shown: store it now.", markup=False)
    elif args.action == "list":
        show_items(
            out,
            client.list_keys(),
            lambda k: f"{k.id}  {k.name}  [{', '.join(k.scopes)}]  {k.created_at or ''}",
            "key",
        )
    else:
        client.revoke_key(args.id)
        out.result({"revoked": args.id}, lambda: out.line(f"revoked {args.id}"))
    return OK


def run_reindex(args: argparse.Namespace, out: Output) -> int:
    report = _client(args).reindex()
    out.result(report, lambda: out.line("reindexed: " + json.dumps(report)))
    return OK


def run_dlq(args: argparse.Namespace, out: Output) -> int:
    client = _client(args)
    if args.action == "list":
        show_items(
            out,
            client.dead_letters(),
            lambda d: f"{d.id}  attempts={d.attempts}  {d.failed_at or ''}  {d.error or ''}",
            "dead letter",
        )
    else:
        count = client.redrive(args.ids)
        out.result({"redriven": count}, lambda: out.line(f"redriven: {count}"))
    return OK


def run_webhooks(args: argparse.Namespace, out: Output) -> int:
    if args.action == "listen":
        return listen_for_webhooks(args, out)
    client = _client(args)
    if args.action == "create":
        hook = client.create_webhook(args.target_url, args.events, description=args.description)
        out.result(hook.raw, lambda: out.line(f"{hook.id} {hook.url} [{', '.join(hook.events)}]"))
        if not out.as_json and not out.quiet:
            out.line(f"secret: {hook.secret}")
            out.err.print("This is the only time the secret is shown: store it now.", markup=False)
    elif args.action == "list":
        show_items(
            out,
            client.list_webhooks(),
            lambda h: (
                f"{h.id}  {h.url}  [{', '.join(h.events)}]" + ("" if h.enabled else "  (disabled)")
            ),
            "webhook",
        )
    elif args.action == "delete":
        client.delete_webhook(args.id)
        out.result({"deleted": args.id}, lambda: out.line(f"deleted {args.id}"))
    elif args.action == "deliveries":
        show_items(
            out,
            client.webhook_deliveries(limit=args.limit),
            lambda d: (
                f"{d.id}  {d.event:<18} {d.status:<10} attempts={d.attempts}  "
                f"{d.response_status or d.error or ''}  {d.url}"
            ),
            "delivery",
            "deliveries",
        )
    else:
        again = client.replay_delivery(args.id)
        out.result(again.raw, lambda: out.line(f"replayed as {again.id} ({again.status})"))
    return OK


def listen_for_webhooks(args: argparse.Namespace, out: Output) -> int:
    from .webhooks import Received, Receiver

    def show(delivery: Received) -> None:
        if out.as_json:
            line = {
                "event": delivery.event,
                "delivery": delivery.delivery_id,
                "verified": delivery.verified,
                "payload": delivery.payload,
            }
            sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
            sys.stdout.flush()
            return
        check = {True: "signature ok", False: "BAD SIGNATURE", None: "not checked"}
        data = delivery.payload.get("data", {}) if isinstance(delivery.payload, dict) else {}
        what = "/".join(str(data[k]) for k in ("collection", "slug", "id") if k in data)
        verdict = check[delivery.verified]
        out.line(f"{delivery.event:<18} {what:<40} {delivery.delivery_id}  {verdict}")

    try:
        receiver = Receiver(show, secret=args.secret, host=args.host, port=args.port)
    except (OSError, OverflowError) as exc:
        out.error(f"cannot listen on {args.host}:{args.port}: {exc}")
        return USAGE
    checked = "checking signatures" if args.secret else "not checking signatures (no --secret)"
    out.err.print(f"Listening for webhooks on {receiver.url} ({checked}); Ctrl-C stops.")
    try:
        receiver.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        receiver.server.server_close()
    return OK


COMMANDS: dict[str, Callable[[argparse.Namespace, Output], int]] = {
    "serve": run_serve,
    "import": run_import,
    "export": run_export,
    "keys": run_keys,
    "reindex": run_reindex,
    "dlq": run_dlq,
    "webhooks": run_webhooks,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out = Output(args.json, args.quiet)
    try:
        return COMMANDS[args.command](args, out)
    except ApiError as exc:
        out.error(f"{exc.method} {exc.url}: {exc.problem.describe()}", exc.problem.to_dict())
        return REFUSED
    except ConnectionFailed as exc:
        out.error(f"{exc} (is the server running? `cms serve` starts one)")
        return UNREACHABLE
    except CMSClientError as exc:
        out.error(str(exc))
        return REFUSED
    except (FileNotFoundError, NotADirectoryError, ValueError) as exc:
        out.error(str(exc))
        return USAGE
    except KeyboardInterrupt:
        out.error("interrupted (an import or export goes on where it stopped when run again)")
        return 130
