"""Bad input, reported as the README says: one line per problem, exit code 2.

Every reader and validator raises `InputError` with one or more `Problem`s. The CLI prints
each as `error: <file>[:<line>]: <what is wrong and how to fix it>` and exits with 2; it never
shows a traceback for these.
"""

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem in one input file.

    Attributes:
        file: The file (or database URI) as the user named it.
        message: What is wrong and how to fix it; for YAML it starts with the YAML path.
        line: 1-based line (or row) number where known.
    """

    file: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        """Render as the one-line `error: file[:line]: message` form."""
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"error: {where}: {self.message}"


class InputError(Exception):
    """Raised for bad user input; carries every problem found."""

    def __init__(self, problems: Problem | Iterable[Problem]) -> None:
        """Collect one or several problems."""
        self.problems: tuple[Problem, ...] = (
            (problems,) if isinstance(problems, Problem) else tuple(problems)
        )
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class Warning_:
    """A suspicious but usable finding (events out of order, duplicates, outliers)."""

    file: str
    message: str

    def __str__(self) -> str:
        """Render as `warning: file: message`."""
        return f"warning: {self.file}: {self.message}"
