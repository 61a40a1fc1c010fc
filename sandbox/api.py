"""The HTTP API's schema: what `/judge`, `/judge_batch` and `/run_code` accept and return."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sandbox.languages import resolve

Verdict = Literal[
    "accepted",
    "wrong_answer",
    "time_limit",
    "memory_limit",
    "output_limit",
    "runtime_error",
    "compile_error",
    "sandbox_error",
]


class TestCase(BaseModel):
    """One test. stdio: `input`/`output` are text; function: `input` is the argument list, `output` the value.

    `output` is required (a test without an expected answer cannot be judged) and unknown keys are
    refused, naming the key, so a misspelt field is never graded as if it were absent.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    input: Any = ""
    output: Any
    # Other outputs that also count as correct (APPS call-based rows wrap some answers in a list).
    alt_outputs: list[Any] = Field(default_factory=list)


class JudgeRequest(BaseModel):
    """One program and its tests. Unknown keys are ignored so dataset rows can be passed through."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)
    code: str
    # python, cpp, rust, javascript, or a dataset's spelling of one (c++, cpp17, rs, js, nodejs, python3...)
    language: str = "python"
    mode: Literal["stdio", "function", "assert"] = "stdio"
    tests: list[TestCase] = Field(default_factory=list)
    fn_name: str | None = None
    test: str | None = None
    entry_point: str | None = None
    timeout_s: float = Field(5.0, gt=0, le=120)
    memory_mb: int = Field(1024, ge=16, le=65536)
    output_mb: float = Field(16.0, gt=0, le=1024)
    processes: int = Field(64, ge=1, le=4096)
    disk_mb: int = Field(256, ge=1, le=65536)
    stop_on_first_failure: bool = False

    @field_validator("language")
    @classmethod
    def _known_language(cls, name: str) -> str:
        return resolve(name).name

    @model_validator(mode="after")
    def _mode_fields(self) -> JudgeRequest:
        if self.language != "python" and self.mode != "stdio":
            raise ValueError(
                f"mode {self.mode!r} is Python only; {self.language} programs are judged in mode 'stdio'"
            )
        if self.mode == "stdio" and not self.tests:
            raise ValueError("mode 'stdio' needs a non-empty 'tests' list")
        if self.mode == "stdio" and any(t.output is None for t in self.tests):
            raise ValueError("mode 'stdio' needs an 'output' (text) in every test")
        if self.mode == "function" and (not self.fn_name or not self.tests):
            raise ValueError("mode 'function' needs 'fn_name' and a non-empty 'tests' list")
        if self.mode == "assert" and (not self.test or not self.entry_point):
            raise ValueError("mode 'assert' needs 'test' (code defining check(candidate)) and 'entry_point'")
        return self


class JudgeResponse(BaseModel):
    passed: int
    total: int
    verdicts: list[Verdict]
    reward: float
    error: str | None = None  # why the request itself could not be judged
    details: str | None = None  # compile_error: the compiler's first lines


class BatchRequest(BaseModel):
    requests: list[dict[str, Any]]


class BatchResponse(BaseModel):
    results: list[JudgeResponse]


class RunCodeRequest(BaseModel):
    """SandboxFusion's `/run_code` body (the fields it honours here)."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)
    code: str
    language: str = "python"
    stdin: str | None = None

    @field_validator("language")
    @classmethod
    def _known_language(cls, name: str) -> str:
        return resolve(name).name

    run_timeout: float = Field(10.0, gt=0, le=120)
    memory_limit_MB: int = Field(1024, ge=16, le=65536)
