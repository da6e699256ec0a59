"""Rate limits of the public survey pages (RELIABILITY.md SUR-12): 30 requests a minute per token
(or per invitation, once the link is bound to the session) and 60 a minute plus 600 an hour per
client address. Counters live in the default cache (locmem in development and tests, Redis through
CACHE_URL in production, so every web process shares them).

Fixed windows, as django-ratelimit counts them: a window of `period` seconds ends at times
≡ crc32(value) (mod period), so not every counter restarts at the same second. With Redis, all the
counters of a request are counted in one round trip: a small Lua script increments the address's
counters, and the token's only when the address is within its limits (a throttled address creates
no per-token counters, so guessing tokens cannot fill the cache). It runs on one client per process
over the cache's connection pool. Any other cache (locmem) is counted through the cache API.
A respondent needs about four requests (open, form, submit, thank-you), far below every limit."""

import functools
import hashlib
import ipaddress
import re
import time
import zlib

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.shortcuts import render

from winback.logs import security_event

__all__ = ["IP_RATES", "TOKEN_RATE", "key_for_token", "rate_limited", "throttled", "window_end"]

# The defaults; settings.WINBACK_SURVEY_TOKEN_RATE / WINBACK_SURVEY_IP_RATES override them (the page
# benchmark raises the address limits, as all its requests come from one address).
TOKEN_RATE = "30/m"
IP_RATES = ("60/m", "600/h")

# One security-log event per throttled address (or token) in this many seconds, not one per request.
LOG_ONCE_SECONDS = 3600
EXPIRY_FUDGE = 5  # counters outlive their window by a few seconds
PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
RATE = re.compile(r"(\d+)/(\d*)([smhd])?")  # django-ratelimit's syntax: "30/m", "100/5m", "10/s"

# KEYS: the address's counters, then the token's (if any); ARGV: per key its limit and expiry.
# Returns the counts; the token's counter is incremented only when no address limit is exceeded.
COUNT_SCRIPT = """
local counts = {}
local limited = false
local ip_keys = tonumber(ARGV[1])
for i = 1, #KEYS do
  if i > ip_keys and limited then break end
  local count = redis.call('INCR', KEYS[i])
  if count == 1 then redis.call('EXPIRE', KEYS[i], ARGV[2 * i + 1]) end
  if count > tonumber(ARGV[2 * i]) then limited = true end
  counts[i] = count
end
return counts
"""


def parse_rate(rate: str) -> tuple[int, int]:
    """(limit, period in seconds), read as django-ratelimit does: '30/m' -> (30, 60), '100/5m' ->
    (100, 300), '600/hour' -> (600, 3600), '5/' -> (5, 1)."""
    match = RATE.match(rate.strip())
    if not match:
        raise ValueError(f"not a rate: {rate!r}")
    count, multiple, unit = match.groups()
    return int(count), PERIODS[unit or "s"] * int(multiple or 1)


def _token_rate() -> tuple[int, int]:
    return parse_rate(getattr(settings, "WINBACK_SURVEY_TOKEN_RATE", None) or TOKEN_RATE)


def _ip_rates() -> list[tuple[int, int]]:
    return [parse_rate(r) for r in getattr(settings, "WINBACK_SURVEY_IP_RATES", None) or IP_RATES]


def window_end(value: str, period: int, now: int | None = None) -> int:
    """The end (a Unix time) of the current window of `period` seconds for `value`."""
    now = int(time.time()) if now is None else now
    end = now - now % period + zlib.crc32(value.encode("utf-8", "surrogatepass")) % period
    return end if end >= now else end + period


def key_for_token(token: str) -> str:
    """A cache key part for a raw token or any string in its place: never the token itself."""
    return "t:" + hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _client_address(request) -> str:
    """The client's address: REMOTE_ADDR, or behind a proxy the request header named by
    settings.RATELIMIT_IP_META_KEY (django-ratelimit's setting, e.g. "HTTP_X_REAL_IP"; of a list
    such as X-Forwarded-For, the first entry)."""
    key = getattr(settings, "RATELIMIT_IP_META_KEY", None) or "REMOTE_ADDR"
    return request.META.get(key, "").split(",")[0].strip() or "-"


