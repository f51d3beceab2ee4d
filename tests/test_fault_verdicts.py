"""The fault suite's verdicts (faults/suite.py, `make faults`, not run here): what counts as a
lost write, an applied refusal, a hang, an unexpected answer, and a /readyz that did not track
the outage. Quick and self-contained: synthetic calls, no server, no database."""

from __future__ import annotations

from faults.suite import ANSWER_BOUND, Call, Phase, judge, row


def _phase(conn_errors_expected=False, readyz_must_fail=False, **kwargs) -> Phase:
    phase = Phase("x", "a fault", conn_errors_expected, readyz_must_fail, **kwargs)
    phase.fault_start, phase.fault_end, phase.recovered = 10.0, 14.0, 0.5
    phase.readyz = [(9.0, 200), (12.0, 503), (15.0, 200)]
    return phase


def _call(status=201, kind="write", start=11.0, took=0.1, identifier="a", **fields) -> Call:
    return Call(kind, start, start + took, status=status, identifier=identifier, **fields)


def _refused(identifier: str, detail="Nothing of it was written; send it again.") -> Call:
    return _call(503, identifier=identifier, problem=True, retry_after=True, detail=detail)


def test_a_clean_phase_passes():
    phase = _phase(readyz_must_fail=True)
    phase.calls = [_call(201, identifier="a"), _refused("b"), _call(200, "read", identifier=None)]
    judge(phase, present={"a"})
    assert phase.violations == []
    assert row(phase)["verdict"] == "pass"
    assert (row(phase)["2xx"], row(phase)["503"], row(phase)["other"]) == (2, 1, 0)


def test_an_acknowledged_write_missing_and_a_refused_one_applied_fail():
    phase = _phase()
    phase.calls = [_call(201, identifier="a"), _refused("b")]
    judge(phase, present={"b"})
    assert (phase.lost, phase.applied_refused) == (1, 1)
    assert row(phase)["verdict"] == "FAIL"


def test_a_write_that_may_have_been_written_is_no_violation_either_way():
    phase = _phase()
    phase.calls = [_refused("a", "It may or may not have been written: read the record.")]
    judge(phase, present={"a"})
    assert phase.violations == []
    assert phase.ambiguous == "1 unknown-outcome write(s) (1 written)"


def test_a_write_whose_connection_was_refused_must_not_be_there():
    phase = _phase(conn_errors_expected=True)
    phase.calls = [
        Call("write", 11.0, 11.1, error="ConnectError", identifier="a"),
        Call("write", 11.0, 11.1, error="RemoteProtocolError", identifier="b"),
    ]
    judge(phase, present={"a", "b"})
    assert phase.applied_refused == 1
    assert phase.ambiguous == "1 unknown-outcome write(s) (1 written)"


def test_a_500_a_bare_503_a_hang_and_a_late_answer_fail():
    for bad in (
        _call(500),
        _call(503),  # no problem+json, no Retry-After
        Call("read", 11.0, 21.0, error="ReadTimeout"),
        _call(201, took=ANSWER_BOUND + 0.5),
    ):
        phase = _phase()
        phase.calls = [bad]
        judge(phase, present={"a"})
        assert phase.violations, bad


def test_connection_errors_fail_only_where_a_server_process_is_killed():
    for expected in (False, True):
        phase = _phase(conn_errors_expected=expected)
        phase.calls = [Call("read", 11.0, 11.1, error="ConnectError")]
        judge(phase, present=set())
        assert bool(phase.violations) is not expected


def test_readyz_must_fail_during_an_outage_and_answer_200_after():
    phase = _phase(readyz_must_fail=True)
    phase.readyz = [(12.0, 200), (15.0, 200)]
    judge(phase, present=set())
    assert "/readyz never answered 503 during the outage" in phase.violations
    phase = _phase()
    phase.readyz = [(12.0, 503), (15.0, 503)]
    judge(phase, present=set())
    assert "/readyz never answered 200 after the fault" in phase.violations


def test_no_recovery_within_the_bound_fails():
    phase = _phase()
    phase.recovered = None
    judge(phase, present=set())
    assert "no 2xx read and write within the recovery bound" in phase.violations
