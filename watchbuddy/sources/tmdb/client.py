"""The TMDB API client: rate-limited, concurrent, patient with TMDB's errors, silent about secrets.

One `TmdbClient` per run. Requests pass a client-side token bucket (default 35/s, under
TMDB's ~40/s) and a concurrency bound; 429, 5xx, timeouts and connection errors are retried
with exponential backoff and full jitter, honouring `Retry-After`. A 401 stops the run at
once (retrying a bad key only earns a ban). A 404 is an answer, not an error: `get` returns
None and counts it, and the caller records the title as removed from TMDB. Malformed JSON is
retried once; a second one raises `TmdbMalformed`, so the caller knows that this one request
was lost (unlike a 404, its resource may well exist) and can keep its checkpoint before it.

A hostile or broken server gets the same treatment as a malformed answer, never a hang, a
memory blow-up or a traceback: the whole request (connecting, headers and body) must end
within the timeout (`WATCHBUDDY_TMDB_TIMEOUT`; httpx's own timeouts bound each read, so a body
trickling in a byte a second would never time out), else it is retried like any timeout. A
body is streamed and decoded here, with a cap (`MAX_BODY_BYTES`) on what it weighs both on
the wire and decoded, so a gzip bomb stops at the cap instead of filling memory. JSON is
parsed safely (too deep a nesting is malformed, not a RecursionError), and a page
(`get_page`) must have the envelope TMDB's paginated answers have. Only a 2xx answer is
data: a redirect is an error (never followed, so the credential goes to no other host).

A `Retry-After` is honoured only when it is what RFC 9110 allows (a number of seconds or an
HTTP-date), and never for more than `RETRY_AFTER_CAP`: a server that sends `NaN`, `inf`,
`-1` or a date in the year 9999 gets the ordinary backoff, not a wait of forever (or a busy
loop). Every wait goes through one function that refuses to wait less than nothing or
longer than `MAX_WAIT`, whatever it is handed.

The credential is sent as `api_key` (v3 key) or `Authorization: Bearer` (v4 token) and
never appears in a log line, an exception message or a stored error: every message is
built from the endpoint path alone, and `redact()` scrubs anything else that is shown.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import json
import logging
import random
import re
import threading
import time
import zlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from watchbuddy.errors import (
    MissingCredential,
    TmdbAuthError,
    TmdbError,
    TmdbMalformed,
    TmdbUnavailable,
)
from watchbuddy.redact import redact, scrub
from watchbuddy.safe_text import clip_json
from watchbuddy.settings import Settings

log = logging.getLogger("watchbuddy.sources.tmdb.client")

MAX_THROTTLED = 100  # 429s per request before giving up (about eight minutes of waiting)
BACKOFF_BASE = 0.5  # seconds; attempt n waits up to BACKOFF_BASE * 2**n (full jitter)
BACKOFF_CAP = 30.0
RETRY_AFTER_CAP = 60.0
MAX_WAIT = max(BACKOFF_CAP, RETRY_AFTER_CAP)  # no single wait is longer, whatever asked for it
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
DEFAULT_CONCURRENCY = 8
# The most an answer may weigh, on the wire and decoded. TMDB's answers that we ask for are
# far smaller (a discover page about 20 KB, details with keywords under 1 MB); past it the
# answer is malformed, and reading stops there.
MAX_BODY_BYTES = 8 << 20
MAX_JSON_DEPTH = 32  # TMDB's answers nest 4 levels; deeper is malformed, not a RecursionError
MAX_TOTAL = 2**31 - 1  # a page's total_pages and total_results are 32-bit counts


class _Unusable(Exception):
    """A 2xx answer that is not data (the message says what it is, as a noun phrase)."""


@dataclass
class ClientStats:
    requests: int = 0
    retries: int = 0
    not_found: int = 0
    malformed: int = 0
    errors: list[str] = field(default_factory=list)


# Set while the process shuts down (the scheduler on SIGTERM): requests stop retrying and
# waiting, so a job stuck behind a TMDB outage or a 429 storm ends in seconds, as a failed
# run that published nothing, instead of holding the shutdown for minutes.
_STOPPING = threading.Event()
STOP_POLL_SECONDS = 0.25


def request_stop() -> None:
    _STOPPING.set()


def clear_stop() -> None:
    _STOPPING.clear()


def stopping() -> bool:
    """Whether the process is shutting down (every request now raises TmdbUnavailable):
    a job that goes on after one failed part stops instead."""
    return _STOPPING.is_set()


# How the client waits (tests pass one that records the waits instead of sleeping).
Sleep = Callable[[float], Awaitable[None]]


def _bounded(seconds: float) -> float:
    """A wait between 0 and MAX_WAIT: NaN and negative waits are no wait, infinite ones the
    cap (asyncio would spin on a NaN deadline, never returning and never yielding for long)."""
    if not seconds > 0:  # also NaN
        return 0.0
    return min(seconds, MAX_WAIT)


async def _sleep(seconds: float) -> None:
    """asyncio.sleep that ends early when the process is stopping."""
    deadline = time.monotonic() + _bounded(seconds)
    while not _STOPPING.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        await asyncio.sleep(min(left, STOP_POLL_SECONDS))


class RateLimiter:
    """A token bucket: at most `rate` request starts per second, bursts up to `burst`.

    `pause()` (after a 429) stops every request until the given time has passed, without
    stacking: ten requests that all hit 429 pause the client once, not ten times.
    """

    def __init__(self, rate: float, burst: float = 1.0, sleep: Sleep = _sleep) -> None:
        self.rate = rate
        self.capacity = max(burst, 1.0)
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self.not_before = 0.0
        self.lock = asyncio.Lock()
        self.sleep = sleep

    async def acquire(self) -> None:
        async with self.lock:
            while True:
                now = time.monotonic()
                if _STOPPING.is_set():
                    return  # the caller checks and stops before sending
                if now < self.not_before:
                    paused_until = self.not_before
                    await self.sleep(paused_until - now)
                    if self.not_before == paused_until:
                        # That pause is served, even by a sleep that returned early (a
                        # test's); a pause that came in meanwhile still stands.
                        now = time.monotonic()
                        self.not_before = min(paused_until, now)
                        self.updated = min(self.updated, now)
                    continue
                self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                await self.sleep((1 - self.tokens) / self.rate)

    def pause(self, seconds: float) -> None:
        now = time.monotonic()
        self.not_before = max(self.not_before, now + _bounded(seconds))
        self.tokens = 0.0
        self.updated = max(self.updated, self.not_before)


class _RedactingFilter(logging.Filter):
    """httpx logs every request URL at INFO, and a v3 key travels in the URL: scrub it."""

    def __init__(self) -> None:
        super().__init__("watchbuddy-redact")
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            record.msg, record.args = scrub(record.getMessage(), self.secrets), None
        return True


_REDACTOR = _RedactingFilter()
for _name in (
    "httpx",
    "httpcore",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.connection",
    "httpcore.proxy",
):
    logging.getLogger(_name).addFilter(_REDACTOR)


def _throttle_delay(count: int) -> float:
    """Wait after the count-th 429 in a row without Retry-After: TMDB's window is about a
    second, so start short and grow gently to 2 s, with jitter so clients spread out."""
    return min(0.1 * 1.5**count, 2.0) * random.uniform(0.5, 1.0)


_DELAY_SECONDS = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def retry_after_seconds(value: str | None, now: dt.datetime | None = None) -> float | None:
    """The wait a `Retry-After` value asks for, at most RETRY_AFTER_CAP; None when there is
    none or it is neither form RFC 9110 allows: delay-seconds (digits; a decimal fraction is
    tolerated) or an HTTP-date (a date in the past means now). `NaN`, `inf`, `-1`, `1e12`,
    an empty value or a date that does not parse are None, and the caller backs off as if
    the header were absent."""
    if value is None:
        return None
    text = value.strip()
    if _DELAY_SECONDS.fullmatch(text):
        seconds = float(text)  # digits only: finite, or inf for hundreds of them
        return min(seconds, RETRY_AFTER_CAP)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" and asctime dates: HTTP-dates are always UTC
        when = when.replace(tzinfo=dt.UTC)
    seconds = (when - (now or dt.datetime.now(dt.UTC))).total_seconds()
    return min(max(seconds, 0.0), RETRY_AFTER_CAP)


def _retry_after(response: httpx.Response) -> float | None:
    return retry_after_seconds(response.headers.get("Retry-After"))


async def _read_body(response: httpx.Response, cap: int = MAX_BODY_BYTES) -> bytes:
    """The body, decoded, reading no further than `cap` bytes on the wire or decoded.

    httpx would inflate each network chunk whole (64 KB of gzip can hold 64 MB), so the
    body is read raw and inflated here with a bound on the output. We ask for gzip only;
    another encoding is an answer we cannot read."""
    encoding = response.headers.get("Content-Encoding", "").strip().lower()
    if encoding in ("", "identity"):
        inflater = None
    elif encoding in ("gzip", "x-gzip"):
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif encoding == "deflate":
        inflater = zlib.decompressobj()
    else:
        raise _Unusable("an answer in an encoding it was not asked for")
    too_large = _Unusable(f"an answer over {cap >> 20} MB")
    chunks: list[bytes] = []
    wire = size = 0
    try:
        async for raw in response.aiter_raw():
            wire += len(raw)
            if wire > cap:
                raise too_large
            data = raw if inflater is None else inflater.decompress(raw, cap + 1 - size)
            size += len(data)
            if size > cap or (inflater is not None and inflater.unconsumed_tail):
                raise too_large
            chunks.append(data)
        if inflater is not None:
            rest = inflater.flush()
            size += len(rest)
            if size > cap:
                raise too_large
            chunks.append(rest)
    except zlib.error:
        raise _Unusable("a gzip body that does not inflate") from None
    return b"".join(chunks)


def _parse_json(body: bytes) -> Any:
    """JSON text -> value; raises _Unusable for anything but JSON nested at most
    MAX_JSON_DEPTH deep (Python's parser raises RecursionError on deep nesting, and a deep
    value would raise it again wherever it is used)."""
    try:
        value = json.loads(body)
    except RecursionError:
        raise _Unusable("JSON nested too deeply") from None
    except ValueError:  # also invalid UTF-8, and integers of thousands of digits
        raise _Unusable("malformed JSON") from None
    level: list[Any] = [value]
    for _ in range(MAX_JSON_DEPTH):
        level = [
            child
            for item in level
            if isinstance(item, dict | list)
            for child in (item.values() if isinstance(item, dict) else item)
        ]
        if not level:
            return value
    raise _Unusable("JSON nested too deeply")


def _page_problem(body: dict[str, Any]) -> str | None:
    """Why `body` is not a page of TMDB's paginated answers (None: it is one): a list of
    results and whole-number totals in range, which a caller can then trust."""
    if not isinstance(body.get("results"), list):
        return f"a page whose results are not a list ({clip_json(body.get('results'))})"
    for key in ("total_pages", "total_results"):
        value = body.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TOTAL:
            expected = f"a whole number from 0 to {MAX_TOTAL:,}"
            return f"a page whose {key} is not {expected} ({clip_json(value)})"
    return None


class TmdbClient:
    """Async TMDB v3 client; use as `async with TmdbClient(settings) as tmdb: ...`."""

    def __init__(
        self,
        settings: Settings,
        concurrency: int = DEFAULT_CONCURRENCY,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        max_attempts: int | None = None,
        sleep: Sleep = _sleep,
    ) -> None:
        if not settings.has_tmdb_credential:
            raise MissingCredential(
                "No TMDB credential: set TMDB_API_KEY (v3 key) or TMDB_READ_ACCESS_TOKEN "
                "(v4 token), or add it to watchbuddy.toml."
            )
        self.settings = settings
        for secret in (settings.tmdb_api_key, settings.tmdb_read_access_token):
            if secret:
                _REDACTOR.secrets.add(secret.reveal())
        self.stats = ClientStats()
        # Consecutive failures (timeouts, connection errors, 5xx) per request.
        self.max_attempts = max_attempts or settings.tmdb_attempts
        self._sleep = sleep
        self.limiter = RateLimiter(
            settings.tmdb_rps, burst=max(1.0, settings.tmdb_rps / 10), sleep=sleep
        )
        self.slots = asyncio.Semaphore(concurrency)
        # The whole of one request, body included, must end within this (see the module).
        self.deadline = timeout.read if timeout.read is not None else settings.tmdb_timeout
        # gzip only: it is what TMDB sends, and what `_read_body` inflates with a bound.
        headers = {
            "Accept": "application/json",
            "Accept-Encoding": "gzip",
            "User-Agent": "watchbuddy",
        }
        self._params: dict[str, str] = {}
        if settings.tmdb_read_access_token:
            headers["Authorization"] = f"Bearer {settings.tmdb_read_access_token.reveal()}"
        elif settings.tmdb_api_key:
            self._params["api_key"] = settings.tmdb_api_key.reveal()
        self._http = httpx.AsyncClient(
            base_url=settings.tmdb_base_url.rstrip("/"),
            headers=headers,
            timeout=timeout,
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            follow_redirects=False,  # the credential goes to the base URL's host, nowhere else
        )

    async def __aenter__(self) -> TmdbClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()

    def _note(self, message: str) -> None:
        message = redact(message, self.settings)
        log.warning(message)
        if len(self.stats.errors) < 50:
            self.stats.errors.append(message)

    async def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict | None:
        """GET a JSON object; None only when TMDB says the resource does not exist (404).

        Raises TmdbMalformed when the answer is unusable twice (malformed JSON, past the
        size cap; this request is lost, the caller decides what that costs), TmdbAuthError
        on 401, TmdbUnavailable when TMDB keeps failing and TmdbError for any other answer
        that is not a 2xx (a 4xx, a redirect)."""
        return await self._get(path, params, None)

    async def get_page(self, path: str, params: Mapping[str, Any] | None = None) -> dict | None:
        """`get` for TMDB's paginated answers (discover, changes): the body is also checked
        for a `results` list and whole-number `total_pages` and `total_results` from 0 to
        MAX_TOTAL; one without them is unusable, like malformed JSON."""
        return await self._get(path, params, _page_problem)

    async def _get(
        self,
        path: str,
        params: Mapping[str, Any] | None,
        shape_problem: Callable[[dict[str, Any]], str | None] | None,
    ) -> dict | None:
        query = {**(params or {}), **self._params}
        malformed_seen = False
        last_problem = "no answer"
        failures = 0  # timeouts, connection errors, 5xx: TMDB may be down
        throttled = 0  # 429s: TMDB is up and asks us to slow down, so we wait longer
        while failures < self.max_attempts and throttled < MAX_THROTTLED:
            if _STOPPING.is_set():
                raise TmdbUnavailable(
                    f"Stopped: the process is shutting down ({path} not fetched)", advice="."
                )
            if failures or throttled or malformed_seen:
                self.stats.retries += 1
            async with self.slots:
                await self.limiter.acquire()
                self.stats.requests += 1
                try:
                    async with asyncio.timeout(self.deadline):
                        status, response, body = await self._send(path, query)
                except (TimeoutError, httpx.TimeoutException):  # the deadline, or httpx's
                    last_problem = "timed out"
                    failures += 1
                    await self._backoff(failures)
                    continue
                except httpx.TransportError as exc:
                    last_problem = f"connection failed ({type(exc).__name__})"
                    failures += 1
                    await self._backoff(failures)
                    continue
            if status == 401:
                raise TmdbAuthError(
                    "TMDB refused the credential (HTTP 401): check TMDB_API_KEY or "
                    "TMDB_READ_ACCESS_TOKEN."
                )
            if status == 404:
                self.stats.not_found += 1
                return None
            if status == 429:
                last_problem = "rate limited (429)"
                throttled += 1
                wait = _retry_after(response)
                self.limiter.pause(wait if wait is not None else _throttle_delay(throttled))
                continue
            if status >= 500:
                last_problem = f"server error {status}"
                failures += 1
                wait = _retry_after(response)
                await self._sleep(wait if wait is not None else self._delay(failures))
                continue
            if status >= 400:
                # Scrubbed before it is cut short, so no prefix of a credential survives.
                detail = redact(_status_message(body), self.settings)[:200]
                raise TmdbError(f"TMDB rejected {path} with HTTP {status}: {detail}")
            if not 200 <= status < 300:
                raise TmdbError(
                    f"TMDB answered {path} with HTTP {status} instead of data (a redirect "
                    "is not followed: the credential goes only to the base URL's host); "
                    "check WATCHBUDDY_TMDB_BASE_URL."
                )
            try:
                if isinstance(body, _Unusable):
                    raise body
                value = _parse_json(body)
                if not isinstance(value, dict):
                    raise _Unusable("an answer that is not a JSON object")
                problem = shape_problem(value) if shape_problem else None
                if problem:
                    raise _Unusable(problem)
                return value
            except _Unusable as exc:
                if malformed_seen:
                    self.stats.malformed += 1
                    self._note(f"{path}: {exc} twice, skipped")
                    raise TmdbMalformed(path, str(exc)) from None
                malformed_seen = True
                last_problem = str(exc)
                continue
        raise TmdbUnavailable(
            f"TMDB is unavailable ({path}: {last_problem} after {failures + throttled} attempts)"
        )

    async def _send(
        self, path: str, query: Mapping[str, Any]
    ) -> tuple[int, httpx.Response, bytes | _Unusable]:
        """One request: its status, response (for headers) and body, read only where it is
        used (a 2xx, or a 4xx's message), bounded by `_read_body`; an unreadable body is
        returned as the _Unusable saying why, for the caller to treat as malformed."""
        response = await self._http.send(
            self._http.build_request("GET", path, params=query), stream=True
        )
        try:
            status = response.status_code
            body: bytes | _Unusable = b""
            if 200 <= status < 300 or (400 <= status < 500 and status not in (401, 404, 429)):
                try:
                    body = await _read_body(response)
                except _Unusable as exc:
                    body = exc
            return status, response, body
        finally:
            await response.aclose()

    def _delay(self, attempt: int) -> float:
        return random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt))

    async def _backoff(self, attempt: int) -> None:
        await self._sleep(self._delay(attempt))


def _status_message(body: bytes | _Unusable) -> str:
    """What an error answer says: its `status_message` when it is TMDB's error shape, the
    start of its text when it is not JSON (an HTML error page), else what is wrong with it
    (never more than the size cap was read)."""
    if isinstance(body, _Unusable):
        return str(body)
    try:
        value = _parse_json(body)
    except _Unusable as exc:
        if body.lstrip()[:1] in (b"{", b"["):
            return str(exc)
        return body[:4096].decode("utf-8", "replace")
    message = value.get("status_message") if isinstance(value, dict) else None
    return message[:4096] if isinstance(message, str) else ""
