"""The template's IAM policy documents, resolved to concrete ARNs, and the checks run on them.

CloudFormation fills a policy's ARNs in at deploy time (!GetAtt TripStream.Arn, !Sub ...). To lint the
documents before any deployment, `resolve` evaluates the intrinsics the template uses with example
values (account 123456789012, us-east-1, parameter defaults), the same way CloudFormation would; the
deployment test compares these against the documents moto stored, so the resolver is checked too.

Checks: parliament (the IAM linter) on every document, plus the two rules of this project's issue that
parliament does not state as such: no "*" action, and no "*" resource for an action that has a
resource type (parliament's own copy of the IAM reference says which actions have none).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from collections.abc import Iterator

import parliament

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
PARTITION = "aws"
STACK_NAME = "taxistream"
EXAMPLE_BUCKET = "taxistream-example-bucket"

_NO_VALUE = object()


@dataclass(frozen=True)
class PolicyDocument:
    """One policy document of the template and where it sits."""

    where: str  # e.g. "ProducerRole.Policies[s3-read-input-objects]"
    kind: str  # "identity", "resource" (bucket policy) or "trust" (a role's AssumeRolePolicyDocument)
    document: dict[str, Any]


class Resolver:
    """Evaluates the intrinsic functions used in the template with concrete example values."""

    def __init__(
        self,
        template: dict[str, Any],
        parameters: dict[str, str] | None = None,
        account_id: str = ACCOUNT_ID,
        region: str = REGION,
        stack_name: str = STACK_NAME,
    ) -> None:
        self.template = template
        self.account_id = account_id
        self.region = region
        self.parameters: dict[str, str] = {}
        for name, spec in template.get("Parameters", {}).items():
            if "Default" in spec:
                self.parameters[name] = str(spec["Default"])
        self.parameters.setdefault("BucketName", EXAMPLE_BUCKET)
        self.parameters.update(parameters or {})
        self.pseudo = {
            "AWS::AccountId": account_id,
            "AWS::Region": region,
            "AWS::Partition": PARTITION,
            "AWS::StackName": stack_name,
            "AWS::URLSuffix": "amazonaws.com",
        }

    # -- resources --------------------------------------------------------------------------------
    def _resource(self, logical_id: str) -> dict[str, Any]:
        try:
            return self.template["Resources"][logical_id]
        except KeyError:
            raise KeyError(f"no resource {logical_id}") from None

    def _name(self, logical_id: str) -> str:
        resource = self._resource(logical_id)
        props = resource.get("Properties", {})
        name_property = {
            "AWS::Kinesis::Stream": "Name",
            "AWS::DynamoDB::Table": "TableName",
            "AWS::SQS::Queue": "QueueName",
            "AWS::Logs::LogGroup": "LogGroupName",
            "AWS::S3::Bucket": "BucketName",
            "AWS::Lambda::Function": "FunctionName",
            "AWS::Serverless::Function": "FunctionName",
            "AWS::IAM::Role": "RoleName",
            "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
        }.get(resource["Type"])
        if name_property is None or name_property not in props:
            raise ValueError(f"{logical_id} ({resource['Type']}) has no fixed name to resolve")
        return str(self.value(props[name_property]))

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        resource_type = self._resource(name)["Type"]
        if resource_type == "AWS::IAM::ManagedPolicy":
            return f"arn:{PARTITION}:iam::{self.account_id}:policy/{self._name(name)}"
        if resource_type == "AWS::SQS::Queue":
            return f"https://sqs.{self.region}.amazonaws.com/{self.account_id}/{self._name(name)}"
        return self._name(name)

    def get_att(self, logical_id: str, attribute: str) -> str:
        resource_type = self._resource(logical_id)["Type"]
        name = self._name(logical_id)
        arns = {
            "AWS::Kinesis::Stream": f"arn:{PARTITION}:kinesis:{self.region}:{self.account_id}:stream/{name}",
            "AWS::DynamoDB::Table": f"arn:{PARTITION}:dynamodb:{self.region}:{self.account_id}:table/{name}",
            "AWS::SQS::Queue": f"arn:{PARTITION}:sqs:{self.region}:{self.account_id}:{name}",
            # A log group's Arn attribute ends in ":*" (it covers the group's log streams).
            "AWS::Logs::LogGroup": f"arn:{PARTITION}:logs:{self.region}:{self.account_id}:log-group:{name}:*",
            "AWS::IAM::Role": f"arn:{PARTITION}:iam::{self.account_id}:role/{name}",
            "AWS::Lambda::Function": f"arn:{PARTITION}:lambda:{self.region}:{self.account_id}:function:{name}",
            "AWS::S3::Bucket": f"arn:{PARTITION}:s3:::{name}",
        }
        if attribute == "Arn" and resource_type in arns:
            return arns[resource_type]
        if attribute == "QueueName" and resource_type == "AWS::SQS::Queue":
            return name
        raise ValueError(f"cannot resolve {logical_id}.{attribute}")

    # -- values -----------------------------------------------------------------------------------
    def _sub(self, text: str, variables: dict[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            expression = match.group(1)
            if expression in variables:
                return str(self.value(variables[expression]))
            if "." in expression and not expression.startswith("AWS::"):
                logical_id, attribute = expression.split(".", 1)
                return self.get_att(logical_id, attribute)
            return str(self.ref(expression))

        return re.sub(r"\$\{([^}!]+)\}", replace, text)

    def condition(self, name: str) -> bool:
        return bool(self.value(self.template["Conditions"][name]))

    def value(self, node: Any) -> Any:
        """The node with every intrinsic function evaluated; AWS::NoValue entries dropped."""
        if isinstance(node, list):
            return [v for v in (self.value(item) for item in node) if v is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(logical_id, attribute)
            if key == "Fn::Sub":
                if isinstance(arg, list):
                    return self._sub(arg[0], arg[1])
                return self._sub(arg, {})
            if key == "Fn::Join":
                return str(arg[0]).join(str(self.value(item)) for item in arg[1])
            if key == "Fn::Equals":
                return self.value(arg[0]) == self.value(arg[1])
            if key == "Fn::Not":
                return not self.value(arg[0])
            if key == "Fn::If":
                return self.value(arg[1] if self.condition(arg[0]) else arg[2])
            if key == "Condition":
                return self.condition(arg)
            if key.startswith("Fn::"):
                raise ValueError(f"intrinsic {key} is not supported by this resolver")
        resolved = {}
        for key, item in node.items():
            value = self.value(item)
            if value is not _NO_VALUE:
                resolved[key] = value
        return resolved


def policy_documents(template: dict[str, Any], resolver: Resolver | None = None) -> Iterator[PolicyDocument]:
    """Every policy document of the template (managed, inline, bucket and trust policies), resolved."""
    resolver = resolver or Resolver(template)
    for logical_id, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        kind = resource["Type"]
        if kind == "AWS::IAM::ManagedPolicy":
            yield PolicyDocument(logical_id, "identity", resolver.value(props["PolicyDocument"]))
        elif kind == "AWS::IAM::Role":
            yield PolicyDocument(
                f"{logical_id}.AssumeRolePolicyDocument",
                "trust",
                resolver.value(props["AssumeRolePolicyDocument"]),
            )
            for inline in props.get("Policies", []):
                yield PolicyDocument(
                    f"{logical_id}.Policies[{inline['PolicyName']}]",
                    "identity",
                    resolver.value(inline["PolicyDocument"]),
                )
        elif kind == "AWS::S3::BucketPolicy":
            yield PolicyDocument(logical_id, "resource", resolver.value(props["PolicyDocument"]))
        elif kind == "AWS::IAM::Policy":
            yield PolicyDocument(logical_id, "identity", resolver.value(props["PolicyDocument"]))


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = document["Statement"]
    return found if isinstance(found, list) else [found]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def parliament_findings(document: dict[str, Any]) -> list[str]:
    """parliament's findings on one policy document (community auditors included), as readable lines."""
    policy = parliament.analyze_policy_string(json.dumps(document), include_community_auditors=True)
    return [f"{finding.issue}: {finding.detail} {finding.location}" for finding in policy.findings]


