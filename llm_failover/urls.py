"""Credentials out of connection strings before they are shown in a log or an error.

A Redis or PostgreSQL URL may carry a password (`redis://:secret@host`,
`postgresql://user:secret@host/db`, `?password=secret`, or libpq's `password=secret`);
the host, port and database are what an operator needs to read, never the password.
"""

from __future__ import annotations

import re

# scheme://user:password@ — greedy to the authority's last "@", as URL parsers read it.
_USERINFO = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/:@\s]*):[^/\s]*@")
# ?password=..., &password=... and libpq's key=value form (quoted or not).
_PASSWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)(?:'(?:[^'\\]|\\.)*'|[^&\s]+)", re.IGNORECASE)


def mask_credentials(text: str) -> str:
    """`text` with every URL password replaced by `***` (user, host and port kept)."""
    text = _USERINFO.sub(r"\g<head>:***@", text)
    return _PASSWORD.sub(r"\g<head>***", text)
