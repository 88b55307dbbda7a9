"""Job and call statuses: one enum each, the same strings on the wire as before."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import get_args

import pytest
from pydantic import ValidationError

from saasllm_schema import (
    FINAL_STATUSES,
    OPEN_STATUSES,
    CallStatus,
    FinalStatus,
    Job,
    JobComplete,
    JobCreated,
    JobStatus,
    ModelInfo,
    ModelList,
)


def test_the_wire_strings_are_unchanged() -> None:
    assert [s.value for s in JobStatus] == [
        "pending",
        "in_progress",
        "completed",
        "failed",
        "cancelled",
    ]
    # "running" marks a long stream's progress record (issue 11); the endings are unchanged.
    assert [s.value for s in CallStatus] == ["success", "failed", "cancelled", "running"]


def test_open_and_final_statuses_split_the_job_statuses() -> None:
    assert {JobStatus.PENDING, JobStatus.IN_PROGRESS} == OPEN_STATUSES
    assert set(get_args(FinalStatus)) == FINAL_STATUSES
    assert set(JobStatus) == OPEN_STATUSES | FINAL_STATUSES
    assert not OPEN_STATUSES & FINAL_STATUSES
    # Statuses read back from a database are plain strings; the sets still answer for them.
    assert "completed" in FINAL_STATUSES
    assert "pending" in OPEN_STATUSES


def test_status_fields_take_and_give_plain_strings() -> None:
    created = JobCreated(job_id="j", team_id="t", created_at=datetime(2026, 1, 1, tzinfo=UTC))
    assert created.model_dump(mode="json")["status"] == "pending"
    job = Job.model_validate_json(
        '{"job_id": "j", "team_id": "t", "job_type": "x", "status": "in_progress",'
        ' "created_at": "2026-01-01T00:00:00Z"}'
    )
    assert job.status is JobStatus.IN_PROGRESS
    assert '"status":"in_progress"' in job.model_dump_json()
    assert JobComplete().model_dump_json() == (
        '{"status":"completed","metadata":null,"result":null,"error_message":null}'
    )


@pytest.mark.parametrize("status", ["pending", "in_progress", "done"])
def test_a_job_cannot_be_completed_into_an_open_or_unknown_status(status: str) -> None:
    with pytest.raises(ValidationError):
        JobComplete.model_validate({"status": status})


def test_model_list_is_openais_shape() -> None:
    listing = ModelList(data=[ModelInfo(id="fast")])
    assert listing.model_dump_json() == (
        '{"object":"list","data":[{"id":"fast","object":"model","created":0,"owned_by":"saasllm"}]}'
    )