def _address_key(address: str) -> str:
    """The counted address: an IPv4 address, or an IPv6 address's /64 network (one end user's
    allocation, as django-ratelimit counts them), so rotating addresses within it gains nothing."""
    if ":" not in address:
        return address
    try:
        return str(ipaddress.ip_network(f"{address}/64", strict=False).network_address)
    except ValueError:
        return address


def _counter(group: str, value: str, limit: int, period: int) -> tuple[str, int, int]:
    """(cache key, limit, expiry) of the current window's counter."""
    return f"surveys:rl:{group}:{limit}/{period}:{value}:{window_end(value, period)}", limit, period + EXPIRY_FUDGE


_scripts: dict[tuple, object] = {}  # per process: the count script on one client, per Redis server


def _redis_script(backend: RedisCache):
    """The count script bound to one redis client per process, over the cache's connection pool
    (Django's RedisCache builds a new client object for every command)."""
    servers = tuple(backend._servers)
    script = _scripts.get(servers)
    if script is None:
        client = backend._cache.get_client(write=True)
        script = _scripts[servers] = client.register_script(COUNT_SCRIPT)
    return script


def _count(counters: list[tuple[str, int, int]], ip_keys: int) -> list[int]:
    """Increments the counters (the first `ip_keys` are the address's; the rest are counted only if
    the address is within its limits) and returns the counts of those incremented."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        args = [ip_keys]
        for _key, limit, expiry in counters:
            args += [limit, expiry]
        return list(_redis_script(backend)(keys=[backend.make_key(k) for k, _, _ in counters], args=args))
    counts, limited = [], False
    for index, (key, limit, expiry) in enumerate(counters):
        if index >= ip_keys and limited:
            break
        count = 1 if backend.add(key, 1, expiry) else _incr(backend, key, expiry)
        limited = limited or count > limit
        counts.append(count)
    return counts


def _incr(backend, key: str, expiry: int) -> int:
    try:
        return backend.incr(key)
    except ValueError:  # it expired between add and incr: a new window
        backend.add(key, 0, expiry)
        return backend.incr(key)


def throttled(request, *, key: str | None) -> bool:
    """Counts this request against the address's limits and, when `key` is given and the address
    is within its limits, against the token's; True when a limit is exceeded. Every address rate is
    counted (no short circuit), so the hourly counter sees every request. The first throttled
    request of an address (or token) is logged to the security log. settings.RATELIMIT_ENABLE =
    False (django-ratelimit's switch) counts nothing."""
    if not getattr(settings, "RATELIMIT_ENABLE", True):
        return False
    address = _client_address(request)
    counted = _address_key(address)
    counters = [_counter("ip", counted, limit, period) for limit, period in _ip_rates()]
    ip_count = len(counters)
    if key:
        counters.append(_counter("token", key, *_token_rate()))
    counts = _count(counters, ip_keys=ip_count)
    over = [count > limit for count, (_key, limit, _expiry) in zip(counts, counters, strict=False)]
    if any(over[:ip_count]):
        if cache.add(f"surveys:throttle-logged:ip:{address}", 1, LOG_ONCE_SECONDS):
            security_event("survey_rate_limited", kind="address", address=address, path_kind=_kind(request))
        return True
    if not key or not over[ip_count]:
        return False
    if cache.add(f"surveys:throttle-logged:{key}", 1, LOG_ONCE_SECONDS):
        security_event("survey_rate_limited", kind="token", key=key[:10], path_kind=_kind(request))
    return True


def _kind(request) -> str:
    match = getattr(request, "resolver_match", None)
    return match.url_name if match else "-"


def too_many_requests(request):
    response = render(request, "surveys/public/rate_limited.html", status=429)
    response["Retry-After"] = "60"
    response["Cache-Control"] = "no-store"
    # Django's request log would write the path, which for /s/<token>/ holds the token (SUR-08).
    response._has_been_logged = True
    return response


def rate_limited(key_of):
    """View decorator: `key_of(request, *args, **kwargs)` gives the token or invitation key (or
    None); a throttled request gets the friendly 429 page and never reaches the view."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if throttled(request, key=key_of(request, *args, **kwargs)):
                return too_many_requests(request)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
