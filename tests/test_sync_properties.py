"""The change feed's promises as properties, on both backends (a contract module), with
hypothesis's stateful testing: any sequence of create, edit (with or without an end of
publication, ``expires_at`` or Hugo's ``expiryDate``, past or to come), publish, schedule,
re-schedule, unpublish, delete, reindex and the clock moving on, interleaved with sync clients
that page from their saved cursors (or go back to an older one):

- a client that applies every page to a map ends with exactly what delivery serves (slugs
  and titles), from whichever saved cursor it went on, but for entries scheduled for, or
  ending at, a moment of the settle window (the feed reads up to ``now - settle``: 5 s on
  AWS), which it names once the window has passed;
- no slug appears in the feed unless delivery served it at some moment before.

Each example gets a collection of its own, so examples do not see each other's entries.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from chalicelib import wiring
from chalicelib.domain.timeutil import parse_instant, to_iso
from tests.conftest import Api, FrozenClock

SLUGS = ("alpha", "beta", "gamma")
ENDS = ("expires_at", "expiryDate")  # the CMS's field and Hugo's
SETTLE = dt.timedelta(seconds=10)  # past the AWS backend's settle window (0 locally)
PAGE = 2  # small pages: a client stops between pages, and writes land in between
_examples = itertools.count()


@dataclass
class SyncClient:
    """What an incremental build keeps: its copy of the published entries and a cursor."""

    cursor: str | None = None
    entries: dict[str, str] = field(default_factory=dict)  # slug -> title
    saved: list[tuple[str | None, dict[str, str]]] = field(default_factory=list)

    def apply(self, items: list[dict[str, Any]], collection: str) -> None:
        for item in items:
            if item["collection"] != collection:
                continue
            if item["type"] == "upsert":
                self.entries[item["slug"]] = item["title"]
            else:
                self.entries.pop(item["slug"], None)


class FeedMachine(RuleBasedStateMachine):
    api: Api
    clock: FrozenClock
    settle: dt.timedelta  # the backend's sync settle window

    def __init__(self) -> None:
        super().__init__()
        self.collection = f"feed-{next(_examples)}"
        self.clients = [SyncClient(), SyncClient()]
        self.ever_served: set[str] = set()
        self.seen_in_feed: set[str] = set()
        self.revision = 0
        self.exists: set[str] = set()  # entries with a draft

    # --- the CMS ----------------------------------------------------------------------------

    def call(self, method: str, path: str, body: Any = None) -> Any:
        response = self.api.call(method, path, body)
        assert response.status_code < 500, (method, path, response.status_code, response.body)
        return response

    def entry_path(self, slug: str) -> str:
        return f"/v1/manage/content/{self.collection}/{slug}"

    def served(self, *, as_the_feed_sees_it: bool = False) -> dict[str, str]:
        """What delivery serves now: slug -> title (every page). ``as_the_feed_sees_it``:
        without the entries that became due within the settle window, which the feed (read up
        to ``now - settle`` only, so that no write about to commit is skipped) names later."""
        horizon = to_iso(self.clock.now() - self.settle)
        served: dict[str, str] = {}
        cursor = ""
        while True:
            response = self.api.call(
                "GET", f"/v1/content/{self.collection}?limit=100{cursor}", auth=False
            )
            assert response.status_code == 200, response.body
            page = json.loads(response.body)
            served.update(
                {
                    i["slug"]: i["title"]
                    for i in page["items"]
                    if not as_the_feed_sees_it or i["published_at"] <= horizon
                }
            )
            if not page.get("next_cursor"):
                return served
            cursor = f"&cursor={page['next_cursor']}"

    def probe(self) -> None:
        self.ever_served |= set(self.served())

    @initialize()
    def make_collection(self) -> None:
        self.api.collection(self.collection)

    def snapshots(self) -> list[dict[str, Any]]:
        response = self.api.call(
            "GET", f"/v1/manage/content/{self.collection}?stage=published&limit=100"
        )
        assert response.status_code == 200, response.body
        return list(json.loads(response.body)["items"])

    def advance(self, delta: dt.timedelta) -> None:
        """Move the clock on, stopping to record what delivery serves at every instant an
        entry becomes due in between: an entry public only for a while (due, then past its
        end) is served publicly, and the feed may name it, even if no rule looked then."""
        end = self.clock.now() + delta
        now = to_iso(self.clock.now())
        dues = sorted(
            {
                i["published_at"]
                for i in self.snapshots()
                if now < (i["published_at"] or "") < to_iso(end)
            }
        )
        for due in dues:
            self.clock.advance(seconds=(parse_instant(due) - self.clock.now()).total_seconds())
            self.probe()
        self.clock.advance(seconds=(end - self.clock.now()).total_seconds())

    def ending_in_window(self) -> set[str]:
        """Published snapshots whose end is within the settle window: delivery has stopped
        serving them, and the feed names their removal once the window has passed."""
        now, horizon = to_iso(self.clock.now()), to_iso(self.clock.now() - self.settle)
        return {i["slug"] for i in self.snapshots() if horizon < (i["expires_at"] or "~") <= now}

    @rule(
        slug=st.sampled_from(SLUGS),
        ends=st.none() | st.tuples(st.sampled_from(ENDS), st.integers(-30, 240)),
    )
    def write(self, slug: str, ends: tuple[str, int] | None) -> None:
        """Create the entry, or edit it (a new title, so a stale copy shows), with an end of
        publication ``ends`` minutes from now (past ones too) or none."""
        self.revision += 1
        front_matter: dict[str, Any] = {"title": f"{slug} r{self.revision}"}
        if ends is not None:
            name, minutes = ends
            end = self.clock.now() + dt.timedelta(minutes=minutes)
            front_matter[name] = end.strftime("%Y-%m-%dT%H:%M:%SZ")
        else:
            front_matter.update(dict.fromkeys(ENDS))  # a PATCH that removes the end
        body = f"Revision {self.revision}."
        if slug in self.exists:
            self.call("PATCH", self.entry_path(slug), {"front_matter": front_matter, "body": body})
            return
        given = {k: v for k, v in front_matter.items() if v is not None}
        created = {"front_matter": {**given, "slug": slug}, "body": body}
        response = self.call("POST", f"/v1/manage/content/{self.collection}", created)
        assert response.status_code == 201, response.body
        self.exists.add(slug)

    def existing(self, data: st.DataObject) -> str:
        return data.draw(st.sampled_from(sorted(self.exists)), label="slug")

    @precondition(lambda self: self.exists)
    @rule(data=st.data())
    def publish(self, data: st.DataObject) -> None:
        self.call("POST", f"{self.entry_path(self.existing(data))}/publish")

    @precondition(lambda self: self.exists)
    @rule(data=st.data(), minutes=st.integers(1, 180))
    def schedule(self, data: st.DataObject, minutes: int) -> None:
        """Also a re-schedule, of an entry that is public or scheduled already."""
        due = self.clock.now() + dt.timedelta(minutes=minutes)
        body = {"publish_at": due.strftime("%Y-%m-%dT%H:%M:%SZ")}
        self.call("POST", f"{self.entry_path(self.existing(data))}/publish", body)

    @precondition(lambda self: self.exists)
    @rule(data=st.data())
    def unpublish(self, data: st.DataObject) -> None:
        self.call("POST", f"{self.entry_path(self.existing(data))}/unpublish")

    @precondition(lambda self: self.exists)
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        slug = self.existing(data)
        assert self.call("DELETE", self.entry_path(slug)).status_code == 204
        self.exists.discard(slug)

    @rule(minutes=st.integers(1, 240))
    def time_passes(self, minutes: int) -> None:
        self.advance(dt.timedelta(minutes=minutes))

    @rule(rarely=st.integers(0, 5))
    def reindex(self, rarely: int) -> None:
        """The whole index rebuilt from the objects: every saved cursor ends (410)."""
        if rarely == 0:  # a rule without arguments would be drawn far more often than this
            self.call("POST", "/v1/manage/reindex", {})

    # --- the sync clients -------------------------------------------------------------------

    def page(self, client: SyncClient, limit: int = PAGE) -> bool:
        """One page into ``client``; False once it has nothing more. A 410 (the index was
        rebuilt) starts it again from nothing, as the README tells clients to."""
        self.advance(SETTLE)
        self.probe()  # the clock moved: an entry may have become due
        query = f"?limit={limit}" + (f"&cursor={client.cursor}" if client.cursor else "")
        response = self.api.call("GET", f"/v1/sync{query}", auth=False)
        if response.status_code == 410:
            client.cursor, client.entries = None, {}
            return True
        assert response.status_code == 200, response.body
        body = json.loads(response.body)
        ours = {i["slug"] for i in body["items"] if i["collection"] == self.collection}
        never_served = ours - self.ever_served
        assert not never_served, f"the feed names {never_served}, never served publicly"
        self.seen_in_feed |= ours
        client.apply(body["items"], self.collection)
        client.cursor = body["next_cursor"]
        return bool(body["has_more"])

    @rule(which=st.integers(0, 1))
    def sync_one_page(self, which: int) -> None:
        self.page(self.clients[which])

    @rule(which=st.integers(0, 1))
    def save_cursor(self, which: int) -> None:
        client = self.clients[which]
        client.saved.append((client.cursor, dict(client.entries)))

    @precondition(lambda self: any(c.saved for c in self.clients))
    @rule(which=st.integers(0, 1), data=st.data())
    def go_back_to_a_saved_cursor(self, which: int, data: st.DataObject) -> None:
        client = self.clients[which]
        if client.saved:
            cursor, entries = data.draw(st.sampled_from(client.saved))
            client.cursor, client.entries = cursor, dict(entries)

    @invariant()
    def record_what_is_served(self) -> None:
        self.probe()

    @rule(which=st.integers(0, 1))
    def catch_up(self, which: int) -> None:
        """Paging to the end gives exactly what delivery serves."""
        client = self.clients[which]
        while self.page(client, limit=100):  # other examples' entries are in the feed too
            pass
        ending = self.ending_in_window()
        kept = {slug: title for slug, title in client.entries.items() if slug not in ending}
        assert kept == self.served(as_the_feed_sees_it=True)

    def teardown(self) -> None:
        for client in self.clients:
            self.catch_up(self.clients.index(client))


def test_the_feed_converges_on_what_delivery_serves_and_names_only_what_was_public(
    api: Api, clock: FrozenClock, container: wiring.Container
) -> None:
    aws = container.backend_name != "local"

    class Machine(FeedMachine):
        pass

    Machine.api, Machine.clock = api, clock
    Machine.settle = dt.timedelta(seconds=container.limits.sync_settle_seconds)
    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=12 if aws else 30,
            stateful_step_count=40,
            deadline=None,
            database=None,
            print_blob=True,  # a rare failure in CI comes with what reproduces it
            suppress_health_check=list(HealthCheck),
        ),
    )
