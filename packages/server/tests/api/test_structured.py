"""Structured outputs and tools pass through both APIs, streamed tool-call deltas included."""

from __future__ import annotations

import json
from typing import Any, Literal

import openai
import pytest
from pydantic import BaseModel, Field

from saasllm import SaaSLLMClient
from tests.support.gateway import GatewayProcess
from tests.support.tenants import Admin


class Address(BaseModel):
    city: str
    zip_code: str


class Person(BaseModel):
    name: str
    age: int = Field(ge=0, le=130)
    score: float = Field(ge=0, le=1)
    role: Literal["admin", "member"]
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[a-z]+$")
    addresses: list[Address]
    nickname: str | None = None


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
            "required": ["city", "days"],
        },
    },
}


@pytest.fixture
def team_key(sqlite_gateway: GatewayProcess) -> tuple[str, str]:
    team = Admin(sqlite_gateway.url).team(credits=20)
    return team.team_id, team.key


async def test_sdk_structured_output_round_trips_a_nested_model(
    sqlite_gateway: GatewayProcess, team_key: tuple[str, str]
) -> None:
    async with SaaSLLMClient(sqlite_gateway.url, *team_key) as client:
        job_id = await client.create_job("structured")
        person = await client.structured_output(
            job_id, [{"role": "user", "content": "Describe a person"}], response_model=Person
        )
        await client.complete_job(job_id, "completed")
    assert isinstance(person, Person)
    assert person.addresses
    assert isinstance(person.addresses[0], Address)


def test_openai_sdk_json_schema_and_streamed_tool_calls(
    sqlite_gateway: GatewayProcess, team_key: tuple[str, str]
) -> None:
    client = openai.OpenAI(base_url=sqlite_gateway.url + "/v1", api_key=team_key[1])
    schema = {"name": "Person", "schema": Person.model_json_schema(), "strict": True}
    response_format: Any = {"type": "json_schema", "json_schema": schema}
    describe: Any = [{"role": "user", "content": "Describe a person"}]
    answer = client.chat.completions.create(
        model="default", messages=describe, response_format=response_format
    )
    Person.model_validate_json(answer.choices[0].message.content or "")

    ask: Any = [{"role": "user", "content": "Weather in Paris?"}]
    tools: Any = [WEATHER_TOOL]
    stream = client.chat.completions.create(model="default", messages=ask, tools=tools, stream=True)
    name, arguments, finish = "", "", None
    for chunk in stream:
        if not chunk.choices:
            continue
        for call in chunk.choices[0].delta.tool_calls or []:
            if call.function and call.function.name:
                name += call.function.name
            if call.function and call.function.arguments:
                arguments += call.function.arguments
        finish = chunk.choices[0].finish_reason or finish
    assert name == "get_weather"
    parsed = json.loads(arguments)
    assert isinstance(parsed["city"], str)
    assert parsed["days"] >= 1
    assert finish == "tool_calls"
