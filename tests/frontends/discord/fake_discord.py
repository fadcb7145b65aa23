"""A fake Discord REST API on 127.0.0.1, good enough for the real discord.py client.

The bot under test logs in, syncs its commands and answers interactions over real HTTP; this
server records every request and, like Discord, refuses with a 400 "Invalid Form Body" a body
that its route's schema in Discord's OpenAPI spec rejects (``discord_spec.py``; skipped
when the spec is absent) or that breaks a documented rule the spec does not express (empty
message, embed totals, option order). It remembers every violation, so a test fails even if
the bot swallows the 400. Interactions are fed in as raw gateway ``INTERACTION_CREATE``
payloads built by the helpers at the bottom: handed straight to an in-process client
(``deliver``), or, for bots running in other processes, sent over a minimal fake gateway
(``/gateway``: HELLO, IDENTIFY -> READY for the shard, heartbeat ACK, then ``dispatch`` routes
each event to the shard Discord would, ``(guild_id >> 22) % shard_count``; DMs to shard 0).

discord.py internals relied on (checked against 2.7.1):
- ``discord.http.Route.BASE`` is the base URL of every REST call, including the webhook
  adapter used for interaction callbacks and follow-ups (``discord/webhook/async_.py`` imports
  the same ``Route``); the URL is built when a Route is created, so patching BASE is enough.
- ``ConnectionState.parse_interaction_create(payload)`` is what the gateway calls for an
  ``INTERACTION_CREATE`` event.
- Interaction callbacks are sent with ``?with_response=1`` and parsed as an
  ``InteractionCallback`` (``interaction.response_message_id`` is where a View gets stored).
- A sharded client connects to ``DiscordWebSocket.DEFAULT_GATEWAY`` when its shard count is
  given, else to the ``url`` of ``GET /gateway/bot``; it reads plain-text JSON frames as well
  as compressed ones, so the fake gateway sends text.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from tests.frontends.discord.discord_spec import DiscordSpec, discord_errors, load_spec

APP_ID = 700000000000000001
BOT_USER = {
    "id": str(APP_ID),
    "username": "quotebot",
    "global_name": "Quote Bot",
    "discriminator": "0",
    "avatar": None,
    "bot": True,
    "flags": 0,
}
OWNER = {"id": "700000000000000002", "username": "owner", "discriminator": "0", "avatar": None}

CALLBACK_MESSAGE = 4
CALLBACK_DEFER_MESSAGE = 5
CALLBACK_DEFER_UPDATE = 6
CALLBACK_UPDATE_MESSAGE = 7
CALLBACK_AUTOCOMPLETE = 8
EPHEMERAL = 1 << 6

COMMAND_NAME = re.compile(r"^[-_\w]{1,32}$")


def _json(data: Any, status: int = 200) -> web.Response:
    """discord.py only parses a body whose Content-Type is exactly ``application/json``."""
    return web.Response(
        body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"}
    )


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    json: Any


@dataclass
class FakeDiscord:
    """Records requests; ``callbacks[interaction_id]`` lists every callback body received."""

    requests: list[Recorded] = field(default_factory=list)
    callbacks: dict[int, list[dict]] = field(default_factory=lambda: defaultdict(list))
    followups: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))
    edits: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))
    messages: dict[int, dict] = field(default_factory=dict)
    responses: dict[int, int] = field(default_factory=dict)  # interaction id -> message id
    commands: dict[int | None, list[dict]] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    unknown_routes: list[str] = field(default_factory=list)
    spec: DiscordSpec | None = field(default_factory=load_spec)  # None: spec file absent
    spec_checked: int = 0  # request bodies validated against the spec
    port: int = 0
    _ids: Any = field(default_factory=lambda: itertools.count(900000000000000000))
    _runner: web.AppRunner | None = None
    _changed: asyncio.Condition | None = None
    # interaction token -> (interaction id, channel id) for follow-ups and @original
    _tokens: dict[str, tuple[int, int]] = field(default_factory=dict)
    # The fake gateway: shard id -> its live socket; every IDENTIFY as (shard id, count)
    shards: dict[int, web.WebSocketResponse] = field(default_factory=dict)
    identified: list[tuple[int, int]] = field(default_factory=list)
    recommended_shards: int = 1  # what GET /gateway/bot answers
    _sequence: Any = field(default_factory=lambda: itertools.count(2))

    # ---- server lifecycle -------------------------------------------------------------

    async def start(self) -> None:
        self._changed = asyncio.Condition()
        app = web.Application()
        app.router.add_route("*", "/api/v10/{tail:.*}", self._handle)
        app.router.add_get("/gateway", self._gateway)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        for ws in list(self.shards.values()):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    def next_id(self) -> int:
        return next(self._ids)

    # ---- waiting ----------------------------------------------------------------------

    async def wait_for(self, predicate, timeout: float = 10.0) -> None:
        assert self._changed is not None
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)

    async def callback_for(self, interaction_id: int, timeout: float = 10.0) -> dict:
        """The (first) callback body the bot sent for this interaction."""
        await self.wait_for(lambda: self.callbacks.get(interaction_id), timeout)
        return self.callbacks[interaction_id][0]

    async def _notify(self) -> None:
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()

    # ---- request handling -------------------------------------------------------------

    async def _body(self, request: web.Request) -> Any:
        """JSON body, or the ``payload_json`` part of a multipart body (used with files)."""
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            raw = form.get("payload_json")
            return json.loads(raw) if isinstance(raw, str) else None
        raw = await request.read()
        return json.loads(raw) if raw else None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        path = "/" + request.match_info["tail"]
        self.requests.append(Recorded(request.method, path, dict(request.query), body))
        try:
            response = self._route(request.method, path, body, self._spec_problems(request, body))
        finally:
            await self._notify()
        return response

    def _spec_problems(self, request: web.Request, body: Any) -> list[str]:
        """What Discord's OpenAPI spec refuses in this request (``[]`` without the spec)."""
        if self.spec is None or (body is None and request.method in ("GET", "DELETE")):
            return []
        self.spec_checked += 1
        content_type = request.content_type if body is not None else "application/json"
        return self.spec.validate(request.method, request.path, body, content_type)

    def _route(
        self, method: str, path: str, body: Any, problems: list[str]
    ) -> web.StreamResponse:
        """Answer as Discord would; ``problems`` are the spec's objections to ``body``."""
        parts = path.strip("/").split("/")
        match method, parts:
            case "GET", ["users", "@me"]:
                return _json(BOT_USER)
            case "GET", ["gateway", "bot"]:
                return _json(self._gateway_bot())
            case "GET", ["oauth2", "applications", "@me"]:
                return _json(self._app_info())
            case "GET", ["applications", _, "commands"]:
                return _json(self.commands.get(None, []))
            case "GET", ["applications", _, "guilds", guild, "commands"]:
                return _json(self.commands.get(int(guild), []))
            case "PUT", ["applications", _, "commands"]:
                return self._sync(None, body, problems)
            case "PUT", ["applications", _, "guilds", guild, "commands"]:
                return self._sync(int(guild), body, problems)
            case "POST", ["interactions", interaction_id, token, "callback"]:
                return self._callback(int(interaction_id), token, body, problems)
            case "POST", ["webhooks", _, token]:
                return self._followup(token, body, problems)
            case "PATCH", ["webhooks", _, token, "messages", message]:
                return self._edit(token, message, body, problems)
            case "GET", ["webhooks", _, token, "messages", message]:
                found = self._message_for(token, message)
                return _json(found) if found else self._not_found(path)
            case "DELETE", ["webhooks", _, token, "messages", _message]:
                return web.Response(status=204)
        if problems:
            return self._bad_request(problems)
        self.unknown_routes.append(f"{method} {path}")
        return self._not_found(path)

    def _gateway_bot(self) -> dict:
        return {
            "url": self.gateway_url,
            "shards": self.recommended_shards,
            "session_start_limit": {
                "total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1
            },
        }

    # ---- the gateway --------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        """One shard's session: HELLO; IDENTIFY -> READY; heartbeats ACKed; RESUME refused
        (op 9), so a reconnecting shard identifies afresh; events come from ``dispatch``."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": 41250}})
        shard_id: int | None = None
        try:
            async for message in ws:
                if message.type != web.WSMsgType.TEXT:
                    continue
                event = json.loads(message.data)
                op, data = event.get("op"), event.get("d")
                if op == 1:
                    await ws.send_json({"op": 11})
                elif op == 2:
                    shard_id, count = (data.get("shard") or [0, 1])[:2]
                    self.shards[shard_id] = ws
                    self.identified.append((shard_id, count))
                    ready = self._ready(shard_id, count)
                    await ws.send_json({"op": 0, "t": "READY", "s": 1, "d": ready})
                    await self._notify()
                elif op == 6:
                    await ws.send_json({"op": 9, "d": False})
        finally:
            if shard_id is not None and self.shards.get(shard_id) is ws:
                del self.shards[shard_id]
                await self._notify()
        return ws

    def _ready(self, shard_id: int, count: int) -> dict:
        return {
            "v": 10,
            "user": BOT_USER,
            "guilds": [],
            "session_id": f"session-{shard_id}-{self.next_id()}",
            "resume_gateway_url": self.gateway_url,
            "shard": [shard_id, count],
            "application": {"id": str(APP_ID), "flags": 0},
        }

    @staticmethod
    def shard_of(payload: dict, shard_count: int) -> int:
        """The shard Discord sends this interaction to: its server's, DMs to shard 0."""
        guild_id = int(payload.get("guild_id") or 0)
        return (guild_id >> 22) % shard_count

    async def dispatch(self, payload: dict, shard_count: int) -> int | None:
        """Send ``payload`` as INTERACTION_CREATE over its shard's gateway socket; the
        interaction id, or None when that shard is not connected (Discord would not deliver
        it either: the person sees "The application did not respond")."""
        ws = self.shards.get(self.shard_of(payload, shard_count))
        if ws is None or ws.closed:
            return None
        self.register(payload)
        event = {"op": 0, "t": "INTERACTION_CREATE", "s": next(self._sequence), "d": payload}
        try:
            await ws.send_json(event)
        except (ConnectionError, RuntimeError):  # the process died while we sent
            return None
        return int(payload["id"])

    def _not_found(self, path: str) -> web.Response:
        return _json({"message": f"Unknown route {path}", "code": 0}, status=404)

    def _bad_request(self, problems: list[str]) -> web.Response:
        """Discord's 400: ``errors`` nests each problem under its JSON path (see
        ``discord_errors``), the shape discord.py flattens into ``HTTPException.text``."""
        self.violations.extend(problems)
        return _json(
            {"message": "Invalid Form Body", "code": 50035, "errors": discord_errors(problems)},
            status=400,
        )

    def _app_info(self) -> dict:
        return {
            "id": str(APP_ID),
            "name": "Quote Bot",
            "description": "",
            "icon": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": OWNER,
            "verify_key": "0" * 64,
            "flags": 0,
            "interactions_endpoint_url": None,
        }

    def _sync(self, guild: int | None, body: list[dict], problems: list[str]) -> web.Response:
        problems = problems + command_problems(body)
        if problems:
            return self._bad_request(problems)
        stored = []
        for command in body:
            stored.append(
                {
                    **command,
                    "id": str(self.next_id()),
                    "application_id": str(APP_ID),
                    "version": "1",
                    **({"guild_id": str(guild)} if guild else {}),
                }
            )
        self.commands[guild] = stored
        return _json(stored)

    def _callback(
        self, interaction_id: int, token: str, body: dict, problems: list[str]
    ) -> web.Response:
        self.callbacks[interaction_id].append(body)
        problems = problems + message_problems(body.get("data") or {}, body.get("type"))
        if problems:
            return self._bad_request(problems)
        kind = body.get("type")
        channel_id = self._tokens.get(token, (interaction_id, 0))[1]
        interaction: dict[str, Any] = {"id": str(interaction_id), "type": 2}
        result: dict[str, Any] = {"interaction": interaction}
        if kind in (CALLBACK_MESSAGE, CALLBACK_DEFER_MESSAGE, CALLBACK_UPDATE_MESSAGE):
            data = body.get("data") or {}
            if kind == CALLBACK_UPDATE_MESSAGE:
                message_id = self._tokens.get(token + ":message", (0, 0))[0]
                message = self.messages.get(message_id) or self._new_message(channel_id, {})
                message.update({k: v for k, v in data.items() if k != "allowed_mentions"})
            else:
                message = self._new_message(channel_id, data)
                self._tokens[token + ":original"] = (int(message["id"]), channel_id)
                self.responses[interaction_id] = int(message["id"])
            interaction["response_message_id"] = message["id"]
            interaction["response_message_loading"] = kind == CALLBACK_DEFER_MESSAGE
            interaction["response_message_ephemeral"] = bool(
                (data.get("flags") or 0) & EPHEMERAL
            )
            result["resource"] = {"type": kind, "message": message}
        return _json(result)

    def _followup(self, token: str, body: dict, problems: list[str]) -> web.Response:
        self.followups[token].append(body)
        problems = problems + message_problems(body or {}, CALLBACK_MESSAGE)
        if problems:
            return self._bad_request(problems)
        channel_id = self._tokens.get(token, (0, 0))[1]
        return _json(self._new_message(channel_id, body or {}))

    def _edit(self, token: str, message: str, body: dict, problems: list[str]) -> web.Response:
        self.edits[token].append(body)
        problems = problems + message_problems(body or {}, CALLBACK_UPDATE_MESSAGE)
        if problems:
            return self._bad_request(problems)
        found = self._message_for(token, message)
        if found is None:
            found = self._new_message(self._tokens.get(token, (0, 0))[1], {})
        found.update({k: v for k, v in (body or {}).items() if k != "allowed_mentions"})
        return _json(found)

    def _message_for(self, token: str, message: str) -> dict | None:
        if message == "@original":
            message_id = self._tokens.get(token + ":original", (0, 0))[0]
        else:
            message_id = int(message)
        return self.messages.get(message_id)

    def _new_message(self, channel_id: int, data: dict) -> dict:
        message_id = self.next_id()
        message = {
            "id": str(message_id),
            "channel_id": str(channel_id),
            "author": BOT_USER,
            "content": data.get("content") or "",
            "timestamp": datetime.now(timezone.utc).isoformat(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": data.get("embeds") or [],
            "components": data.get("components") or [],
            "pinned": False,
            "type": 20,
            "flags": data.get("flags") or 0,
            "application_id": str(APP_ID),
        }
        self.messages[message_id] = message
        return message

    # ---- interaction payloads ---------------------------------------------------------

    def register(self, payload: dict) -> dict:
        """Remember which channel an interaction came from, for follow-ups and edits."""
        channel_id = int(payload["channel"]["id"])
        self._tokens[payload["token"]] = (int(payload["id"]), channel_id)
        if payload["type"] == 3:
            self._tokens[payload["token"] + ":message"] = (int(payload["message"]["id"]), 0)
        return payload

    def replies(self, interaction_id: int) -> list[dict]:
        return self.callbacks.get(interaction_id, [])

    def message_of(self, interaction_id: int) -> dict:
        """The message (as it stands now) that the bot created in answer to an interaction."""
        return self.messages[self.responses[interaction_id]]

    def message_bodies(self) -> list[dict]:
        """Every message body the bot sent: callbacks, follow-ups and edits."""
        bodies = [
            body.get("data") or {}
            for calls in self.callbacks.values()
            for body in calls
            if body.get("type") in (CALLBACK_MESSAGE, CALLBACK_UPDATE_MESSAGE)
        ]
        bodies += [b for calls in self.followups.values() for b in calls]
        bodies += [b for calls in self.edits.values() for b in calls]
        return bodies

    def deliver(self, client: Any, payload: dict) -> int:
        """Hand ``payload`` to the client as the gateway would; returns the interaction id."""
        self.register(payload)
        client._connection.parse_interaction_create(payload)
        return int(payload["id"])

    async def interact(self, client: Any, payload: dict, timeout: float = 10.0) -> dict:
        """Deliver ``payload`` and return the bot's callback body for it.

        When the reply carries buttons, also wait until discord.py has registered them: it
        does so only after our HTTP response reaches it, and a test that clicks at once
        would otherwise race it (a person cannot click a message that has not arrived).
        """
        body = await self.callback_for(self.deliver(client, payload), timeout)
        custom_ids = {
            component["custom_id"]
            for row in (body.get("data") or {}).get("components") or []
            for component in row.get("components", [])
            if "custom_id" in component
        }
        if custom_ids:
            store = client._connection._view_store
            deadline = asyncio.get_running_loop().time() + timeout
            while not any(
                key[1] in custom_ids for items in store._views.values() for key in items
            ):
                if asyncio.get_running_loop().time() > deadline:
                    raise AssertionError("the bot never registered its buttons")
                await asyncio.sleep(0.001)
        return body


# ---- Discord's validation rules, applied to what the bot sends ---------------------------


def _length(value: Any) -> int:
    return len(value or "")


def embed_problems(embed: dict) -> list[str]:
    problems = []
    limits = {"title": 256, "description": 4096}
    for key, limit in limits.items():
        if _length(embed.get(key)) > limit:
            problems.append(f"embed {key} longer than {limit}")
    fields = embed.get("fields") or []
    if len(fields) > 25:
        problems.append("more than 25 embed fields")
    for item in fields:
        if not 1 <= _length(item.get("name")) <= 256:
            problems.append(f"embed field name length {_length(item.get('name'))}")
        if not 1 <= _length(item.get("value")) <= 1024:
            problems.append(f"embed field value length {_length(item.get('value'))}")
    if _length((embed.get("footer") or {}).get("text")) > 2048:
        problems.append("embed footer longer than 2048")
    if _length((embed.get("author") or {}).get("name")) > 256:
        problems.append("embed author longer than 256")
    return problems


def embed_total(embed: dict) -> int:
    return (
        _length(embed.get("title"))
        + _length(embed.get("description"))
        + sum(_length(f.get("name")) + _length(f.get("value")) for f in embed.get("fields") or [])
        + _length((embed.get("footer") or {}).get("text"))
        + _length((embed.get("author") or {}).get("name"))
    )


def message_problems(data: dict, kind: int | None) -> list[str]:
    """What Discord would refuse in a message body (or autocomplete result)."""
    problems = []
    if kind == CALLBACK_AUTOCOMPLETE:
        choices = data.get("choices") or []
        if len(choices) > 25:
            problems.append("more than 25 choices")
        for choice in choices:
            if not 1 <= _length(choice.get("name")) <= 100:
                problems.append(f"choice name length {_length(choice.get('name'))}")
            if len(str(choice.get("value"))) > 100:
                problems.append("choice value longer than 100")
        return problems
    if kind not in (CALLBACK_MESSAGE, CALLBACK_UPDATE_MESSAGE):
        return problems
    if _length(data.get("content")) > 2000:
        problems.append(f"content length {_length(data.get('content'))} > 2000")
    embeds = data.get("embeds") or []
    if len(embeds) > 10:
        problems.append("more than 10 embeds")
    for embed in embeds:
        problems.extend(embed_problems(embed))
    if sum(embed_total(e) for e in embeds) > 6000:
        problems.append("embeds total longer than 6000")
    if kind == CALLBACK_MESSAGE and not data.get("content") and not embeds:
        problems.append("cannot send an empty message")
    return problems


DISCORD_LOCALES = frozenset({
    "id", "da", "de", "en-GB", "en-US", "es-ES", "es-419", "fr", "hr", "it", "lt", "hu", "nl",
    "no", "pl", "pt-BR", "ro", "fi", "sv-SE", "vi", "tr", "cs", "el", "bg", "ru", "uk", "hi",
    "th", "zh-CN", "ja", "zh-TW", "ko",
})


def localized_name_ok(name: str) -> bool:
    """Discord's rule for a localized name: ``^[-_\\p{L}\\p{N}\\p{sc=Deva}\\p{sc=Thai}]{1,32}$``,
    lowercase where the script has case. Checked by Unicode category (letters, digits, ``-``,
    ``_``): stricter than Discord only for Devanagari/Thai marks, which no catalog uses."""
    return (
        1 <= len(name) <= 32
        and all(ch in "-_" or unicodedata.category(ch)[0] in "LN" for ch in name)
        and name == name.lower()
    )


def localization_problems(item: dict) -> list[str]:
    """``name_localizations`` / ``description_localizations`` that Discord would refuse."""
    problems = []
    for key in ("name_localizations", "description_localizations"):
        for locale, value in (item.get(key) or {}).items():
            if locale not in DISCORD_LOCALES:
                problems.append(f"{key}: unknown locale {locale!r}")
            elif key == "name_localizations" and not localized_name_ok(value):
                problems.append(f"bad {locale} name {value!r}")
            elif key == "description_localizations" and not 1 <= _length(value) <= 100:
                problems.append(f"{locale} description length {_length(value)}")
    return problems


def command_problems(commands: list[dict]) -> list[str]:
    """Discord's rules for registering application commands."""
    problems = []
    if len(commands) > 100:
        problems.append("more than 100 commands")

    def check(item: dict, where: str) -> None:
        name = item.get("name", "")
        if not COMMAND_NAME.match(name) or name != name.lower():
            problems.append(f"{where}: bad name {name!r}")
        if not 1 <= _length(item.get("description")) <= 100:
            problems.append(f"{where}: description length {_length(item.get('description'))}")
        problems.extend(f"{where}: {p}" for p in localization_problems(item))
        options = item.get("options") or []
        if len(options) > 25:
            problems.append(f"{where}: more than 25 options")
        seen_optional = False
        for option in options:
            if option.get("type") in (1, 2):
                check(option, f"{where} {option.get('name')}")
                continue
            if option.get("required"):
                if seen_optional:
                    problems.append(f"{where}: required option after an optional one")
            else:
                seen_optional = True
            check(option, f"{where} {option.get('name')}")
            if len(option.get("choices") or []) > 25:
                problems.append(f"{where}: more than 25 choices")

    for command in commands:
        check(command, "/" + command.get("name", "?"))
    return problems


# ---- raw INTERACTION_CREATE payloads -----------------------------------------------------

_interaction_ids = itertools.count(800000000000000000)

GUILD_ID = 600000000000000001
CHANNEL_ID = 600000000000000002
MANAGE_MESSAGES = 1 << 13
MANAGE_GUILD = 1 << 5  # "Manage Server" in Discord's UI
MEMBER_PERMISSIONS = (1 << 10) | (1 << 11) | (1 << 31)  # view channel, send, use commands


def user(user_id: int, name: str | None = None) -> dict:
    return {
        "id": str(user_id),
        "username": name or f"user{user_id}",
        "global_name": None,
        "discriminator": "0",
        "avatar": None,
        "flags": 0,
    }


def _base(
    kind: int,
    *,
    user_id: int,
    guild: bool,
    permissions: int,
    locale: str = "en-US",
    guild_locale: str = "en-US",
    guild_id: int = GUILD_ID,
) -> dict:
    interaction_id = next(_interaction_ids)
    payload: dict[str, Any] = {
        "id": str(interaction_id),
        "application_id": str(APP_ID),
        "type": kind,
        "token": f"tok-{interaction_id}",
        "version": 1,
        "locale": locale,
        "app_permissions": str(MEMBER_PERMISSIONS),
        "attachment_size_limit": 10 * 1024 * 1024,
        "entitlements": [],
        "authorizing_integration_owners": {"0": str(guild_id)} if guild else {"1": str(user_id)},
        "context": 0 if guild else 1,
    }
    if guild:
        payload["guild_id"] = str(guild_id)
        payload["guild_locale"] = guild_locale
        payload["channel_id"] = str(CHANNEL_ID)
        payload["channel"] = {"id": str(CHANNEL_ID), "type": 0, "guild_id": str(guild_id),
                              "name": "general", "position": 0, "permission_overwrites": [],
                              "nsfw": False, "parent_id": None}
        payload["member"] = {
            "user": user(user_id),
            "roles": [],
            "joined_at": "2024-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "permissions": str(permissions),
        }
    else:
        dm_channel = 500000000000000000 + user_id % 1_000_000
        payload["channel_id"] = str(dm_channel)
        payload["channel"] = {"id": str(dm_channel), "type": 1,
                              "recipients": [user(user_id)], "last_message_id": None, "flags": 0}
        payload["user"] = user(user_id)
    return payload


def command(
    name: str,
    options: dict[str, Any] | None = None,
    *,
    sub: str | None = None,
    user_id: int = 111,
    guild: bool = True,
    permissions: int = MEMBER_PERMISSIONS,
    focused: str | None = None,
    locale: str = "en-US",
    guild_locale: str = "en-US",
    guild_id: int = GUILD_ID,
) -> dict:
    """A slash command (type 2) or, with ``focused``, an autocomplete request (type 4);
    ``locale`` is the user's client language, ``guild_locale`` the server's."""
    kinds = {str: 3, int: 4, bool: 5, float: 10}
    opts = [
        {"name": key, "type": kinds[type(value)], "value": value, **({"focused": True}
                                                                      if key == focused else {})}
        for key, value in (options or {}).items()
    ]
    if sub is not None:
        opts = [{"name": sub, "type": 1, "options": opts}]
    payload = _base(4 if focused else 2, user_id=user_id, guild=guild, permissions=permissions,
                    locale=locale, guild_locale=guild_locale, guild_id=guild_id)
    payload["data"] = {"id": "1", "name": name, "type": 1, "options": opts}
    return payload


def button(
    message: dict,
    custom_id: str,
    *,
    user_id: int = 111,
    guild: bool = True,
    permissions: int = MEMBER_PERMISSIONS,
    locale: str = "en-US",
    guild_locale: str = "en-US",
) -> dict:
    """A button click (type 3) on ``message`` (as the fake stored it)."""
    payload = _base(3, user_id=user_id, guild=guild, permissions=permissions, locale=locale,
                    guild_locale=guild_locale)
    payload["message"] = {**message, "channel_id": payload["channel"]["id"]}
    payload["data"] = {"custom_id": custom_id, "component_type": 2}
    return payload


def buttons_of(message: dict) -> dict[str, str]:
    """label -> custom_id for every button in a stored message."""
    found = {}
    for row in message.get("components") or []:
        for item in row.get("components") or []:
            if item.get("type") == 2 and "custom_id" in item:
                found[item.get("label", "")] = item["custom_id"]
    return found
