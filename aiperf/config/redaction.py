"""Keep secrets out of everything aiperf writes or prints.

Three kinds of secret reach a run: fields declared ``secret`` (the API key, header
values), the password of a URL's user-info (``http://user:pw@host``), and the same values
echoed back by a server in its error text (a 401 body that quotes the bearer token). The
first are hidden by ``explain.shown``; this module hides the other two: URLs lose their
user-info password wherever they are shown, and :func:`scrub` replaces every configured
secret value in free text before it is stored or printed.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

REDACTED = "***"
#: Shorter values are not scrubbed from text: a header value like "1" would turn every
#: "1" of an error message into "***" and hide nothing.
MIN_SECRET_LENGTH = 3


def redact_url(url: str) -> str:
    """``http://user:pw@host:8000/v1`` -> ``http://user:***@host:8000/v1`` (a URL with no
    password, or text that is not a URL, comes back unchanged)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:{REDACTED}@{host}"))


def url_secrets(url: str) -> tuple[str, ...]:
    """The password of a URL's user-info, as it is written and as it is decoded, and the
    Basic credentials an HTTP client sends for it (``base64(user:password)``), which a
    server may echo back."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ()
    if parts.password is None:
        return ()
    raw = parts.netloc.rpartition("@")[0].partition(":")[2]
    basic = base64.b64encode(
        f"{unquote(parts.username or '')}:{unquote(parts.password)}".encode()).decode()
    return tuple(dict.fromkeys(v for v in (raw, unquote(parts.password), basic) if v))


def secret_values(values: Mapping[str, Any], secret_keys: Iterable[str],
                  url_keys: Iterable[str]) -> tuple[str, ...]:
    """Every secret value of a resolved configuration (``key -> value``): the values of the
    secret fields (each value of a secret mapping) and the passwords of the URL fields;
    longest first, so that a secret containing another is scrubbed whole."""
    found: list[str] = []
    for key in secret_keys:
        value = values.get(key)
        if isinstance(value, Mapping):
            found += [str(v) for v in value.values() if v is not None]
        elif value is not None:
            found.append(str(value))
    for key in url_keys:
        value = values.get(key)
        for url in [value] if isinstance(value, str) else value or ():
            if isinstance(url, str):
                found += url_secrets(url)
    usable = {v for v in found if len(v) >= MIN_SECRET_LENGTH}
    return tuple(sorted(usable, key=lambda v: (-len(v), v)))


def hidden(key: str, value: Any) -> Any:
    """``value`` of field ``key`` as it may be shown: a secret field's as ``***`` (each
    value of a secret mapping), a URL field's without the password of its user-info."""
    from aiperf.config import fields as F

    f = F.FIELDS_BY_KEY.get(key)
    if value is None or f is None:
        return value
    if f.secret:
        return {k: REDACTED for k in value} if isinstance(value, Mapping) else REDACTED
    if f.url and isinstance(value, str):
        return redact_url(value)
    if f.url and isinstance(value, list | tuple):
        return [redact_url(v) if isinstance(v, str) else v for v in value]
    return value


def resolved_secrets(values: Mapping[str, Any]) -> tuple[str, ...]:
    """Every secret value of a resolved configuration (``key -> value``): the declared
    secret fields' values and the URL fields' passwords (see :func:`secret_values`)."""
    from aiperf.config import fields as F

    return secret_values(values, [f.key for f in F.FIELDS if f.secret],
                         [f.key for f in F.FIELDS if f.url])


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret value replaced by ``***``."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text
