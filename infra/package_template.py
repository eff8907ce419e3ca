"""Packages template.yaml as `sam package` does, and translates it as the AWS::Serverless transform does.

1. package: every function's local `CodeUri` (".", the workspace root) becomes the S3 URI of its
   code zip, s3://<bucket>/<prefix><function name>.zip. `sam package` builds and uploads the zips
   itself; here the caller uploads them (docs/deploy.md, or the moto test's stand-in zips).
2. translate: aws-sam-translator expands the AWS::Serverless resources (the two functions and the
   consumer's Kinesis event) into plain CloudFormation: AWS::Lambda::Function and
   AWS::Lambda::EventSourceMapping. CloudFormation does the same on deployment.

As a script:

    # the packaged SAM template, to deploy with `aws cloudformation deploy` (docs/deploy.md)
    python infra/package_template.py --code-bucket my-artifacts --output packaged.json
    # the translated plain CloudFormation, for the linters (scripts/check_infra.sh)
    python infra/package_template.py --translate --output target/infra/template.json
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


def code_locations(template: dict[str, Any], bucket: str, prefix: str = "") -> dict[str, tuple[str, str]]:
    """Where each function's zip is expected: s3://<bucket>/<prefix><function name>.zip."""
    return {
        logical_id: (bucket, f"{prefix}{template['Resources'][logical_id]['Properties']['FunctionName']}.zip")
        for logical_id in function_ids(template)
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--template", type=Path, default=TEMPLATE, help="SAM template (default: template.yaml)"
    )
    parser.add_argument("--output", type=Path, required=True, help="where to write the JSON template")
    parser.add_argument(
        "--code-bucket",
        default="taxistream-artifacts-example",
        help="bucket holding the functions' zips (default: a placeholder, enough for linting)",
    )
    parser.add_argument("--code-prefix", default="", help="key prefix of the zips in that bucket")
    parser.add_argument(
        "--translate", action="store_true", help="write plain CloudFormation (SAM expanded) instead"
    )
    args = parser.parse_args()

    template = load_template(args.template)
    code = code_locations(template, args.code_bucket, args.code_prefix)
    result = package(template, code)
    if args.translate:
        result = translate(result)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    what = "translated" if args.translate else "packaged"
    print(f"{what} {args.template} -> {args.output} ({len(result['Resources'])} resources); code zips:")
    for bucket, key in code.values():
        print(f"  s3://{bucket}/{key}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
