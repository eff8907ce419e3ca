"""Turns template.yaml into the plain CloudFormation JSON that CloudFormation would deploy.

Two steps, as `sam package` and the AWS::Serverless transform do them:

1. package: every function's local `CodeUri` (a folder: "." is the workspace root) becomes the S3
   URI of its code zip. `sam package` builds and uploads the zips; here the caller says where they
   are (the tests upload stand-in zips to the emulator, the lint step needs only the URIs).
2. translate: aws-sam-translator expands the AWS::Serverless resources (functions, their S3 and
   Kinesis events) into plain CloudFormation: AWS::Lambda::Function, ::Permission,
   ::EventSourceMapping, the bucket's NotificationConfiguration.

Run as a script, it writes the translated template for the linters:

    python infra/package_template.py --output build/template.json
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from pathlib import Path
from typing import Any

import yaml
from samtranslator.translator.transform import transform

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "template.yaml"
SERVERLESS_FUNCTION = "AWS::Serverless::Function"


class _TemplateLoader(yaml.SafeLoader):
    """YAML loader that reads CloudFormation's short-form intrinsics (!Ref, !Sub, !GetAtt, ...)."""


def _intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        resource, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [resource, attribute]}
    return {f"Fn::{tag_suffix}": value}


_TemplateLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template as a dict, short-form intrinsics turned into their long form."""
    with open(path, encoding="utf-8") as source:
        return yaml.load(source, Loader=_TemplateLoader)  # noqa: S506 (a SafeLoader subclass)


def function_ids(template: dict[str, Any]) -> list[str]:
    """Logical ids of the template's serverless functions, in template order."""
    return [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == SERVERLESS_FUNCTION
    ]


def package(template: dict[str, Any], code: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """A copy of the template whose functions' local CodeUri is replaced by s3://bucket/key.

    `code` maps each function's logical id to the (bucket, key) of its zip. Like `sam package`, this
    refuses a function whose code location is not given, and leaves S3 CodeUris as they are.
    """
    packaged = copy.deepcopy(template)
    for logical_id in function_ids(packaged):
        properties = packaged["Resources"][logical_id]["Properties"]
        code_uri = properties.get("CodeUri")
        if isinstance(code_uri, str) and code_uri.startswith("s3://"):
            continue
        if logical_id not in code:
            raise ValueError(f"no code location given for {logical_id} (CodeUri {code_uri!r})")
        bucket, key = code[logical_id]
        properties["CodeUri"] = f"s3://{bucket}/{key}"
    return packaged


class _NoManagedPolicyLookup:
    """aws-sam-translator asks IAM for AWS managed policy ARNs only when a function names one in
    `Policies`; this template gives each function its own Role, so a lookup is a mistake."""

    def load(self) -> dict[str, str]:
        raise RuntimeError("the template asked for an AWS managed policy lookup; give functions a Role")


def translate(template: dict[str, Any], parameter_values: dict[str, Any] | None = None) -> dict[str, Any]:
    """The packaged SAM template expanded into plain CloudFormation.

    Resource Metadata is passed through to the generated resources (passthrough_metadata), so that
    the checkov suppressions written on a serverless function also apply to its AWS::Lambda::Function.
    """
    # The translator fills AWS::Region and AWS::Partition from the environment's region.
    os.environ.setdefault("AWS_DEFAULT_REGION", os.environ.get("AWS_REGION", "us-east-1"))
    return transform(
        copy.deepcopy(template),
        dict(parameter_values or {}),
        _NoManagedPolicyLookup(),
        passthrough_metadata=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--template", type=Path, default=TEMPLATE, help="SAM template (default: template.yaml)"
    )
    parser.add_argument("--output", type=Path, required=True, help="where to write the translated JSON")
    parser.add_argument(
        "--code-bucket",
        default="taxistream-artifacts-example",
        help="bucket named in the rewritten CodeUris (default: a placeholder; linting needs no upload)",
    )
    args = parser.parse_args()

    template = load_template(args.template)
    code = {logical_id: (args.code_bucket, f"{logical_id}.zip") for logical_id in function_ids(template)}
    translated = translate(package(template, code))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(translated, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    print(f"translated {args.template} -> {args.output} ({len(translated['Resources'])} resources)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
