"""Keeping credentials out of messages: URL user-info and known secret values blanked.

Imports only the standard library.  ``daskflow.storage`` passes every message
that may hold a path, an option or a foreign exception's text through
:func:`scrub`; :func:`hint` adds the usual cause of a storage failure.
"""

from __future__ import annotations

import os
import re

__all__ = ["scrub", "scrub_url", "hint"]

_CREDENTIALS = re.compile(r"(?<=://)[^/@]*@")
_SECRET_OPTIONS = ("key", "secret", "token", "password", "aws_access_key_id",
                   "aws_secret_access_key", "aws_session_token", "session_token", "account_key",
                   "sas_token", "client_secret")
_SECRET_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def scrub_url(url: str) -> str:
    """The URL without user-info (``s3://key:secret@bucket`` -> ``s3://bucket``)."""
    return _CREDENTIALS.sub("", url)


def scrub(text, storage_options: dict) -> str:
    """``str(text)`` with URL credentials and every secret of ``storage_options`` and of the
    ``AWS_*`` variables blanked."""
    text = _CREDENTIALS.sub("", str(text))
    for secret in _secrets(storage_options):
        text = text.replace(secret, "***")
    return text


def _secrets(storage_options: dict) -> list[str]:
    found = []

    def walk(options):
        for k, v in options.items():
            if isinstance(v, dict):
                walk(v)
            elif isinstance(v, str) and k.lower() in _SECRET_OPTIONS and len(v) >= 4:
                found.append(v)

    walk(storage_options)
    found += [os.environ[v] for v in _SECRET_ENV if len(os.environ.get(v, "")) >= 4]
    return sorted(set(found), key=len, reverse=True)


def hint(exc: Exception, s3: bool, root: str) -> str:
    """What the usual causes of ``exc`` are, for the message (never the credentials)."""
    if isinstance(exc, PermissionError):
        return (" (access denied: check the credentials -- storage_options key/secret or "
                "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY -- and their rights on this root)")
    if isinstance(exc, FileNotFoundError) and s3:
        bucket = root.split("/", 1)[0]
        return f" (bucket {bucket!r} does not exist: create it, or fix the root)"
    name = type(exc).__name__
    if "Connect" in name or "Timeout" in name or isinstance(exc, (ConnectionError, TimeoutError)):
        return (" (endpoint unreachable: check storage_options client_kwargs.endpoint_url or "
                "AWS_ENDPOINT_URL, and the network)")
    return ""
