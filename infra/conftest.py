"""Fixtures shared by the template tests and the deployment test."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from package_template import code_locations, load_template, package, translate  # noqa: E402
from policies import Resolver  # noqa: E402

# Where the linters' copy of the translated template points its functions' code. Nothing is
# uploaded there: linting needs only well-formed S3 URIs.
PLACEHOLDER_CODE_BUCKET = "taxistream-artifacts-example"


@pytest.fixture(scope="session")
def source_template() -> dict[str, Any]:
    """template.yaml as written (SAM), short-form intrinsics in long form."""
    return load_template()


@pytest.fixture(scope="session")
def translated_template(source_template: dict[str, Any]) -> dict[str, Any]:
    """template.yaml packaged (placeholder code URIs) and translated to plain CloudFormation."""
    code = code_locations(source_template, PLACEHOLDER_CODE_BUCKET)
    return translate(package(source_template, code))


@pytest.fixture(scope="session")
def translated_template_file(
    translated_template: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    path = tmp_path_factory.mktemp("translated") / "template.json"
    path.write_text(json.dumps(translated_template, indent=2), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def resolver(translated_template: dict[str, Any]) -> Resolver:
    """Evaluates the translated template's intrinsics with parameter defaults and an example account."""
    return Resolver(translated_template)
