"""Each function's environment, modelled once, validated at cold start and cached.

An explicit argument beats an environment variable: handlers read these only to build adapters.
"""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, Field


class Settings(BaseModel):
    table_name: str = Field(alias="GOFLOW_TABLE_NAME")
    executor_function_arn: str = Field("", alias="GOFLOW_EXECUTOR_FUNCTION_ARN")
    state_machine_role_arn: str = Field("", alias="GOFLOW_STATE_MACHINE_ROLE_ARN")
    state_machine_prefix: str = Field("goflow", alias="GOFLOW_STATE_MACHINE_PREFIX")
    execution_retention_days: int = Field(90, ge=1, alias="GOFLOW_EXECUTION_RETENTION_DAYS")
    default_sender: str = Field("noreply@goflow.local", alias="GOFLOW_DEFAULT_SENDER")
    secrets_prefix: str = Field("goflow/", alias="GOFLOW_SECRETS_PREFIX")
    deadline_margin_ms: int = Field(1500, ge=0, alias="GOFLOW_DEADLINE_MARGIN_MS")
    # Comma-separated CloudWatch log groups the API's Logs Insights links query (api, executor,
    # outcome); empty: derived from the api function's own log group name.
    log_groups: str = Field("", alias="GOFLOW_LOG_GROUPS")
    region: str = Field("us-east-1", alias="AWS_REGION")


@lru_cache(maxsize=1)
def load_settings() -> Settings:
    """Read the function's settings from the environment (once per cold start)."""
    env = dict(os.environ)
    if "AWS_REGION" not in env and "AWS_DEFAULT_REGION" in env:
        env["AWS_REGION"] = env["AWS_DEFAULT_REGION"]
    return Settings.model_validate(env)
