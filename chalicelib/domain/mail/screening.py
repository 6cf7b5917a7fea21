"""Whether a received message may be posted as its sender: SES's verdicts and our policy.

A From header proves nothing: anyone can write `From: alice@acme.example`. SES checks each
message it receives and says so in its "Received" notification (`receipt.spfVerdict`,
`dkimVerdict`, `dmarcVerdict`, `spamVerdict`, `virusVerdict`, each `{"status": PASS | FAIL |
GRAY | PROCESSING_FAILED}`, and `receipt.dmarcPolicy` when DMARC failed). A status we do not know,
or a missing verdict, reads as GRAY: nothing was proven.

SPF vouches for the envelope sender's domain (`mail.source`, MAIL FROM) and DKIM for the domain
that signed (`d=`), neither for the From header, so each counts as proof of the sender only when
*aligned* with the From address's domain, as DMARC aligns them (relaxed: the same domain, or one a
subdomain of the other; without the public suffix list, `a.example` and `b.a.example` align but
`mail.a.example` and `news.a.example` do not). DKIM counts only when every signature is aligned:
SES gives one DKIM verdict for the whole message, so a valid signature of the attacker's own
domain next to an aligned forged one must not lend its PASS.

The policy (Zendesk's "suspended tickets"), first match wins:

| when | action | reason |
| --- | --- | --- |
| virus FAIL | quarantine: never a ticket or comment, never released; the original kept for admins | `virus` |
| spam FAIL | suspend | `spam` |
| DMARC FAIL, and the sender is a known user or their domain asks to quarantine or reject | suspend | `dmarc_failed` |
| the sender is a known user and neither an aligned SPF PASS nor an aligned DKIM PASS | suspend | `unauthenticated` |
| the message has attachments and the virus scan did not PASS (GRAY, PROCESSING_FAILED) | suspend | `virus_unscanned` |
| otherwise | accept | `authenticated` (a known user) / `new_sender` |

A suspended message is not posted as anyone: it is parked with its reason, admins see it and
may release it (posted as it would have been). An unknown sender is not impersonating a user of
ours, so their unauthenticated mail still opens a ticket (as every help desk does), but a domain
whose DMARC policy says "reject what fails" is obeyed. Relaxing a verdict to PASS never makes
the outcome stricter (`SEVERITY` is monotonic in every verdict: tested with Hypothesis).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

Status = Literal["PASS", "FAIL", "GRAY", "PROCESSING_FAILED"]
STATUSES: tuple[Status, ...] = ("PASS", "FAIL", "GRAY", "PROCESSING_FAILED")
Action = Literal["accept", "suspend", "quarantine"]
SEVERITY: Mapping[Action, int] = {"accept": 0, "suspend": 1, "quarantine": 2}
STRICT_DMARC_POLICIES = frozenset({"quarantine", "reject"})
MAX_SIGNATURES = 20  # DKIM-Signature headers read (a message rarely has more than 3)
_DKIM_DOMAIN = re.compile(r"(?:^|;)\s*d\s*=\s*([A-Za-z0-9.-]{1,253})\s*(?:;|$)")


@dataclass(frozen=True)
class Verdicts:
    spf: Status = "GRAY"
    dkim: Status = "GRAY"
    dmarc: Status = "GRAY"
    spam: Status = "GRAY"
    virus: Status = "GRAY"
    dmarc_policy: str = "none"  # none | quarantine | reject (only meaningful when dmarc is FAIL)

    @classmethod
    def from_receipt(cls, receipt: Mapping[str, object]) -> Verdicts:
        """The verdicts of SES's `receipt` object; anything missing or unknown reads as GRAY."""

        def status(name: str) -> Status:
            value = receipt.get(name)
            raw = value.get("status") if isinstance(value, Mapping) else None
            upper = raw.upper() if isinstance(raw, str) else ""
            return next((s for s in STATUSES if s == upper), "GRAY")

        policy = receipt.get("dmarcPolicy")
        return cls(
            spf=status("spfVerdict"),
            dkim=status("dkimVerdict"),
            dmarc=status("dmarcVerdict"),
            spam=status("spamVerdict"),
            virus=status("virusVerdict"),
            dmarc_policy=policy.lower() if isinstance(policy, str) else "none",
        )


@dataclass(frozen=True)
class Screening:
    action: Action
    reason: str  # see the module docstring's table


def screen(
    verdicts: Verdicts,
    *,
    from_address: str,
    envelope_sender: str,
    dkim_domains: Iterable[str],
    known_sender: bool,
    has_attachments: bool,
) -> Screening:
    """What to do with a message (the module docstring's table)."""
    if verdicts.virus == "FAIL":
        return Screening("quarantine", "virus")
    if verdicts.spam == "FAIL":
        return Screening("suspend", "spam")
    if verdicts.dmarc == "FAIL" and (known_sender or verdicts.dmarc_policy in STRICT_DMARC_POLICIES):
        return Screening("suspend", "dmarc_failed")
    if known_sender and not authenticated(verdicts, from_address, envelope_sender, dkim_domains):
        return Screening("suspend", "unauthenticated")
    if has_attachments and verdicts.virus != "PASS":
        return Screening("suspend", "virus_unscanned")
    return Screening("accept", "authenticated" if known_sender else "new_sender")


def authenticated(verdicts: Verdicts, from_address: str, envelope_sender: str, dkim_domains: Iterable[str]) -> bool:
    """An aligned SPF PASS or an aligned DKIM PASS vouches for the From address's domain."""
    domain = domain_of(from_address)
    if not domain:
        return False
    if verdicts.spf == "PASS" and aligned(domain_of(envelope_sender), domain):
        return True
    signers = list(dkim_domains)
    return verdicts.dkim == "PASS" and bool(signers) and all(aligned(d, domain) for d in signers)


def aligned(a: str, b: str) -> bool:
    """Relaxed alignment without the public suffix list: equal, or one a subdomain of the other."""
    a, b = a.lower().rstrip("."), b.lower().rstrip(".")
    return bool(a) and bool(b) and (a == b or a.endswith("." + b) or b.endswith("." + a))


def domain_of(address: str) -> str:
    local, at, domain = address.strip().strip("<>").rpartition("@")
    return domain.lower() if at and local and domain else ""


def dkim_domains(signatures: Iterable[str]) -> list[str]:
    """The `d=` domain of each DKIM-Signature header value (an unreadable one counts as "")."""
    found = []
    for value in list(signatures)[:MAX_SIGNATURES]:
        match = _DKIM_DOMAIN.search(re.sub(r"\s+", " ", value[:4_096]))
        found.append(match.group(1).lower() if match else "")
    return found
