"""Checks of template.yaml without deploying it: cfn-lint, parliament, and what the issue requires.

Most assertions read the translated template (plain CloudFormation, as aws-sam-translator expands
it), because that is what CloudFormation deploys; a few read the SAM source where only it says
something (build metadata, comments).
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from package_template import TEMPLATE, code_locations, load_template, package, translate
from policies import (
    ACCOUNT_ID,
    EXAMPLE_BUCKET,
    REGION,
    Resolver,
    as_list,
    least_privilege_violations,
    parliament_findings,
    policy_documents,
    statements,
    trust_violations,
)

CFN_LINT = Path(sys.executable).parent / "cfn-lint"

TABLES = {
    "HighValueTripsTable": "high_value_trips",
    "TripDurationAnalysisTable": "trip_duration_analysis",
    "DistanceToFareRatioTable": "distance_to_fare_ratio",
}
MANAGED_POLICIES = {
    "KinesisWriteRecordsPolicy": "kinesis-write-records-policy",
    "LambdaKinesisReadPolicy": "lambda-kinesis-read-policy",
    "LambdaDynamoWritePolicy": "lambda-dynamo-write-policy",
    # Not the tutorial's: the producer's work queue (issue 12).
    "LambdaProducerWorkQueuePolicy": "lambda-producer-work-queue-policy",
}
ROLES = {
    "ProducerRole": "lambda-producer-kinesis-role",
    "ConsumerRole": "lambda-kinesis-streams-consumer-role",
}
FUNCTIONS = {
    "ProducerFunction": "lambda-kinesis-producer",
    "ConsumerFunction": "lambda-kinesis-consumer",
}
STREAM_ARN = f"arn:aws:kinesis:{REGION}:{ACCOUNT_ID}:stream/taxi_trips"
TABLE_ARNS = sorted(f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{name}" for name in TABLES.values())
WORK_QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:lambda-kinesis-producer-work"
WORK_QUEUE_URL = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/lambda-kinesis-producer-work"
WORK_DLQ_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:lambda-kinesis-producer-work-dlq"
# What the producer's role may do on its work queue: send continuations (the function), and what
# Lambda's SQS event source mapping calls with the role.
WORK_QUEUE_SEND = {"sqs:SendMessage"}
WORK_QUEUE_POLL = {
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
}

# Every action any role of the stack may perform, and on what (resolved with the parameter defaults).
# A new permission must be added here on purpose, with its reason in the template.
EXPECTED_GRANTS = {
    "ProducerRole": {
        ("kinesis:PutRecord", STREAM_ARN),
        ("kinesis:PutRecords", STREAM_ARN),
        ("s3:GetObject", f"arn:aws:s3:::{EXAMPLE_BUCKET}/incoming/*"),
        # Only to tell a deleted input object (NoSuchKey) from a forbidden one.
        ("s3:ListBucket", f"arn:aws:s3:::{EXAMPLE_BUCKET}", '{"StringLike": {"s3:prefix": "incoming/*"}}'),
        ("s3:PutObject", f"arn:aws:s3:::{EXAMPLE_BUCKET}/rejects/incoming/*"),
        # Each invocation's report of the object it read (taxistream status).
        ("s3:PutObject", f"arn:aws:s3:::{EXAMPLE_BUCKET}/reports/incoming/*"),
        ("sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:lambda-kinesis-producer-dlq"),
        *{(action, WORK_QUEUE_ARN) for action in WORK_QUEUE_SEND | WORK_QUEUE_POLL},
        (
            "logs:CreateLogStream",
            f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:/aws/lambda/lambda-kinesis-producer:*",
        ),
        (
            "logs:PutLogEvents",
            f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:/aws/lambda/lambda-kinesis-producer:*",
        ),
    },
    "ConsumerRole": {
        *{
            (action, STREAM_ARN)
            for action in (
                "kinesis:DescribeStream",
                "kinesis:DescribeStreamSummary",
                "kinesis:GetRecords",
                "kinesis:GetShardIterator",
                "kinesis:ListShards",
            )
        },
        ("kinesis:ListStreams", "*"),
        *{
            (action, arn)
            for action in ("dynamodb:BatchWriteItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
            for arn in TABLE_ARNS
        },
        ("s3:PutObject", f"arn:aws:s3:::{EXAMPLE_BUCKET}/rejects/stream/*"),
        ("sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:lambda-kinesis-consumer-dlq"),
        (
            "logs:CreateLogStream",
            f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:/aws/lambda/lambda-kinesis-consumer:*",
        ),
        (
            "logs:PutLogEvents",
            f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:/aws/lambda/lambda-kinesis-consumer:*",
        ),
    },
}

# Every checkov check suppressed in the template, with the resources it is suppressed on. The
# justification is the `comment` next to each suppression in template.yaml.
EXPECTED_CHECKOV_SKIPS = {
    "TripBucket": {"CKV_AWS_18", "CKV_AWS_21"},
    "HighValueTripsTable": {"CKV_AWS_119"},
    "TripDurationAnalysisTable": {"CKV_AWS_119"},
    "DistanceToFareRatioTable": {"CKV_AWS_119"},
    "ProducerDeadLetterQueue": {"CKV_AWS_27"},
    "ConsumerDeadLetterQueue": {"CKV_AWS_27"},
    "WorkQueue": {"CKV_AWS_27"},
    "WorkDeadLetterQueue": {"CKV_AWS_27"},
    "ProducerLogGroup": {"CKV_AWS_158"},
    "ConsumerLogGroup": {"CKV_AWS_158"},
    "ProducerFunction": {"CKV_AWS_115", "CKV_AWS_117", "CKV_AWS_173"},
    "ConsumerFunction": {"CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_173"},
}


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def props(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return template["Resources"][logical_id]["Properties"]


def run_cfn_lint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CFN_LINT), str(path)], capture_output=True, text=True, check=False)


# ------------------------------------------------------------------------------------------------
# cfn-lint
# ------------------------------------------------------------------------------------------------
def test_cfn_lint_finds_nothing_in_the_sam_template() -> None:
    result = run_cfn_lint(TEMPLATE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_cfn_lint_finds_nothing_in_the_translated_template(translated_template_file: Path) -> None:
    result = run_cfn_lint(translated_template_file)
    assert result.returncode == 0, result.stdout + result.stderr


def test_only_the_translated_template_shows_errors_inside_events(
    source_template: dict[str, Any], tmp_path: Path
) -> None:
    """Why both are linted: cfn-lint 1.58 does not expand SAM, so a wrong value inside a function's
    Events passes the SAM template and is caught only once translated."""
    broken = copy.deepcopy(source_template)
    mapping = broken["Resources"]["ConsumerFunction"]["Properties"]["Events"]["TripRecords"]["Properties"]
    mapping["StartingPosition"] = "SOMETIMES"
    sam_file = tmp_path / "sam.json"
    sam_file.write_text(json.dumps(broken), encoding="utf-8")
    assert run_cfn_lint(sam_file).returncode == 0

    code = code_locations(broken, "taxistream-artifacts-example")
    translated_file = tmp_path / "translated.json"
    translated_file.write_text(json.dumps(translate(package(broken, code))), encoding="utf-8")
    result = run_cfn_lint(translated_file)
    assert result.returncode != 0
    assert "SOMETIMES" in result.stdout


def test_the_packaged_sam_template_of_docs_deploy_md_is_valid(tmp_path: Path) -> None:
    """docs/deploy.md deploys without the SAM CLI: the zips uploaded as <function name>.zip, and the
    template packaged by package_template.py, keeping the transform for CloudFormation to run."""
    output = tmp_path / "packaged.json"
    subprocess.run(
        [sys.executable, str(Path(__file__).parent / "package_template.py"),
         "--code-bucket", "my-artifacts", "--code-prefix", "taxistream/", "--output", str(output)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    packaged = json.loads(output.read_text(encoding="utf-8"))
    assert packaged["Transform"] == "AWS::Serverless-2016-10-31"
    assert {fid: props(packaged, fid)["CodeUri"] for fid in FUNCTIONS} == {
        fid: f"s3://my-artifacts/taxistream/{name}.zip" for fid, name in FUNCTIONS.items()
    }
    # Everything but the code location is the template as written.
    source = load_template()
    for fid in FUNCTIONS:
        del props(packaged, fid)["CodeUri"], props(source, fid)["CodeUri"]
    assert packaged == source
    result = run_cfn_lint(output)
    assert result.returncode == 0, result.stdout + result.stderr


# ------------------------------------------------------------------------------------------------
# IAM: names, exact grants, least privilege, parliament
# ------------------------------------------------------------------------------------------------
def test_managed_policies_and_roles_have_the_tutorials_names(translated_template: dict[str, Any]) -> None:
    policies = resources_of_type(translated_template, "AWS::IAM::ManagedPolicy")
    assert {k: v["Properties"]["ManagedPolicyName"] for k, v in policies.items()} == MANAGED_POLICIES
    roles = resources_of_type(translated_template, "AWS::IAM::Role")
    assert {k: v["Properties"]["RoleName"] for k, v in roles.items()} == ROLES
    # No other identity policy anywhere (SAM did not add any).
    assert not resources_of_type(translated_template, "AWS::IAM::Policy")


def test_roles_attach_the_tutorials_managed_policies(translated_template: dict[str, Any]) -> None:
    attached = {
        logical_id: sorted(ref["Ref"] for ref in props(translated_template, logical_id)["ManagedPolicyArns"])
        for logical_id in ROLES
    }
    assert attached == {
        "ProducerRole": ["KinesisWriteRecordsPolicy", "LambdaProducerWorkQueuePolicy"],
        "ConsumerRole": ["LambdaDynamoWritePolicy", "LambdaKinesisReadPolicy"],
    }


def role_grants(template: dict[str, Any], resolver: Resolver, role: str) -> set[tuple[str, ...]]:
    """(action, resource) pairs a role's Allow statements grant: inline and attached managed policies;
    (action, resource, condition as JSON) for a statement with a condition."""
    documents = [inline["PolicyDocument"] for inline in props(template, role).get("Policies", [])]
    documents += [
        props(template, ref["Ref"])["PolicyDocument"] for ref in props(template, role)["ManagedPolicyArns"]
    ]
    grants = set()
    for document in documents:
        for statement in statements(resolver.value(document)):
            assert statement["Effect"] == "Allow", statement
            condition = statement.get("Condition")
            for action in as_list(statement["Action"]):
                for resource in as_list(statement["Resource"]):
                    if condition is None:
                        grants.add((action, resource))
                    else:
                        grants.add((action, resource, json.dumps(condition, sort_keys=True)))
    return grants


@pytest.mark.parametrize("role", sorted(ROLES))
def test_each_role_is_granted_exactly_what_its_function_uses(
    translated_template: dict[str, Any], resolver: Resolver, role: str
) -> None:
    assert role_grants(translated_template, resolver, role) == EXPECTED_GRANTS[role]


def test_the_work_queue_policy_is_scoped_to_the_work_queue(
    translated_template: dict[str, Any], resolver: Resolver
) -> None:
    """Two statements, each with its Sid: the producer sends continuations, and the event source
    mapping polls; both on the work queue only (not its dead-letter queue, nor any other queue)."""
    written = props(translated_template, "LambdaProducerWorkQueuePolicy")["PolicyDocument"]
    by_sid = {s["Sid"]: s for s in statements(resolver.value(written))}
    assert set(by_sid) == {"QueueContinuations", "PollWorkQueue"}
    assert {sid: set(as_list(s["Action"])) for sid, s in by_sid.items()} == {
        "QueueContinuations": WORK_QUEUE_SEND,
        "PollWorkQueue": WORK_QUEUE_POLL,
    }
    for statement in by_sid.values():
        assert statement["Effect"] == "Allow"
        assert as_list(statement["Resource"]) == [WORK_QUEUE_ARN]
        assert "Condition" not in statement
    # Unresolved: the queue's own ARN attribute, not a name written out.
    for statement in statements(written):
        assert statement["Resource"] == {"Fn::GetAtt": ["WorkQueue", "Arn"]}
    # SAM added nothing for the SQS event: the function has its own role (no AWS managed policy,
    # no generated role or policy).
    assert set(resources_of_type(translated_template, "AWS::IAM::Role")) == set(ROLES)
    for role in ROLES:
        for arn in props(translated_template, role)["ManagedPolicyArns"]:
            assert set(arn) == {"Ref"}, arn


def test_documents_are_found(translated_template: dict[str, Any], resolver: Resolver) -> None:
    """The policy checks below see every document: 4 managed, 7 inline, 2 trust, 1 bucket policy."""
    kinds = [document.kind for document in policy_documents(translated_template, resolver)]
    assert sorted(kinds) == sorted(["identity"] * 11 + ["trust"] * 2 + ["resource"])


@pytest.mark.parametrize("index", range(14))
def test_every_policy_document_passes_parliament_and_least_privilege(
    translated_template: dict[str, Any], resolver: Resolver, index: int
) -> None:
    document = list(policy_documents(translated_template, resolver))[index]
    if document.kind == "trust":
        # parliament lints identity and resource policies; a trust policy has no Resource.
        assert trust_violations(document.document) == [], document.where
        return
    assert parliament_findings(document.document) == [], document.where
    assert least_privilege_violations(document.document) == [], document.where


def test_parliament_and_the_least_privilege_rules_do_report_bad_policies() -> None:
    """The checks above can fail: the same tools on deliberately wrong documents."""
    stream_arn = STREAM_ARN
    subscribe = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "kinesis:SubscribeToShard", "Resource": stream_arn}],
    }
    assert any("RESOURCE_MISMATCH" in f for f in parliament_findings(subscribe))
    object_action_on_bucket = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::some-bucket"}],
    }
    assert any("RESOURCE_MISMATCH" in f for f in parliament_findings(object_action_on_bucket))
    wildcard_action = {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "W", "Effect": "Allow", "Action": "kinesis:*", "Resource": stream_arn}],
    }
    assert least_privilege_violations(wildcard_action) == ["W: wildcard action kinesis:*"]
    unscoped = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "U",
                "Effect": "Allow",
                "Action": ["kinesis:PutRecords", "kinesis:ListStreams"],
                "Resource": "*",
            }
        ],
    }
    assert least_privilege_violations(unscoped) == [
        "U: Resource '*' for actions that can be scoped: ['kinesis:PutRecords']"
    ]


def test_the_bucket_policy_refuses_plain_http(
    translated_template: dict[str, Any], resolver: Resolver
) -> None:
    policy = props(translated_template, "TripBucketPolicy")
    assert policy["Bucket"] == {"Ref": "TripBucket"}
    document = resolver.value(policy["PolicyDocument"])
    assert statements(document) == [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{EXAMPLE_BUCKET}", f"arn:aws:s3:::{EXAMPLE_BUCKET}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]


def test_the_s3_read_tightening_is_documented_in_the_template() -> None:
    text = TEMPLATE.read_text(encoding="utf-8")
    assert "AmazonS3ReadOnlyAccess" in text and "Deliberately tightened" in text
    assert "global to an AWS account" in text  # the managed-policy name collision note


# ------------------------------------------------------------------------------------------------
# Bucket and trigger
# ------------------------------------------------------------------------------------------------
def test_bucket_is_private_encrypted_and_named_by_parameter(translated_template: dict[str, Any]) -> None:
    bucket = props(translated_template, "TripBucket")
    assert bucket["BucketName"] == {"Ref": "BucketName"}
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}


def s3_filter_matches(configuration: dict[str, Any], key: str, resolver: Resolver) -> bool:
    rules = {
        rule["Name"]: resolver.value(rule["Value"]) for rule in configuration["Filter"]["S3Key"]["Rules"]
    }
    return key.startswith(rules.get("prefix", "")) and key.endswith(rules.get("suffix", ""))


def test_producer_is_triggered_by_every_object_under_the_input_prefix_only(
    translated_template: dict[str, Any], resolver: Resolver
) -> None:
    """No suffix filter: S3's are case-sensitive, so TRIPS.CSV would never trigger the producer. The
    producer picks trip files by suffix in any case itself (tested with the producer's code)."""
    configurations = props(translated_template, "TripBucket")["NotificationConfiguration"][
        "LambdaConfigurations"
    ]
    (configuration,) = configurations
    assert configuration["Event"] == "s3:ObjectCreated:*"
    assert configuration["Function"] == {"Fn::GetAtt": ["ProducerFunction", "Arn"]}
    rules = {rule["Name"]: rule["Value"] for rule in configuration["Filter"]["S3Key"]["Rules"]}
    assert rules == {"prefix": {"Ref": "InputPrefix"}}

    def triggers(key: str) -> bool:
        return s3_filter_matches(configuration, key, resolver)

    for key in (
        "incoming/yellow_tripdata_2025-01.parquet",
        "incoming/trips.csv",
        "incoming/2024/trips.csv.gz",
        "incoming/TRIPS.CSV",
        "incoming/jan.Parquet",
    ):
        assert triggers(key), key
    # Rejects written by the producer and by the consumer, and files elsewhere, never trigger it.
    for key in (
        "rejects/incoming/trips.csv.rejects.csv",
        "rejects/stream/shardId-000000000000/49650.json",
        "reports/incoming/trips.csv/9b2cf535f27731c9/after-line-0.json",
        "trips.csv",
    ):
        assert not triggers(key), key


def test_rejects_and_reports_can_never_lie_inside_the_input_prefix(source_template: dict[str, Any]) -> None:
    """The prefixes are one top-level folder each and the output ones differ from the input one (a
    CloudFormation Rule each), so no rejects or reports key starts with the input prefix, whatever the
    user chooses."""
    parameters = source_template["Parameters"]
    pattern = re.compile(parameters["InputPrefix"]["AllowedPattern"])
    assert parameters["RejectsPrefix"]["AllowedPattern"] == parameters["InputPrefix"]["AllowedPattern"]
    assert parameters["ReportsPrefix"]["AllowedPattern"] == parameters["InputPrefix"]["AllowedPattern"]
    for good in ("incoming/", "rejects/", "in-2025.x_y/"):
        assert pattern.fullmatch(good), good
    for bad in ("", "/", "incoming", "incoming/rejects/", "a/b/", "/incoming/"):
        assert not pattern.fullmatch(bad), bad
    for rule, output in (
        ("RejectsNeverTriggerTheProducer", "RejectsPrefix"),
        ("ReportsNeverTriggerTheProducer", "ReportsPrefix"),
    ):
        (assertion,) = source_template["Rules"][rule]["Assertions"]
        assert assertion["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "InputPrefix"}, {"Ref": output}]}]}


def test_s3_may_invoke_the_producer_for_this_bucket_and_account_only(
    translated_template: dict[str, Any],
) -> None:
    permissions = resources_of_type(translated_template, "AWS::Lambda::Permission")
    assert list(permissions) == ["ProducerInvokePermission"]
    assert permissions["ProducerInvokePermission"]["Properties"] == {
        "Action": "lambda:InvokeFunction",
        "FunctionName": {"Fn::GetAtt": ["ProducerFunction", "Arn"]},
        "Principal": "s3.amazonaws.com",
        "SourceAccount": {"Ref": "AWS::AccountId"},
        "SourceArn": {"Fn::Sub": "arn:${AWS::Partition}:s3:::${BucketName}"},
    }
    assert translated_template["Resources"]["TripBucket"]["DependsOn"] == "ProducerInvokePermission"


# ------------------------------------------------------------------------------------------------
# Stream and tables
# ------------------------------------------------------------------------------------------------
def test_stream_is_taxi_trips_encrypted_on_demand_or_provisioned(
    translated_template: dict[str, Any], source_template: dict[str, Any]
) -> None:
    stream = props(translated_template, "TripStream")
    assert stream["Name"] == "taxi_trips"
    assert stream["StreamModeDetails"] == {"StreamMode": {"Ref": "StreamMode"}}
    assert stream["ShardCount"] == {
        "Fn::If": ["IsProvisioned", {"Ref": "ShardCount"}, {"Ref": "AWS::NoValue"}]
    }
    assert stream["StreamEncryption"] == {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"}
    parameters = source_template["Parameters"]
    assert parameters["StreamMode"]["AllowedValues"] == ["ON_DEMAND", "PROVISIONED"]
    assert parameters["StreamMode"]["Default"] == "ON_DEMAND"
    for mode, shards in (("ON_DEMAND", None), ("PROVISIONED", "4")):
        resolved = Resolver(translated_template, {"StreamMode": mode, "ShardCount": "4"}).value(stream)
        assert resolved.get("ShardCount") == shards


@pytest.mark.parametrize("logical_id", sorted(TABLES))
def test_tables_have_the_tutorials_names_and_key(
    translated_template: dict[str, Any], logical_id: str
) -> None:
    assert props(translated_template, logical_id) == {
        "TableName": TABLES[logical_id],
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "trip_id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "trip_id", "KeyType": "HASH"}],
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "SSESpecification": {"SSEEnabled": True},
    }


def test_queues_are_encrypted_and_dead_letter_queues_keep_messages_14_days(
    translated_template: dict[str, Any],
) -> None:
    queues = resources_of_type(translated_template, "AWS::SQS::Queue")
    assert {k: v["Properties"] for k, v in queues.items()} == {
        "ProducerDeadLetterQueue": {
            "QueueName": "lambda-kinesis-producer-dlq",
            "MessageRetentionPeriod": 1209600,
            "SqsManagedSseEnabled": True,
        },
        "ConsumerDeadLetterQueue": {
            "QueueName": "lambda-kinesis-consumer-dlq",
            "MessageRetentionPeriod": 1209600,
            "SqsManagedSseEnabled": True,
        },
        "WorkQueue": {
            "QueueName": "lambda-kinesis-producer-work",
            "VisibilityTimeout": 5400,
            "MessageRetentionPeriod": 345600,
            "SqsManagedSseEnabled": True,
            "RedrivePolicy": {
                "deadLetterTargetArn": {"Fn::GetAtt": ["WorkDeadLetterQueue", "Arn"]},
                "maxReceiveCount": 3,
            },
        },
        "WorkDeadLetterQueue": {
            "QueueName": "lambda-kinesis-producer-work-dlq",
            "MessageRetentionPeriod": 1209600,
            "SqsManagedSseEnabled": True,
        },
    }


def test_work_queue_outlasts_six_producer_timeouts_and_dead_letters_after_3_receives(
    translated_template: dict[str, Any], resolver: Resolver
) -> None:
    """AWS advises a visibility timeout of at least 6x the function timeout for an SQS event source
    (Lambda refuses less than 1x); a message failed 3 times goes to the work dead-letter queue, which
    keeps messages longer than the work queue (a message's age counts from its first enqueue)."""
    queue = props(translated_template, "WorkQueue")
    timeout = props(translated_template, "ProducerFunction")["Timeout"]
    assert timeout == 900
    assert queue["VisibilityTimeout"] >= 6 * timeout
    assert queue["VisibilityTimeout"] <= 43200  # the SQS maximum
    assert resolver.value(queue["RedrivePolicy"]) == {
        "deadLetterTargetArn": WORK_DLQ_ARN,
        "maxReceiveCount": 3,
    }
    dead_letters = props(translated_template, "WorkDeadLetterQueue")
    assert dead_letters["MessageRetentionPeriod"] > queue["MessageRetentionPeriod"]
    # The dead-letter queue itself has no redrive: its messages stay until an operator acts.
    assert "RedrivePolicy" not in dead_letters


# ------------------------------------------------------------------------------------------------
# Functions, event source mapping, logs
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_functions_follow_the_rust_sam_conventions(source_template: dict[str, Any], logical_id: str) -> None:
    function = source_template["Resources"][logical_id]
    name = FUNCTIONS[logical_id]
    assert function["Type"] == "AWS::Serverless::Function"
    assert function["Metadata"]["BuildMethod"] == "rust-cargolambda"
    assert function["Metadata"]["BuildProperties"] == {"Binary": name}
    properties = function["Properties"]
    assert properties["FunctionName"] == name
    assert properties["CodeUri"] == "."
    assert properties["Handler"] == "bootstrap"
    assert properties["Runtime"] == "provided.al2023"
    assert properties["Architectures"] == ["arm64"]
    assert properties["Role"] == {"Fn::GetAtt": [logical_id.replace("Function", "Role"), "Arn"]}


def test_memory_and_timeout_say_where_they_come_from() -> None:
    """Each function's sizing comment cites the benchmarks, right above its MemorySize and Timeout."""
    text = TEMPLATE.read_text(encoding="utf-8")
    sized = re.findall(
        r"^\s+# BENCHMARKS\.md:.*?\n\s+MemorySize: (\d+)\n\s+Timeout: (\d+)$", text, re.MULTILINE | re.DOTALL
    )
    assert sized == [("1024", "900"), ("512", "60")]


def test_producer_environment(translated_template: dict[str, Any], resolver: Resolver) -> None:
    function = props(translated_template, "ProducerFunction")
    assert resolver.value(function["Environment"]["Variables"]) == {
        "TAXISTREAM_STREAM": "taxi_trips",
        "TAXISTREAM_REJECTS_BUCKET": EXAMPLE_BUCKET,
        "TAXISTREAM_REJECTS_PREFIX": "rejects/",
        "TAXISTREAM_REPORTS_PREFIX": "reports/",
        "TAXISTREAM_WORK_QUEUE_URL": WORK_QUEUE_URL,
        # Empty: no cap but the invocation's deadline.
        "TAXISTREAM_MAX_WORK_SECONDS": "",
        "TAXISTREAM_AGGREGATION": "kpl",
    }
    assert function["Environment"]["Variables"]["TAXISTREAM_WORK_QUEUE_URL"] == {"Ref": "WorkQueue"}
    unaggregated = Resolver(translated_template, {"ProducerAggregation": "none"})
    assert unaggregated.value(function["Environment"]["Variables"])["TAXISTREAM_AGGREGATION"] == "none"
    capped = Resolver(translated_template, {"ProducerMaxWorkSeconds": "600"})
    assert capped.value(function["Environment"]["Variables"])["TAXISTREAM_MAX_WORK_SECONDS"] == "600"
    # /tmp holds an object's rejected rows until they are uploaded.
    assert int(resolver.value(function["EphemeralStorage"]["Size"])) >= 512
    assert function["DeadLetterConfig"] == {"TargetArn": {"Fn::GetAtt": ["ProducerDeadLetterQueue", "Arn"]}}


def test_consumer_environment_carries_the_thresholds(
    translated_template: dict[str, Any], resolver: Resolver
) -> None:
    function = props(translated_template, "ConsumerFunction")
    assert resolver.value(function["Environment"]["Variables"]) == {
        "TAXISTREAM_TABLE_HIGH_VALUE_TRIPS": "high_value_trips",
        "TAXISTREAM_TABLE_TRIP_DURATION_ANALYSIS": "trip_duration_analysis",
        "TAXISTREAM_TABLE_DISTANCE_TO_FARE_RATIO": "distance_to_fare_ratio",
        "TAXISTREAM_HIGH_VALUE_TOTAL": "50.00",
        "TAXISTREAM_SHORT_TRIP_MINUTES": "10",
        "TAXISTREAM_LONG_TRIP_MINUTES": "30",
        "TAXISTREAM_MAX_TRIP_HOURS": "24",
        "TAXISTREAM_LOW_FARE_PER_MILE": "3.00",
        "TAXISTREAM_PREMIUM_FARE_PER_MILE": "7.00",
        "TAXISTREAM_REJECTS_BUCKET": EXAMPLE_BUCKET,
        "TAXISTREAM_REJECTS_PREFIX": "rejects/",
    }
    # Each threshold comes from its own parameter.
    other = Resolver(translated_template, {"HighValueTotal": "75.00", "PremiumFarePerMile": "9.50"})
    variables = other.value(function["Environment"]["Variables"])
    assert variables["TAXISTREAM_HIGH_VALUE_TOTAL"] == "75.00"
    assert variables["TAXISTREAM_PREMIUM_FARE_PER_MILE"] == "9.50"


def test_consumer_event_source_mapping(
    translated_template: dict[str, Any], source_template: dict[str, Any]
) -> None:
    mappings = resources_of_type(translated_template, "AWS::Lambda::EventSourceMapping")
    assert set(mappings) == {"ConsumerFunctionTripRecords", "ProducerFunctionWorkMessages"}
    mapping = mappings["ConsumerFunctionTripRecords"]
    assert mapping["Properties"] == {
        "EventSourceArn": {"Fn::GetAtt": ["TripStream", "Arn"]},
        "FunctionName": {"Ref": "ConsumerFunction"},
        "StartingPosition": "TRIM_HORIZON",
        "BatchSize": {"Ref": "BatchSize"},
        "MaximumBatchingWindowInSeconds": {"Ref": "MaximumBatchingWindowInSeconds"},
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "BisectBatchOnFunctionError": True,
        "MaximumRetryAttempts": {"Ref": "MaximumRetryAttempts"},
        "MaximumRecordAgeInSeconds": {"Ref": "MaximumRecordAgeInSeconds"},
        "DestinationConfig": {
            "OnFailure": {"Destination": {"Fn::GetAtt": ["ConsumerDeadLetterQueue", "Arn"]}}
        },
    }
    parameters = source_template["Parameters"]
    # Bounded: -1 (retry forever, keep forever) is not allowed.
    assert parameters["MaximumRetryAttempts"]["MinValue"] == 0
    assert parameters["MaximumRetryAttempts"]["MaxValue"] == 10000
    assert parameters["MaximumRecordAgeInSeconds"]["MinValue"] == 60
    assert parameters["MaximumRecordAgeInSeconds"]["MaxValue"] == 604800
    # Failed batches must be described while their records are still in the stream (24 h).
    assert parameters["MaximumRecordAgeInSeconds"]["Default"] < 24 * 3600
    assert props(translated_template, "TripStream")["RetentionPeriodHours"] == 24


def test_producer_work_queue_event_source_mapping(
    translated_template: dict[str, Any], source_template: dict[str, Any], resolver: Resolver
) -> None:
    """One work message per invocation, failures reported per message, concurrency from the
    parameter (AWS allows 2 to 1000)."""
    mapping = props(translated_template, "ProducerFunctionWorkMessages")
    assert mapping == {
        "EventSourceArn": {"Fn::GetAtt": ["WorkQueue", "Arn"]},
        "FunctionName": {"Ref": "ProducerFunction"},
        "BatchSize": 1,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "ScalingConfig": {"MaximumConcurrency": {"Ref": "ProducerMaximumConcurrency"}},
    }
    assert resolver.value(mapping)["EventSourceArn"] == WORK_QUEUE_ARN
    parameter = source_template["Parameters"]["ProducerMaximumConcurrency"]
    assert {k: parameter[k] for k in ("Type", "Default", "MinValue", "MaxValue")} == {
        "Type": "Number",
        "Default": 2,
        "MinValue": 2,
        "MaxValue": 1000,
    }
    other = Resolver(translated_template, {"ProducerMaximumConcurrency": "8"})
    assert other.value(mapping)["ScalingConfig"] == {"MaximumConcurrency": "8"}


@pytest.mark.parametrize("name", ["ProducerMaxWorkSeconds", "ConsumerReservedConcurrency"])
def test_optional_integer_parameters_accept_empty_or_a_positive_integer(
    source_template: dict[str, Any], name: str
) -> None:
    parameter = source_template["Parameters"][name]
    assert parameter["Type"] == "String" and parameter["Default"] == ""
    pattern = re.compile(parameter["AllowedPattern"])
    for good in ("", "1", "600", "1000"):
        assert pattern.fullmatch(good), good
    for bad in ("0", "-1", "010", "1.5", " 5", "five"):
        assert not pattern.fullmatch(bad), bad


def test_consumer_reserved_concurrency_is_set_only_when_given(translated_template: dict[str, Any]) -> None:
    function = translated_template["Resources"]["ConsumerFunction"]["Properties"]
    assert function["ReservedConcurrentExecutions"] == {
        "Fn::If": [
            "HasConsumerReservedConcurrency",
            {"Ref": "ConsumerReservedConcurrency"},
            {"Ref": "AWS::NoValue"},
        ]
    }
    assert "ReservedConcurrentExecutions" not in Resolver(translated_template).value(function)
    reserved = Resolver(translated_template, {"ConsumerReservedConcurrency": "20"}).value(function)
    assert reserved["ReservedConcurrentExecutions"] == "20"
    # The producer reserves nothing (its work queue's concurrency is capped by the mapping instead).
    assert "ReservedConcurrentExecutions" not in props(translated_template, "ProducerFunction")


def test_parameters_are_grouped(source_template: dict[str, Any]) -> None:
    """Every parameter appears in exactly one group of the console's parameter form; the producer's in
    "Producer"."""
    groups = source_template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    grouped = [name for group in groups for name in group["Parameters"]]
    assert sorted(grouped) == sorted(source_template["Parameters"])
    (producer,) = [g["Parameters"] for g in groups if g["Label"]["default"] == "Producer"]
    assert producer == [
        "ProducerEphemeralStorageMb",
        "ProducerMaximumConcurrency",
        "ProducerMaxWorkSeconds",
        "ProducerAggregation",
    ]


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_functions_log_to_their_own_group_with_retention(
    translated_template: dict[str, Any], logical_id: str
) -> None:
    group_id = logical_id.replace("Function", "LogGroup")
    group = props(translated_template, group_id)
    assert group == {
        "LogGroupName": f"/aws/lambda/{FUNCTIONS[logical_id]}",
        "RetentionInDays": {"Ref": "LogRetentionInDays"},
    }
    assert props(translated_template, logical_id)["LoggingConfig"] == {
        "LogGroup": {"Ref": group_id},
        "LogFormat": "JSON",
        "ApplicationLogLevel": {"Ref": "LogLevel"},
        "SystemLogLevel": "WARN",
    }


# ------------------------------------------------------------------------------------------------
# Alarms and outputs
# ------------------------------------------------------------------------------------------------
def test_alarms_watch_iterator_age_errors_and_dead_letters(translated_template: dict[str, Any]) -> None:
    alarms = resources_of_type(translated_template, "AWS::CloudWatch::Alarm")
    watched = {
        (p["Namespace"], p["MetricName"], json.dumps(p["Dimensions"][0]["Value"], sort_keys=True))
        for p in (a["Properties"] for a in alarms.values())
    }
    assert watched == {
        ("AWS/Lambda", "IteratorAge", '{"Ref": "ConsumerFunction"}'),
        ("AWS/Lambda", "Errors", '{"Ref": "ProducerFunction"}'),
        ("AWS/Lambda", "Errors", '{"Ref": "ConsumerFunction"}'),
        (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            '{"Fn::GetAtt": ["ProducerDeadLetterQueue", "QueueName"]}',
        ),
        (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            '{"Fn::GetAtt": ["ConsumerDeadLetterQueue", "QueueName"]}',
        ),
        (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            '{"Fn::GetAtt": ["WorkDeadLetterQueue", "QueueName"]}',
        ),
    }
    iterator_age = props(translated_template, "ConsumerIteratorAgeAlarm")
    assert iterator_age["Threshold"] == {"Ref": "IteratorAgeAlarmMilliseconds"}
    assert iterator_age["Statistic"] == "Maximum"
    for alarm in alarms.values():
        p = alarm["Properties"]
        assert p["Dimensions"][0]["Name"] in ("FunctionName", "QueueName")
        assert p["AlarmActions"] == {
            "Fn::If": ["HasAlarmAction", [{"Ref": "AlarmActionArn"}], {"Ref": "AWS::NoValue"}]
        }
    # A dead work message fires at once: more than 0 visible, over one 5-minute period.
    work = props(translated_template, "WorkDeadLetterAlarm")
    assert {k: work[k] for k in ("Statistic", "Period", "EvaluationPeriods", "Threshold")} == {
        "Statistic": "Maximum",
        "Period": 300,
        "EvaluationPeriods": 1,
        "Threshold": 1,
    }
    assert work["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert work["AlarmName"] == {"Fn::Sub": "${AWS::StackName}-producer-work-dead-letters"}
    for alarm in alarms.values():
        p = alarm["Properties"]
        assert p["TreatMissingData"] == "notBreaching"
        assert p["OKActions"] == p["AlarmActions"]
        assert p["AlarmName"]["Fn::Sub"].startswith("${AWS::StackName}-")
    # Without an action ARN, no action; with one, that ARN.
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:taxistream-alarms"
    assert "AlarmActions" not in Resolver(translated_template).value(iterator_age)
    assert Resolver(translated_template, {"AlarmActionArn": topic}).value(iterator_age)["AlarmActions"] == [
        topic
    ]


def test_outputs_name_bucket_stream_arn_and_tables(
    translated_template: dict[str, Any], resolver: Resolver
) -> None:
    outputs = {k: resolver.value(v["Value"]) for k, v in translated_template["Outputs"].items()}
    assert outputs["BucketName"] == EXAMPLE_BUCKET
    assert outputs["StreamArn"] == STREAM_ARN
    assert outputs["HighValueTripsTable"] == "high_value_trips"
    assert outputs["TripDurationAnalysisTable"] == "trip_duration_analysis"
    assert outputs["DistanceToFareRatioTable"] == "distance_to_fare_ratio"
    assert outputs["UploadLocation"] == f"s3://{EXAMPLE_BUCKET}/incoming/"
    assert outputs["WorkQueueUrl"] == WORK_QUEUE_URL
    assert outputs["WorkDeadLetterQueueUrl"] == WORK_QUEUE_URL + "-dlq"


# ------------------------------------------------------------------------------------------------
# checkov suppressions
# ------------------------------------------------------------------------------------------------
def test_every_checkov_suppression_is_expected_and_justified(source_template: dict[str, Any]) -> None:
    skips = {}
    for logical_id, resource in source_template["Resources"].items():
        entries = resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
        if not entries:
            continue
        skips[logical_id] = {entry["id"] for entry in entries}
        for entry in entries:
            assert len(entry.get("comment", "").split()) >= 15, f"{logical_id} {entry['id']}: justify it"
    assert skips == EXPECTED_CHECKOV_SKIPS
