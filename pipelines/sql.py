"""Read an event table from SQLite or PostgreSQL.

Sources: `sqlite:///path?table=NAME`, `postgresql://user:pw@host:port/db?table=NAME`, or either
without `?table=` but with `LogOptions.query`.

Reading goes through `polars.read_database_uri` (ADBC/libpq for PostgreSQL, connectorx for
SQLite). Messages never show the
password: the URI is shown as `postgresql://user:***@host/db`.
"""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import polars as pl

from pipelines.errors import InputError, Problem
from pipelines.xes import quiet_stderr

SCHEMES = ("sqlite", "postgresql", "postgres")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$")


@dataclass(frozen=True)
class SqlSource:
    """A parsed database source.

    Attributes:
        uri: Connection URI for the engine (without the `table` parameter).
        shown: The URI as shown to users (password masked, `table` kept).
        table: Table name from `?table=`, if any.
        name: Default process name: the table, else the database name.
    """

    uri: str
    shown: str
    table: str | None
    name: str


def is_sql_uri(src: str) -> bool:
    """Whether a source string is a database URI this module reads."""
    return src.split("://", 1)[0].lower() in SCHEMES and "://" in src


def mask_password(uri: str) -> str:
    """The URI with its password replaced by `***`."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


def parse_uri(src: str) -> SqlSource:
    """Split a database URI into engine URI, table and display form.

    Raises:
        InputError: Bad table name, or a SQLite file that does not exist.
    """
    shown = mask_password(src)
    parts = urlsplit(src)
    params = parse_qsl(parts.query, keep_blank_values=True)
    table = next((v for k, v in params if k == "table"), None)
    rest = [(k, v) for k, v in params if k != "table"]
    scheme = parts.scheme.lower()
    if scheme == "postgres":
        scheme = "postgresql"
    if scheme == "postgresql" and not any(k == "connect_timeout" for k, _ in rest):
        rest.append(("connect_timeout", "5"))
    uri = urlunsplit(parts._replace(scheme=scheme, query=urlencode(rest)))
    if table is not None and not _IDENTIFIER.match(table):
        raise InputError(
            Problem(shown, f"table name '{table}' is not a plain SQL identifier (schema.table)")
        )
    if scheme == "sqlite":
        # sqlite:///rel/path.db (SQLAlchemy style, relative) or sqlite:////abs/path.db; a
        # sqlite:///abs/path.db that only exists as an absolute path is accepted too.
        raw = unquote(parts.netloc + parts.path)
        candidates = [Path(raw.lstrip("/")), Path("/" + raw.lstrip("/"))]
        path = next((c for c in candidates if c.is_file()), None)
        if path is None:
            raise InputError(
                Problem(shown, f"SQLite database file '{raw.lstrip('/')}' does not exist")
            )
        uri = urlunsplit(("sqlite", "", str(path.resolve()), "", "")).replace(
            "sqlite:", "sqlite://", 1
        )
        name = table or path.stem
    else:
        name = table or parts.path.strip("/") or "database"
    return SqlSource(uri=uri, shown=shown, table=table, name=name)


def read_sql(src: str, query: str | None) -> tuple[pl.DataFrame, SqlSource]:
    """Read the rows of `?table=` or of `query` from the database.

    Args:
        src: The database URI as the user gave it.
        query: A SELECT statement; used instead of `?table=` when given.

    Returns:
        The raw table and the parsed source.

    Raises:
        InputError: No table/query, unreachable database, missing table, bad query (one line,
            password masked).
    """
    source = parse_uri(src)
    if query is None and source.table is None:
        raise InputError(
            Problem(source.shown, 'name the table with ?table=NAME or give --query "SELECT …"')
        )
    sql = query if query is not None else f"SELECT * FROM {_quote(source.table or '')}"
    try:
        with quiet_stderr():
            frame = pl.read_database_uri(sql, source.uri, engine=_engine(source.uri))
    except BaseException as exc:  # connectorx raises RuntimeError or a Rust PanicException
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        raise InputError(Problem(source.shown, _describe(exc, source, src))) from None
    return frame, source


def _engine(uri: str) -> Literal["adbc", "connectorx"]:
    # ADBC/libpq fails at once on a refused connection (connectorx's pool retries for 30 s).
    return "adbc" if uri.startswith("postgresql") else "connectorx"


def _quote(table: str) -> str:
    return ".".join(f'"{part}"' for part in table.split("."))


def _describe(exc: BaseException, source: SqlSource, src: str) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    password = urlsplit(src).password
    if password:
        text = text.replace(password, "***")
    lowered = text.lower()
    what = f"table '{source.table}'" if source.table else "the query"
    if "no such table" in lowered or ("relation" in lowered and "does not exist" in lowered):
        return f"{what} does not exist in the database; check ?table= ({text})"
    if any(w in lowered for w in ("connect", "refused", "timed out", "timeout", "resolve")):
        return f"cannot connect to the database: {text}; check host, port and credentials"
    return f"cannot read {what}: {text}"