def _iam_privileges() -> dict[str, dict[str, Any]]:
    privileges = {}
    for service in parliament.iam_definition:
        for privilege in service["privileges"]:
            privileges[f"{service['prefix']}:{privilege['privilege']}".lower()] = privilege
    return privileges


_PRIVILEGES = _iam_privileges()


def action_has_resource_type(action: str) -> bool:
    """Whether IAM lets a statement scope `action` to a resource ARN (per parliament's IAM reference)."""
    privilege = _PRIVILEGES.get(action.lower())
    if privilege is None:
        raise KeyError(f"{action} is not in parliament's IAM reference")
    return any(r["resource_type"] for r in privilege["resource_types"])


def least_privilege_violations(document: dict[str, Any]) -> list[str]:
    """Allow statements with a "*" (or "service:*") action, or with a "*" resource although one of
    their actions can be scoped to a resource; NotAction/NotResource, which invert the scope; an
    Allow without Resource (only trust policies may have none: check those with trust_violations)."""
    problems = []
    for statement in statements(document):
        if statement.get("Effect") != "Allow":
            continue
        sid = statement.get("Sid", "<no Sid>")
        if "NotAction" in statement or "NotResource" in statement:
            problems.append(f"{sid}: NotAction/NotResource in an Allow statement")
            continue
        if "Resource" not in statement:
            problems.append(f"{sid}: Allow without Resource")
            continue
        actions = as_list(statement["Action"])
        resources = as_list(statement["Resource"])
        for action in actions:
            if "*" in action:
                problems.append(f"{sid}: wildcard action {action}")
        if "*" in resources:
            scoped = [a for a in actions if "*" not in a and action_has_resource_type(a)]
            if scoped:
                problems.append(f"{sid}: Resource '*' for actions that can be scoped: {scoped}")
    return problems


def trust_violations(document: dict[str, Any]) -> list[str]:
    """A Lambda execution role's trust policy must let the Lambda service assume it, and nothing else."""
    problems = []
    for statement in statements(document):
        expected = {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
        if {k: v for k, v in statement.items() if k != "Sid"} != expected:
            problems.append(f"unexpected trust statement {statement}")
    if not statements(document):
        problems.append("no trust statement")
    return problems
