"""The timeline cursor's position format."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class TimelinePosition:
    """Where the next timeline page starts. It travels inside the cursor, which is signed and
    bound to the caller and the query, so it cannot be forged or reused by someone else; it
    vouches for no access: every page checks again."""

    sk: str

    def encode(self) -> str:
        return self.sk

    @classmethod
    def decode(cls, text: str) -> TimelinePosition:
        # Cursors issued while pages trusted a 5-minute grant carried `|checked|merged`: ignored.
        return cls(text.partition("|")[0])
