"""devstack/moto_quirks.py: moto's Step Functions answer as AWS does where the definitions depend on it."""

from __future__ import annotations

from datetime import UTC, datetime

from devstack import moto_quirks


def test_entered_times_are_written_as_aws_writes_them() -> None:
    assert moto_quirks.installed()
    at = datetime(2026, 12, 1, 9, 59, 59, 600123, tzinfo=UTC)
    assert moto_quirks.aws_entered_time(at) == "2026-12-01T09:59:59.600Z"


def test_choice_timestamps_with_fractions_compare_as_on_aws() -> None:
    from moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations.timestamp_operators import (
        TimestampLessThan,
    )

    assert TimestampLessThan._compare("2026-12-01T09:59:59.600Z", "2026-12-01T10:00:00Z")
    assert not TimestampLessThan._compare("2026-12-01T10:00:00.001Z", "2026-12-01T10:00:00Z")
    assert not TimestampLessThan._compare("not a time", "2026-12-01T10:00:00Z")


def test_states_format_reads_escaped_braces_as_aws_does() -> None:
    assert moto_quirks.format_template('\\{"a":"{}","b":{}\\}', ["x", "1"]) == '{"a":"x","b":1}'
    assert moto_quirks.format_template("it\\'s {} \\\\ done", ["here"]) == "it's here \\ done"
