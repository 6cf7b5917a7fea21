"""Whether a received message may be posted as its sender (chalicelib/domain/mail/screening.py)."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.mail.screening import (
    SEVERITY,
    STATUSES,
    Screening,
    Verdicts,
    aligned,
    dkim_domains,
    screen,
)

ALICE = "alice@acme.example"
P, F, G, E = "PASS", "FAIL", "GRAY", "PROCESSING_FAILED"


def verdicts(spf=P, dkim=P, dmarc=P, spam=P, virus=P, policy="none") -> Verdicts:
    return Verdicts(spf=spf, dkim=dkim, dmarc=dmarc, spam=spam, virus=virus, dmarc_policy=policy)


def decide(v: Verdicts, *, known=True, files=False, source=ALICE, signers=("acme.example",)) -> Screening:
    return screen(v, from_address=ALICE, envelope_sender=source, dkim_domains=signers, known_sender=known, has_attachments=files)


@pytest.mark.parametrize(
    ("given_verdicts", "known", "files", "expected"),
    [
        (verdicts(), True, False, Screening("accept", "authenticated")),
        (verdicts(spf=G, dkim=G, dmarc=G), False, False, Screening("accept", "new_sender")),
        (verdicts(virus=F), True, False, Screening("quarantine", "virus")),
        (verdicts(virus=F, spam=F, dmarc=F), False, True, Screening("quarantine", "virus")),
        (verdicts(spam=F), True, False, Screening("suspend", "spam")),
        (verdicts(spam=F), False, False, Screening("suspend", "spam")),
        (verdicts(dmarc=F), True, False, Screening("suspend", "dmarc_failed")),
        (verdicts(dmarc=F, policy="none"), False, False, Screening("accept", "new_sender")),
        (verdicts(dmarc=F, policy="reject"), False, False, Screening("suspend", "dmarc_failed")),
        (verdicts(dmarc=F, policy="quarantine"), False, False, Screening("suspend", "dmarc_failed")),
        (verdicts(spf=G, dkim=G, dmarc=G), True, False, Screening("suspend", "unauthenticated")),
        (verdicts(spf=F, dkim=E, dmarc=G), True, False, Screening("suspend", "unauthenticated")),
        (verdicts(spf=P, dkim=G, dmarc=G), True, False, Screening("accept", "authenticated")),
        (verdicts(spf=F, dkim=P, dmarc=G), True, False, Screening("accept", "authenticated")),
        (verdicts(virus=G), True, True, Screening("suspend", "virus_unscanned")),
        (verdicts(virus=E), False, True, Screening("suspend", "virus_unscanned")),
        (verdicts(virus=G), True, False, Screening("accept", "authenticated")),
    ],
)
def test_the_policy_table(given_verdicts, known, files, expected):
    assert decide(given_verdicts, known=known, files=files) == expected


def test_an_spf_pass_for_another_domain_does_not_vouch_for_the_from_address():
    forged = verdicts(spf=P, dkim=G, dmarc=G)  # the attacker's own domain has a valid SPF record
    assert decide(forged, source="mallory@evil.example").action == "suspend"
    assert decide(forged, source="bounces@mail.acme.example").action == "accept"  # a subdomain aligns


def test_a_dkim_pass_counts_only_when_every_signature_is_the_senders_domain():
    signed = verdicts(spf=G, dkim=P, dmarc=G)
    assert decide(signed, signers=("acme.example",)).action == "accept"
    assert decide(signed, signers=("evil.example",)).action == "suspend"
    assert decide(signed, signers=("acme.example", "evil.example")).action == "suspend"
    assert decide(signed, signers=()).action == "suspend"


def test_verdicts_are_read_from_the_receipt_and_anything_unknown_is_gray():
    receipt = {
        "spfVerdict": {"status": "PASS"},
        "dkimVerdict": {"status": "fail"},
        "dmarcVerdict": {"status": "FAIL"},
        "dmarcPolicy": "REJECT",
        "spamVerdict": {"status": "MAYBE"},
        "virusVerdict": "PASS",
    }
    assert Verdicts.from_receipt(receipt) == Verdicts(spf=P, dkim=F, dmarc=F, spam=G, virus=G, dmarc_policy="reject")
    assert Verdicts.from_receipt({}) == Verdicts()


def test_dkim_signature_domains_are_read_from_the_d_tag():
    headers = [
        "v=1; a=rsa-sha256; c=relaxed/relaxed; d=Acme.Example; s=s1;\r\n bh=abc=; b=def",
        "v=1; d=\t mail.acme.example ;s=x",
        "v=1; s=no-domain; b=xyz",
    ]
    assert dkim_domains(headers) == ["acme.example", "mail.acme.example", ""]


def test_alignment_is_relaxed_but_never_across_sibling_domains():
    assert aligned("acme.example", "acme.example") and aligned("mail.acme.example", "acme.example")
    assert not aligned("evilacme.example", "acme.example") and not aligned("", "acme.example")
    assert not aligned("news.acme.example", "mail.acme.example")


status = st.sampled_from(STATUSES)
verdict_sets = st.builds(
    Verdicts,
    spf=status,
    dkim=status,
    dmarc=status,
    spam=status,
    virus=status,
    dmarc_policy=st.sampled_from(["none", "quarantine", "reject"]),
)
context = st.fixed_dictionaries(
    {
        "known": st.booleans(),
        "files": st.booleans(),
        "source": st.sampled_from([ALICE, "mallory@evil.example", ""]),
        "signers": st.sampled_from([(), ("acme.example",), ("evil.example",), ("acme.example", "evil.example")]),
    }
)


@given(verdict_sets, context)
def test_a_known_user_is_posted_only_with_proof_and_never_with_a_failed_check(v, ctx):
    outcome = decide(v, **ctx)
    if outcome.action == "accept":
        assert F not in (v.virus, v.spam)
        if ctx["known"]:
            assert v.dmarc != F
            spf_proof = v.spf == P and ctx["source"] == ALICE
            dkim_proof = v.dkim == P and ctx["signers"] == ("acme.example",)
            assert spf_proof or dkim_proof
        if ctx["files"]:
            assert v.virus == P
    if v.virus == F:
        assert outcome == Screening("quarantine", "virus")


@given(verdict_sets, context, st.sampled_from(["spf", "dkim", "dmarc", "spam", "virus"]))
def test_a_verdict_turning_to_pass_never_makes_the_outcome_stricter(v, ctx, name):
    better = dataclasses.replace(v, **{name: P})
    assert SEVERITY[decide(better, **ctx).action] <= SEVERITY[decide(v, **ctx).action]


@given(verdict_sets, context)
def test_an_unknown_sender_with_clean_scans_is_suspended_only_by_a_strict_dmarc_policy(v, ctx):
    clean = dataclasses.replace(v, spam=P, virus=P)
    outcome = decide(clean, **{**ctx, "known": False})
    strict = clean.dmarc == F and clean.dmarc_policy in ("quarantine", "reject")
    assert outcome.action == ("suspend" if strict else "accept")
