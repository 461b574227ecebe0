"""The Index port on one DynamoDB table (key design and access patterns: docs/dynamodb.md).

Every list page is one Query on a GSI (more only when a filter leaves a page short); the
event writes are conditional on the S3 sequencer; the API's staging writes are conditional
on the source ETag; an entry and its tag items change together in one transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from ...domain.changes import Change, is_visible, rows_after
from ...domain.collections import Collection
from ...domain.entries import (
    STAGES,
    EntryRecord,
    RenderStatus,
    Stage,
    failed,
    render_counts,
    sort_title,
    tombstone,
)
from ...domain.errors import ServiceUnavailable
from ...domain.paths import section_bounds, sections_of
from ...domain.sequencer import is_newer, may_apply, padded
from ...domain.timeutil import to_iso
from ...ports import ManageQuery, ObjectError, OtherFile, PageQuery
from .errors import code, storage

MAX_TRANSACTION_ITEMS = 100
KEEP = "DELIVERY#"  # webhook deliveries (adapters/aws/webhook_log.py) outlive a rebuild
EPOCH_TTL_SECONDS = 30.0
CHANGES = "CHANGES"  # GSI1 partition of the change log (an entry's rows: domain.changes)
CHANGE_SLOTS = ("CHANGE", "CHANGE#1", "CHANGE#2")  # sort keys of an entry's rows, in position order
SEP = "\x1f"  # below every printable character: 'abc' sorts before 'abc d'
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _dump(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in item.items() if v is not None}


def _load(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


def _entry_pk(collection: str, slug: str) -> str:
    return f"ENTRY#{collection}#{slug}"


def _date_key(published_at: str | None, slug: str) -> str:
    return f"{published_at}#{slug}"


def _title_key(title: str, slug: str) -> str:
    return f"{sort_title(title)}{SEP}{slug}"


_NOT_EXPIRED = "(attribute_not_exists(expires_at) OR expires_at > :now)"


def _listed(record: EntryRecord, now: str) -> bool:
    """In the published lists (due or not: the queries' key conditions say so); an entry past
    its end when written is left out (one that ends later is filtered out by the queries)."""
    return is_visible(record) and (record.expires_at is None or record.expires_at > now)


def _entry_item(record: EntryRecord, now: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "PK": _entry_pk(record.collection, record.slug),
        "SK": f"STAGE#{record.stage}",
        "collection": record.collection,
        "stage": record.stage,
        "slug": record.slug,
        "title": record.title,
        "front_matter": json.dumps(record.front_matter),
        "tags": json.dumps(record.tags),
        "published_at": record.published_at,
        "updated_at": record.updated_at,
        "source_etag": record.source_etag,
        "version_id": record.version_id,
        "render_status": record.render_status,
        "render_error": record.render_error,
        "rendered_sha256": record.rendered_sha256,
        "html_key": record.html_key,
        "toc": json.dumps(record.toc),
        "excerpt": record.excerpt,
        "word_count": record.word_count,
        "reading_time_minutes": record.reading_time_minutes,
        "deleted": record.deleted,
        "seq": padded(record.sequencer) if record.sequencer else None,
        "entry_file": record.source_file,
        "expires_at": record.expires_at,
    }
    if not record.deleted:
        item["GSI3PK"] = f"ENTRIES#{record.collection}#{record.stage}"
        item["GSI3SK"] = record.slug
    if _listed(record, now):
        item["GSI1PK"] = item["GSI2PK"] = f"PUB#{record.collection}"
        item["GSI1SK"] = _date_key(record.published_at, record.slug)
        item["GSI2SK"] = _title_key(record.title, record.slug)
    return item


def _tag_item(entry: dict[str, Any], tag: str) -> dict[str, Any]:
    item = {k: v for k, v in entry.items() if not k.startswith("GSI3")}
    item["SK"] = f"TAG#{entry['stage']}#{tag}"
    item["GSI1PK"] = item["GSI2PK"] = f"PUBTAG#{entry['collection']}#{tag}"
    return item


def _section_item(entry: dict[str, Any], section: str) -> dict[str, Any]:
    item = {k: v for k, v in entry.items() if not k.startswith("GSI3")}
    item["SK"] = f"SECTION#{entry['stage']}#{section}"
    item["GSI1PK"] = item["GSI2PK"] = f"PUBSEC#{entry['collection']}#{section}"
    return item


def _copies(entry: dict[str, Any], record: EntryRecord, now: str) -> list[dict[str, Any]]:
    """The copies of a listed entry that its tag and section lists read."""
    if not _listed(record, now):
        return []
    return [_tag_item(entry, t) for t in record.tags] + [
        _section_item(entry, s) for s in sections_of(record.slug)
    ]


def _copy_prefixes(stage: str) -> tuple[str, str]:
    return f"TAG#{stage}#", f"SECTION#{stage}#"


def _record(item: dict[str, Any]) -> EntryRecord:
    return EntryRecord(
        collection=item["collection"],
        slug=item["slug"],
        stage=item["stage"],
        title=item["title"],
        front_matter=json.loads(item.get("front_matter", "{}")),
        tags=json.loads(item.get("tags", "[]")),
        published_at=item.get("published_at"),
        updated_at=item.get("updated_at"),
        source_etag=item.get("source_etag"),
        version_id=item.get("version_id"),
        render_status=item.get("render_status", "pending"),
        render_error=item.get("render_error"),
        rendered_sha256=item.get("rendered_sha256"),
        html_key=item.get("html_key"),
        toc=json.loads(item.get("toc", "[]")),
        excerpt=item.get("excerpt"),
        word_count=int(item.get("word_count", 0)),
        reading_time_minutes=int(item.get("reading_time_minutes", 0)),
        deleted=bool(item.get("deleted", False)),
        sequencer=item.get("seq"),
        file=item.get("entry_file"),
        expires_at=item.get("expires_at"),
    )


def _conditional_failure(error: ClientError) -> bool:
    if code(error) == "ConditionalCheckFailedException":
        return True
    if code(error) == "TransactionCanceledException":
        reasons = error.response.get("CancellationReasons", [])
        return any(r.get("Code") == "ConditionalCheckFailed" for r in reasons)
    return False


class _ChangeLogRaced(Exception):
    """Another write changed the entry's change-log rows between this one's read and its
    transaction: nothing was written; read again and recompute."""


RACE_ATTEMPTS = 5


def _read_again_if_raced(write: Callable[[], bool]) -> bool:
    for _ in range(RACE_ATTEMPTS - 1):
        try:
            return write()
        except _ChangeLogRaced:
            continue
    try:
        return write()
    except _ChangeLogRaced as exc:  # the event is retried by its queue; an API call gets 503
        raise ServiceUnavailable("The entry is being changed by other writes; try again.") from exc


class DynamoIndex:
    def __init__(
        self,
        client: Any,
        table: str,
        *,
        collection_ttl_seconds: float = 30.0,
        now: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self._ddb = client
        self.table = table
        self._now = now or (lambda: dt.datetime.now(dt.UTC))
        self._epoch: tuple[float, str] | None = None
        self._collection_ttl = collection_ttl_seconds
        self._collections: dict[str, tuple[float, Collection]] = {}

    @property
    def client(self) -> Any:
        return self._ddb

    # --- entries: reads -------------------------------------------------------------------

    def get_entry(
        self, collection: str, stage: Stage, slug: str, *, consistent: bool = False
    ) -> EntryRecord | None:
        with storage("DynamoDB GetItem"):
            response = self._ddb.get_item(
                TableName=self.table,
                Key=_dump({"PK": _entry_pk(collection, slug), "SK": f"STAGE#{stage}"}),
                ConsistentRead=consistent,
            )
        item = response.get("Item")
        return _record(_load(item)) if item else None

    def query(self, request: dict[str, Any], limit: int) -> list[dict[str, Any]]:
        """Items of one Query; more Queries only if a filter left the page short, each
        reading twice as many as the one before (a run of expired entries costs a few
        Queries, not one per page)."""
        items: list[dict[str, Any]] = []
        request = {"TableName": self.table, **request}
        read = limit
        with storage("DynamoDB Query"):
            while True:
                response = self._ddb.query(**request, Limit=read)
                items.extend(_load(i) for i in response.get("Items", []))
                last = response.get("LastEvaluatedKey")
                if len(items) >= limit or not last:
                    return items[:limit]
                request["ExclusiveStartKey"] = last
                read = min(read * 2, 1000)

    def list_published(self, query: PageQuery) -> list[EntryRecord]:
        if query.tag:
            pk = f"PUBTAG#{query.collection}#{query.tag}"
        elif query.section:
            pk = f"PUBSEC#{query.collection}#{query.section}"
        else:
            pk = f"PUB#{query.collection}"
        values: dict[str, Any] = {":pk": pk}
        now_upper = f"{query.now}#~"  # '~' sorts after every slug character
        if query.sort == "title":
            condition = "GSI2PK = :pk"
            if query.after is not None:
                condition += " AND GSI2SK > :after"
                values[":after"] = f"{query.after[0]}{SEP}{query.after[1]}"  # a sort_title
            request: dict[str, Any] = {
                "IndexName": "GSI2",
                "KeyConditionExpression": condition,
                "FilterExpression": "published_at <= :now",
                "ScanIndexForward": True,
            }
        elif query.sort == "published_at":
            request = {"IndexName": "GSI1", "ScanIndexForward": True}
            values[":upper"] = now_upper
            if query.after is None:
                request["KeyConditionExpression"] = "GSI1PK = :pk AND GSI1SK <= :upper"
            else:
                lower = f"{query.after[0]}#{query.after[1]}!"  # '!' sorts before slug chars
                if lower > now_upper:
                    return []
                request["KeyConditionExpression"] = (
                    "GSI1PK = :pk AND GSI1SK BETWEEN :lower AND :upper"
                )
                values[":lower"] = lower
        else:
            upper = now_upper
            if query.after is not None:
                upper = min(upper, f"{query.after[0]}#{query.after[1]}")
            request = {
                "IndexName": "GSI1",
                "KeyConditionExpression": "GSI1PK = :pk AND GSI1SK < :upper",
                "ScanIndexForward": False,
            }
            values[":upper"] = upper
        filters = [request.pop("FilterExpression", None), _NOT_EXPIRED]
        values[":now"] = query.now
        if query.tag and query.section:  # the tag's list, narrowed to the section
            filters.append("begins_with(slug, :section)")
            values[":section"] = section_bounds(query.section)[0]
        request["FilterExpression"] = " AND ".join(f for f in filters if f)
        request["ExpressionAttributeValues"] = _dump(values)
        return [_record(i) for i in self.query(request, query.limit)]

    def list_entries(self, query: ManageQuery) -> list[EntryRecord]:
        values: dict[str, Any] = {":pk": f"ENTRIES#{query.collection}#{query.stage}"}
        condition = "GSI3PK = :pk"
        if query.section:  # '!' sorts below every path character, '~' above
            low, high = section_bounds(query.section)[0], f"{query.section}/~"
            if query.after:
                low = max(low, f"{query.after}!")
            if low > high:  # the page after the section's last entry
                return []
            condition += " AND GSI3SK BETWEEN :low AND :high"
            values[":low"], values[":high"] = low, high
        elif query.after:
            condition += " AND GSI3SK > :after"
            values[":after"] = query.after
        request: dict[str, Any] = {"IndexName": "GSI3", "KeyConditionExpression": condition}
        if query.status:
            request["FilterExpression"] = "render_status = :status"
            values[":status"] = query.status
        request["ExpressionAttributeValues"] = _dump(values)
        return [_record(i) for i in self.query(request, query.limit)]

    def _live_items(
        self, collection: str, projection: str
    ) -> Iterator[tuple[Stage, dict[str, Any]]]:
        """Every live entry item of a collection, drafts then published snapshots, with only
        the ``projection`` attributes."""
        paginator = self._ddb.get_paginator("query")
        with storage("DynamoDB Query"):
            for stage in STAGES:
                for page in paginator.paginate(
                    TableName=self.table,
                    IndexName="GSI3",
                    KeyConditionExpression="GSI3PK = :pk",
                    ExpressionAttributeValues=_dump({":pk": f"ENTRIES#{collection}#{stage}"}),
                    ProjectionExpression=projection,
                ):
                    for item in page.get("Items", []):
                        yield stage, _load(item)

    def count_entries(self, collection: str) -> int:
        """Live entries of a collection: drafts, and published snapshots without a draft."""
        return len({item["slug"] for _, item in self._live_items(collection, "slug")})

    def count_renders(self, collection: str) -> dict[Stage, dict[RenderStatus, int]]:
        return render_counts(
            (stage, item.get("render_status", "pending"))
            for stage, item in self._live_items(collection, "render_status")
        )

    # --- entries: writes ------------------------------------------------------------------

    def _items_of(self, collection: str, slug: str) -> list[dict[str, Any]]:
        """The entry's items (its stages and their tag copies), every page of them."""
        return list(self.partition(_entry_pk(collection, slug), consistent=True))

    def _replace(
        self,
        record: EntryRecord,
        existing: list[dict[str, Any]],
        condition: str,
        values: dict[str, Any],
        *,
        clear_error: bool = False,
        log_change: bool = False,
    ) -> bool:
        """Put the entry item and make its tag items match, in one transaction; with
        ``log_change``, also the entry's rows of the change log (domain.changes)."""
        now = to_iso(self._now())
        item = _entry_item(record, now)
        old_tags = {i["SK"] for i in existing if i["SK"].startswith(_copy_prefixes(record.stage))}
        new_items = _copies(item, record, now)
        actions: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": _dump(item),
                    "ConditionExpression": condition,
                    **({"ExpressionAttributeValues": _dump(values)} if values else {}),
                }
            }
        ]
        actions += [{"Put": {"TableName": self.table, "Item": _dump(i)}} for i in new_items]
        change_actions = self._change_actions(item["PK"], existing, record) if log_change else []
        first_change = len(actions)
        actions += change_actions
        keep = {i["SK"] for i in new_items}
        stale = [_dump({"PK": item["PK"], "SK": sk}) for sk in sorted(old_tags - keep)]
        if len(actions) + len(stale) + int(clear_error) > MAX_TRANSACTION_ITEMS:
            # Copies under tags the entry lost are deleted first, outside the transaction: if
            # the transaction then fails, the event's retry deletes nothing more and converges.
            self.batch_delete(stale)
            stale = []
        actions += [{"Delete": {"TableName": self.table, "Key": key}} for key in stale]
        if clear_error:
            key = _dump({"PK": "OBJECT_ERRORS", "SK": record.key})
            actions.append({"Delete": {"TableName": self.table, "Key": key}})
        failed = self._failed_conditions(actions)
        if failed is None:
            return True
        if failed & set(range(first_change, first_change + len(change_actions))):
            raise _ChangeLogRaced()
        return False

    def _change_actions(
        self, pk: str, existing: list[dict[str, Any]], record: EntryRecord
    ) -> list[dict[str, Any]]:
        """Puts and deletes that make the entry's change-log rows what ``rows_after`` says,
        in fixed slots, each on the condition that it still holds what this write read: a
        write that raced another (two events of the entry at once) is cancelled, not applied
        over rows it never saw (``_ChangeLogRaced``; the caller reads again)."""
        held = {i["SK"]: i for i in existing if i["SK"] in CHANGE_SLOTS}
        current = [Change.from_dict(json.loads(held[sk]["body"])) for sk in sorted(held)]
        rows = rows_after(current, record, self._now())
        if rows is None:
            return []
        actions: list[dict[str, Any]] = []
        for index, sk in enumerate(CHANGE_SLOTS):
            seen = held.get(sk)
            if seen is None:
                condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(PK)"}
            else:
                condition = {
                    "ConditionExpression": "GSI1SK = :seen",
                    "ExpressionAttributeValues": _dump({":seen": seen["GSI1SK"]}),
                }
            if index < len(rows):
                change = rows[index]
                row = {
                    "PK": pk,
                    "SK": sk,
                    "GSI1PK": CHANGES,
                    "GSI1SK": change.position,
                    "body": json.dumps(change.to_dict()),
                }
                actions.append({"Put": {"TableName": self.table, "Item": _dump(row), **condition}})
            else:
                key = _dump({"PK": pk, "SK": sk})
                actions.append({"Delete": {"TableName": self.table, "Key": key, **condition}})
        return actions

    def _failed_conditions(self, actions: list[dict[str, Any]]) -> set[int] | None:
        """Apply ``actions`` atomically; None when done, else the indexes of the actions
        whose condition failed (nothing was written)."""
        with storage("DynamoDB TransactWriteItems"):
            try:
                if len(actions) == 1 and "Put" in actions[0]:
                    self._ddb.put_item(**actions[0]["Put"])
                else:
                    self._ddb.transact_write_items(TransactItems=actions)
            except ClientError as error:
                if not _conditional_failure(error):
                    raise
                reasons = error.response.get("CancellationReasons") or [{}]
                failed = {
                    i for i, r in enumerate(reasons) if r.get("Code") == "ConditionalCheckFailed"
                }
                return failed or {0}
        return None

    def write_all_or_none(self, actions: list[dict[str, Any]]) -> bool:
        """Apply transaction ``actions`` atomically (a lone Put as a plain PutItem, which costs
        half); False if a condition failed, so nothing was written."""
        return self._failed_conditions(actions) is None

    @staticmethod
    def _main(items: list[dict[str, Any]], stage: str) -> dict[str, Any] | None:
        return next((i for i in items if i["SK"] == f"STAGE#{stage}"), None)

    def stage_entry(self, record: EntryRecord, *, expected_etag: str | None) -> bool:
        items = self._items_of(record.collection, record.slug)
        row = self._main(items, record.stage)
        live = row is not None and not row.get("deleted")
        current = row.get("source_etag") if live and row is not None else None
        if current != expected_etag:
            return False
        if not live:
            fresh = EntryRecord(**{**record.to_dict(), "sequencer": None})
            same_file = row is not None and row.get("entry_file") == record.source_file
            fresh.sequencer = row.get("seq") if same_file else None  # type: ignore[union-attr]
            if row is None:
                return self._replace(fresh, items, "attribute_not_exists(PK)", {})
            return self._replace(fresh, items, "deleted = :true", {":true": True})
        with storage("DynamoDB UpdateItem"):
            try:
                self._ddb.update_item(
                    TableName=self.table,
                    Key=_dump({"PK": row["PK"], "SK": row["SK"]}),  # type: ignore[index]
                    UpdateExpression=(
                        "SET source_etag = :etag, render_status = :pending"
                        + (", version_id = :version" if record.version_id else "")
                        + " REMOVE render_error"
                        + ("" if record.version_id else ", version_id")
                    ),
                    ConditionExpression=(
                        "source_etag = :expected AND deleted = :false"
                        if expected_etag is not None
                        else "attribute_not_exists(source_etag) AND deleted = :false"
                    ),
                    ExpressionAttributeValues=_dump(
                        {
                            ":etag": record.source_etag,
                            ":version": record.version_id,
                            ":pending": "pending",
                            ":expected": expected_etag,
                            ":false": False,
                        }
                    ),
                )
            except ClientError as error:
                if _conditional_failure(error):
                    return False
                raise
        return True

    def stage_removal(
        self, collection: str, stage: Stage, slug: str, *, expected_etag: str | None
    ) -> bool:
        return _read_again_if_raced(
            lambda: self._stage_removal(collection, stage, slug, expected_etag=expected_etag)
        )

    def _stage_removal(
        self, collection: str, stage: Stage, slug: str, *, expected_etag: str | None
    ) -> bool:
        items = self._items_of(collection, slug)
        row = self._main(items, stage)
        if row is None or row.get("deleted"):
            return False
        if expected_etag is not None and row.get("source_etag") != expected_etag:
            return False
        record = _record(row)
        return self._replace(
            tombstone(record, record.sequencer),
            items,
            "source_etag = :expected",
            {":expected": row.get("source_etag")},
            log_change=True,
        )

    @staticmethod
    def _newer_condition(sequencer: str, file: str) -> tuple[str, dict[str, Any]]:
        """Newer than the row's last event, or from another file (sequencers order the events
        of one object key only)."""
        return (
            "attribute_not_exists(seq) OR seq < :seq OR (seq = :seq AND render_status = :failed)"
            " OR attribute_not_exists(entry_file) OR entry_file <> :file",
            {":seq": padded(sequencer), ":failed": "failed", ":file": file},
        )

    @staticmethod
    def _same_source(row: dict[str, Any] | None, file: str | None, replace_file: bool) -> bool:
        """Whether the row is of this file (an event of it is ordered by the sequencer);
        OtherFile if the row is live and of another file, unless ``replace_file``."""
        if row is None:
            return False
        stored = row.get("entry_file", file)
        if file is None or stored == file:
            return True
        if not row.get("deleted") and not replace_file:
            raise OtherFile(str(stored))
        return False

    def apply_render(self, record: EntryRecord, *, replace_file: bool = False) -> bool:
        if record.sequencer is None:
            raise ValueError("an event write needs the event's sequencer")
        return _read_again_if_raced(lambda: self._apply_render(record, replace_file))

    def _apply_render(self, record: EntryRecord, replace_file: bool) -> bool:
        items = self._items_of(record.collection, record.slug)
        row = self._main(items, record.stage)
        if self._same_source(row, record.source_file, replace_file) and not may_apply(
            record.sequencer,
            row.get("seq"),  # type: ignore[union-attr]
            row.get("render_status"),  # type: ignore[union-attr]
        ):
            return False
        if record.deleted:
            base = _record(row) if row is not None else record
            record = tombstone(base, record.sequencer)
        condition, values = self._newer_condition(record.sequencer, record.source_file)  # type: ignore[arg-type]
        return self._replace(record, items, condition, values, clear_error=True, log_change=True)

    # --- the change log -------------------------------------------------------------------

    def list_changes(self, after: str, until: str, limit: int) -> list[Change]:
        """One Query on GSI1 (eventually consistent: the sync service reads only up to a
        settle window behind now, which also covers the index's propagation)."""
        values: dict[str, Any] = {":pk": CHANGES, ":high": until}
        if after:
            condition = "GSI1PK = :pk AND GSI1SK BETWEEN :low AND :high"  # inclusive
            values[":low"] = after
        else:
            condition = "GSI1PK = :pk AND GSI1SK <= :high"
        items = self.query(
            {
                "IndexName": "GSI1",
                "KeyConditionExpression": condition,
                "ExpressionAttributeValues": _dump(values),
            },
            limit + 1,
        )
        changes = [Change.from_dict(json.loads(i["body"])) for i in items]
        return [c for c in changes if c.position > after][:limit]

    def change_epoch(self, *, fresh: bool = False) -> str:
        """Cached for a few seconds per container, so a first sync page is one Query;
        ``fresh`` reads it (consistently) for a cursor, which must never outlive a rebuild
        that another container made."""
        cached = self._epoch
        if not fresh and cached is not None and cached[0] > time.monotonic():
            return cached[1]
        epoch = self._read_epoch()
        self._epoch = (time.monotonic() + EPOCH_TTL_SECONDS, epoch)
        return epoch

    def _read_epoch(self) -> str:
        key = {"PK": "META", "SK": "CHANGES_EPOCH"}
        with storage("DynamoDB GetItem"):
            found = self._ddb.get_item(TableName=self.table, Key=_dump(key), ConsistentRead=True)
        if found.get("Item"):
            return str(_load(found["Item"])["epoch"])
        epoch = secrets.token_hex(8)
        with storage("DynamoDB PutItem"):
            try:
                self._ddb.put_item(
                    TableName=self.table,
                    Item=_dump({**key, "epoch": epoch}),
                    ConditionExpression="attribute_not_exists(PK)",
                )
            except ClientError as error:
                if not _conditional_failure(error):
                    raise
                return self._read_epoch()  # another container made it first
        return epoch

    def apply_failure(
        self,
        collection: str,
        stage: Stage,
        slug: str,
        *,
        error: str,
        source_etag: str | None,
        version_id: str | None,
        sequencer: str,
        file: str | None = None,
        replace_file: bool = False,
    ) -> bool:
        items = self._items_of(collection, slug)
        row = self._main(items, stage)
        if self._same_source(row, file, replace_file) and not is_newer(sequencer, row.get("seq")):  # type: ignore[union-attr]
            return False
        record = failed(
            _record(row) if row is not None else None,
            collection,
            stage,
            slug,
            error=error,
            source_etag=source_etag,
            version_id=version_id,
            sequencer=sequencer,
            file=file,
        )
        condition, values = self._newer_condition(sequencer, record.source_file)
        return self._replace(record, items, condition, values)

    # --- collections ----------------------------------------------------------------------

    def get_collection(self, name: str) -> Collection | None:
        """Cached in the execution environment for a few seconds: schemas change rarely and
        every delivery request asks for one."""
        now = time.monotonic()
        cached = self._collections.get(name)
        if cached is not None and cached[0] > now:
            return cached[1]
        with storage("DynamoDB GetItem"):
            response = self._ddb.get_item(
                TableName=self.table, Key=_dump({"PK": "COLLECTIONS", "SK": name})
            )
        item = response.get("Item")
        if not item:
            return None  # never cached: a collection made a moment ago must be found
        found = Collection.model_validate_json(_load(item)["body"])
        self._collections[name] = (now + self._collection_ttl, found)
        return found

    def put_collection(self, collection: Collection) -> None:
        with storage("DynamoDB PutItem"):
            self._ddb.put_item(
                TableName=self.table,
                Item=_dump(
                    {
                        "PK": "COLLECTIONS",
                        "SK": collection.name,
                        "body": collection.model_dump_json(),
                    }
                ),
            )
        self._collections.pop(collection.name, None)

    def delete_collection(self, name: str) -> None:
        with storage("DynamoDB DeleteItem"):
            self._ddb.delete_item(
                TableName=self.table, Key=_dump({"PK": "COLLECTIONS", "SK": name})
            )
        self._collections.pop(name, None)

    def list_collections(self) -> list[Collection]:
        return [Collection.model_validate_json(i["body"]) for i in self.partition("COLLECTIONS")]

    def partition(self, pk: str, *, consistent: bool = False) -> Iterator[dict[str, Any]]:
        """Every item with partition key ``pk``, page by page."""
        paginator = self._ddb.get_paginator("query")
        with storage("DynamoDB Query"):
            for page in paginator.paginate(
                TableName=self.table,
                KeyConditionExpression="PK = :pk",
                ExpressionAttributeValues=_dump({":pk": pk}),
                ConsistentRead=consistent,
            ):
                for item in page.get("Items", []):
                    yield _load(item)

    # --- object errors --------------------------------------------------------------------

    def record_object_error(self, key: str, error: str, sequencer: str | None) -> None:
        with storage("DynamoDB PutItem"):
            self._ddb.put_item(
                TableName=self.table,
                Item=_dump(
                    {
                        "PK": "OBJECT_ERRORS",
                        "SK": key,
                        "error": error,
                        "seq": sequencer,
                        "recorded_at": to_iso(dt.datetime.now(dt.UTC)),
                    }
                ),
            )

    def clear_object_error(self, key: str) -> None:
        with storage("DynamoDB DeleteItem"):
            self._ddb.delete_item(
                TableName=self.table, Key=_dump({"PK": "OBJECT_ERRORS", "SK": key})
            )

    def clear(self) -> None:
        """Delete every item but the webhook delivery log (not derived from the objects): a
        paged Scan (a maintenance path, never a request path) and batched deletes."""
        paginator = self._ddb.get_paginator("scan")
        self._collections.clear()
        self._epoch = None
        with storage("DynamoDB Scan"):
            for page in paginator.paginate(
                TableName=self.table, ProjectionExpression="PK, SK", ConsistentRead=True
            ):
                items = page.get("Items", [])
                self.batch_delete([i for i in items if not i["PK"]["S"].startswith(KEEP)])

    def batch_delete(self, keys: list[dict[str, Any]]) -> None:
        """Delete items by their (serialized) keys, 25 to a BatchWriteItem."""
        with storage("DynamoDB BatchWriteItem"):
            for start in range(0, len(keys), 25):
                requests = [{"DeleteRequest": {"Key": k}} for k in keys[start : start + 25]]
                for attempt in range(10):  # botocore does not retry unprocessed items
                    response = self._ddb.batch_write_item(RequestItems={self.table: requests})
                    requests = response.get("UnprocessedItems", {}).get(self.table, [])
                    if not requests:
                        break
                    time.sleep(min(0.05 * 2**attempt, 2.0))

    def list_object_errors(self, limit: int = 100) -> list[ObjectError]:
        items = sorted(
            self.partition("OBJECT_ERRORS"),
            key=lambda i: (i["recorded_at"], i["SK"]),
            reverse=True,
        )[:limit]
        return [ObjectError(i["SK"], i["error"], i.get("seq"), i["recorded_at"]) for i in items]
