"""Deploys the translated template as a CloudFormation stack into moto and reads it back.

Needs a running moto server (scripts/moto_server.py) at AWS_ENDPOINT_URL on 127.0.0.1; refuses any
other endpoint, so it can never touch real AWS. The stack goes into an account of its own (a random
account id, entered with sts:AssumeRole, which moto honours), so it cannot collide with other tests
using the same server, nor with a previous run.

The functions' code: CloudFormation needs each function's zip in S3. moto never runs them, so each
function gets the same stand-in zip made here, holding a `bootstrap` shell script that exits 1. It
is NOT the Rust binary; building that is `sam build`'s job (docs/deploy.md).

What moto 5.2.5 does with this stack (seen on this machine; each test below says which case it is):
  - creates and reports faithfully: stack status and outputs; bucket name and default encryption;
    stream name, ARN, shard count and retention; table names, key schemas, attribute definitions and
    billing mode; managed policies with names and documents; roles with trust and inline policies;
    functions' name, runtime, handler, role, memory, timeout, environment and the consumer's reserved
    concurrency; the producer's invoke permission; every setting of both event source mappings (the
    consumer's Kinesis one, the producer's SQS one with its ScalingConfig); log group retention;
    queue attributes, the work queue's visibility timeout and redrive policy included.
  - accepts but does not create (lists them without a logical id): AWS::S3::BucketPolicy,
    AWS::CloudWatch::Alarm.
  - drops: the bucket's public access block, ownership controls, lifecycle rules, bucket key and
    notification; the stream's on-demand mode and encryption; the tables' encryption and point-in-time
    recovery; the roles' ManagedPolicyArns; the functions' Architectures, EphemeralStorage,
    LoggingConfig and DeadLetterConfig. The managed policies also survive the stack's deletion.
  - tries Docker: with the producer's SQS event source mapping enabled, a message sent to the work
    queue makes moto try to run the function in a container. So no test sends one.
For everything moto drops or does not create, the test asserts on the template that was deployed
(the exact JSON given to create_stack), and on moto's answer as well wherever moto gives one.
"""

from __future__ import annotations

import ast
import io
import json
import os
import random
import re
import time
import uuid
import zipfile
from typing import Any
from collections.abc import Callable, Iterator

import boto3
import pytest
from botocore.exceptions import ClientError

from package_template import code_locations, load_template, package, translate
from policies import Resolver, least_privilege_violations, parliament_findings, policy_documents

STACK_NAME = "taxistream-infra-test"
LOCAL_ENDPOINT = re.compile(r"^http://127\.0\.0\.1:[0-9]+/?$")
# Resource types moto accepts in a template without creating anything.
MOTO_DOES_NOT_CREATE = {"AWS::S3::BucketPolicy", "AWS::CloudWatch::Alarm"}


# ------------------------------------------------------------------------------------------------
# The deployment
# ------------------------------------------------------------------------------------------------
class Deployment:
    """The stack deployed into its own moto account, with what is needed to check it."""

    def __init__(self, endpoint: str, region: str) -> None:
        self.region = region
        self.endpoint = endpoint
        self.account_id = str(random.randint(100_000_000_000, 999_999_999_999))
        suffix = uuid.uuid4().hex[:10]
        self.bucket = f"taxistream-test-{suffix}"
        self.artifacts_bucket = f"taxistream-artifacts-{suffix}"
        base = boto3.client(
            "sts",
            endpoint_url=endpoint,
            region_name=region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        credentials = base.assume_role(
            RoleArn=f"arn:aws:iam::{self.account_id}:role/taxistream-infra-test",
            RoleSessionName="taxistream-infra-test",
        )["Credentials"]
        self.session = boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=region,
        )
        assert self.client("sts").get_caller_identity()["Account"] == self.account_id
        # Parameters other than the defaults (which test_template.py checks), so that every value
        # read back below proves its parameter reached the resource.
        self.parameters = {
            "BucketName": self.bucket,
            "InputPrefix": "uploads/",
            "RejectsPrefix": "bad-rows/",
            "ReportsPrefix": "run-reports/",
            "StreamMode": "PROVISIONED",
            "ShardCount": "2",
            "BatchSize": "250",
            "MaximumBatchingWindowInSeconds": "5",
            "MaximumRetryAttempts": "2",
            "MaximumRecordAgeInSeconds": "7200",
            "HighValueTotal": "75.00",
            "ShortTripMinutes": "5",
            "LongTripMinutes": "45",
            "MaxTripHours": "12",
            "LowFarePerMile": "2.50",
            "PremiumFarePerMile": "9.00",
            "ProducerEphemeralStorageMb": "1024",
            "ProducerMaximumConcurrency": "5",
            "ProducerMaxWorkSeconds": "600",
            "ProducerAggregation": "none",
            "ConsumerReservedConcurrency": "20",
            "LogLevel": "DEBUG",
            "LogRetentionInDays": "14",
            "IteratorAgeAlarmMilliseconds": "120000",
            "AlarmActionArn": f"arn:aws:sns:{region}:{self.account_id}:taxistream-alarms",
        }
        self.template: dict[str, Any] = {}
        self.stack: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.endpoint)

    def upload_stand_in_code(self) -> dict[str, tuple[str, str]]:
        """A zip holding a `bootstrap` script per function: what CloudFormation needs, never run."""
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zipped:
            zipped.writestr("bootstrap", "#!/bin/sh\n# stand-in: moto never runs functions\nexit 1\n")
        s3 = self.client("s3")
        s3.create_bucket(Bucket=self.artifacts_bucket)
        source = load_template()
        # The keys docs/deploy.md uploads the real zips to: <function name>.zip.
        code = code_locations(source, self.artifacts_bucket)
        for bucket, key in code.values():
            s3.put_object(Bucket=bucket, Key=key, Body=archive.getvalue())
        self.template = translate(package(source, code))
        return code

    def create(self) -> None:
        cloudformation = self.client("cloudformation")
        cloudformation.create_stack(
            StackName=STACK_NAME,
            TemplateBody=json.dumps(self.template),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in self.parameters.items()],
            Capabilities=["CAPABILITY_NAMED_IAM"],
        )
        self.stack = self.wait(STACK_NAME)

    def wait(self, stack: str) -> dict[str, Any]:
        cloudformation = self.client("cloudformation")
        deadline = time.monotonic() + 60
        while True:
            described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
            if not described["StackStatus"].endswith("_IN_PROGRESS") or time.monotonic() > deadline:
                return described
            time.sleep(0.2)

    def resolver(self) -> Resolver:
        """Evaluates the deployed template as CloudFormation did, for this account and these parameters."""
        return Resolver(
            self.template,
            self.parameters,
            account_id=self.account_id,
            region=self.region,
            stack_name=STACK_NAME,
        )

    def clean_up(self) -> None:
        cloudformation = self.client("cloudformation")
        if self.stack and self.stack["StackStatus"] != "DELETE_COMPLETE":
            cloudformation.delete_stack(StackName=self.stack["StackId"])
            self.wait(self.stack["StackId"])
        iam = self.client("iam")
        for policy in iam.list_policies(Scope="Local")["Policies"]:
            iam.delete_policy(PolicyArn=policy["Arn"])
        s3 = self.client("s3")
        for bucket in (self.artifacts_bucket, self.bucket):
            try:
                for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
                    s3.delete_object(Bucket=bucket, Key=item["Key"])
                s3.delete_bucket(Bucket=bucket)
            except ClientError:
                pass


@pytest.fixture(scope="module")
def deployed() -> Iterator[Deployment]:
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    if not LOCAL_ENDPOINT.match(endpoint):
        pytest.fail(
            f"refusing to deploy: AWS_ENDPOINT_URL={endpoint!r} is not a moto server on 127.0.0.1 "
            "(start one with scripts/moto_server.py; never real AWS)"
        )
    deployment = Deployment(
        endpoint, os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    )
    try:
        deployment.upload_stand_in_code()
        deployment.create()
        yield deployment
    finally:
        deployment.clean_up()


def api_or_none(call: Callable[[], Any]) -> Any:
    """moto's answer, or None where moto has nothing (it raises NoSuch... / ...NotFound...)."""
    try:
        return call()
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code.startswith("NoSuch") or "NotFound" in code:
            return None
        raise


def template_props(deployed: Deployment, logical_id: str) -> dict[str, Any]:
    return deployed.resolver().value(deployed.template["Resources"][logical_id]["Properties"])


def parse_policy(document: Any) -> dict[str, Any]:
    """moto returns inline role policies as a Python repr string (single quotes), not as JSON."""
    if isinstance(document, dict):
        return document
    try:
        return json.loads(document)
    except json.JSONDecodeError:
        return ast.literal_eval(document)


# ------------------------------------------------------------------------------------------------
# Stack
# ------------------------------------------------------------------------------------------------
def test_stack_is_created_with_every_resource(deployed: Deployment) -> None:
    assert deployed.stack["StackStatus"] == "CREATE_COMPLETE", deployed.stack.get("StackStatusReason")
    summaries = deployed.client("cloudformation").list_stack_resources(StackName=STACK_NAME)[
        "StackResourceSummaries"
    ]
    assert all(s["ResourceStatus"] == "CREATE_COMPLETE" for s in summaries)
    listed = {s["LogicalResourceId"] for s in summaries if s["LogicalResourceId"]}
    in_template = deployed.template["Resources"]
    created = {k for k, v in in_template.items() if v["Type"] not in MOTO_DOES_NOT_CREATE}
    assert listed == created
    # What moto skips is exactly the bucket policy and the six alarms (checked on the template below).
    skipped = sorted(v["Type"] for k, v in in_template.items() if k not in created)
    assert skipped == ["AWS::CloudWatch::Alarm"] * 6 + ["AWS::S3::BucketPolicy"]


def test_outputs_name_the_created_resources(deployed: Deployment) -> None:
    outputs = {o["OutputKey"]: o["OutputValue"] for o in deployed.stack["Outputs"]}
    stream = deployed.client("kinesis").describe_stream_summary(StreamName="taxi_trips")[
        "StreamDescriptionSummary"
    ]
    assert outputs["BucketName"] == deployed.bucket
    assert outputs["UploadLocation"] == f"s3://{deployed.bucket}/uploads/"
    assert outputs["RejectsLocation"] == f"s3://{deployed.bucket}/bad-rows/"
    assert outputs["ReportsLocation"] == f"s3://{deployed.bucket}/run-reports/"
    assert outputs["StreamName"] == "taxi_trips"
    assert outputs["StreamArn"] == stream["StreamARN"]
    tables = set(deployed.client("dynamodb").list_tables()["TableNames"])
    assert tables == {"high_value_trips", "trip_duration_analysis", "distance_to_fare_ratio"}
    assert {
        outputs["HighValueTripsTable"],
        outputs["TripDurationAnalysisTable"],
        outputs["DistanceToFareRatioTable"],
    } == tables
    assert outputs["ProducerFunctionName"] == "lambda-kinesis-producer"
    assert outputs["ConsumerFunctionName"] == "lambda-kinesis-consumer"
    # Queue URLs: moto answers get_queue_url with its own host, the stack with sqs.<region>.amazonaws.com;
    # the account and queue name at the end are what identify the queue.
    sqs = deployed.client("sqs")
    for output, queue in (
        ("ProducerDeadLetterQueueUrl", "lambda-kinesis-producer-dlq"),
        ("ConsumerDeadLetterQueueUrl", "lambda-kinesis-consumer-dlq"),
        ("WorkQueueUrl", "lambda-kinesis-producer-work"),
        ("WorkDeadLetterQueueUrl", "lambda-kinesis-producer-work-dlq"),
    ):
        url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        assert outputs[output].split("/")[-2:] == url.split("/")[-2:] == [deployed.account_id, queue]


# ------------------------------------------------------------------------------------------------
# Bucket and trigger
# ------------------------------------------------------------------------------------------------
def test_bucket_exists_encrypted(deployed: Deployment) -> None:
    s3 = deployed.client("s3")
    s3.head_bucket(Bucket=deployed.bucket)
    rules = s3.get_bucket_encryption(Bucket=deployed.bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert [r["ApplyServerSideEncryptionByDefault"] for r in rules] == [{"SSEAlgorithm": "AES256"}]


def test_bucket_blocks_public_access(deployed: Deployment) -> None:
    """moto drops PublicAccessBlockConfiguration and OwnershipControls: asserted on the deployed template."""
    expected = {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    bucket = template_props(deployed, "TripBucket")
    assert bucket["PublicAccessBlockConfiguration"] == expected
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    s3 = deployed.client("s3")
    reported = api_or_none(
        lambda: s3.get_public_access_block(Bucket=deployed.bucket)["PublicAccessBlockConfiguration"]
    )
    assert reported in (None, expected)


def test_bucket_policy_refuses_plain_http(deployed: Deployment) -> None:
    """moto does not create AWS::S3::BucketPolicy: the deployed template's policy, resolved for this
    bucket, is asserted instead (and linted by parliament in test_managed_policy_documents...)."""
    policy = template_props(deployed, "TripBucketPolicy")
    assert policy["Bucket"] == deployed.bucket
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny" and statement["Principal"] == "*" and statement["Action"] == "s3:*"
    assert statement["Resource"] == [f"arn:aws:s3:::{deployed.bucket}", f"arn:aws:s3:::{deployed.bucket}/*"]
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    reported = api_or_none(lambda: deployed.client("s3").get_bucket_policy(Bucket=deployed.bucket)["Policy"])
    assert reported is None or json.loads(reported)["Statement"] == [statement]


def test_producer_trigger(deployed: Deployment) -> None:
    """moto drops the bucket's NotificationConfiguration: the deployed template's is asserted, with
    this deployment's prefix; the invoke permission, which moto keeps, is read back."""
    configurations = template_props(deployed, "TripBucket")["NotificationConfiguration"][
        "LambdaConfigurations"
    ]
    function_arn = deployed.client("lambda").get_function(FunctionName="lambda-kinesis-producer")[
        "Configuration"
    ]["FunctionArn"]
    (configuration,) = configurations
    assert configuration["Event"] == "s3:ObjectCreated:*"
    assert configuration["Function"] == function_arn
    rules = {r["Name"]: r["Value"] for r in configuration["Filter"]["S3Key"]["Rules"]}
    assert rules == {"prefix": "uploads/"}
    reported = deployed.client("s3").get_bucket_notification_configuration(Bucket=deployed.bucket)
    for configuration in reported.get("LambdaFunctionConfigurations", []):  # none: moto's gap
        assert configuration["LambdaFunctionArn"] == function_arn

    policy = json.loads(
        deployed.client("lambda").get_policy(FunctionName="lambda-kinesis-producer")["Policy"]
    )
    (statement,) = policy["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "lambda:InvokeFunction"
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statement["Resource"] == function_arn
    assert statement["Condition"] == {
        "ArnLike": {"AWS:SourceArn": f"arn:aws:s3:::{deployed.bucket}"},
        "StringEquals": {"AWS:SourceAccount": deployed.account_id},
    }
    # Only the S3 trigger may invoke a function of this stack.
    consumer_policy = api_or_none(
        lambda: deployed.client("lambda").get_policy(FunctionName="lambda-kinesis-consumer")
    )
    assert consumer_policy is None


# ------------------------------------------------------------------------------------------------
# Stream and tables
# ------------------------------------------------------------------------------------------------
def test_stream(deployed: Deployment) -> None:
    """Name, shard count (PROVISIONED with ShardCount 2 here) and retention are read back; moto
    drops StreamEncryption (it reports NONE): asserted on the deployed template."""
    summary = deployed.client("kinesis").describe_stream_summary(StreamName="taxi_trips")[
        "StreamDescriptionSummary"
    ]
    assert (
        summary["StreamARN"] == f"arn:aws:kinesis:{deployed.region}:{deployed.account_id}:stream/taxi_trips"
    )
    assert summary["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
    assert summary["OpenShardCount"] == 2
    assert summary["RetentionPeriodHours"] == 24
    stream = template_props(deployed, "TripStream")
    assert stream["StreamEncryption"] == {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"}
    assert summary["EncryptionType"] in ("NONE", "KMS")  # NONE: moto's gap
    if summary["EncryptionType"] == "KMS":
        assert summary["KeyId"] == "alias/aws/kinesis"


@pytest.mark.parametrize("table", ["high_value_trips", "trip_duration_analysis", "distance_to_fare_ratio"])
def test_table(deployed: Deployment, table: str) -> None:
    """Key schema and billing mode are read back; moto drops SSESpecification and point-in-time
    recovery (it reports PITR DISABLED): asserted on the deployed template."""
    dynamodb = deployed.client("dynamodb")
    description = dynamodb.describe_table(TableName=table)["Table"]
    assert description["KeySchema"] == [{"AttributeName": "trip_id", "KeyType": "HASH"}]
    assert description["AttributeDefinitions"] == [{"AttributeName": "trip_id", "AttributeType": "S"}]
    assert description["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    (logical_id,) = [
        k
        for k, v in deployed.template["Resources"].items()
        if v["Type"] == "AWS::DynamoDB::Table" and v["Properties"]["TableName"] == table
    ]
    properties = template_props(deployed, logical_id)
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["SSESpecification"] == {"SSEEnabled": True}
    backups = dynamodb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] in ("DISABLED", "ENABLED")


# ------------------------------------------------------------------------------------------------
# IAM
# ------------------------------------------------------------------------------------------------
MANAGED = [
    "kinesis-write-records-policy",
    "lambda-kinesis-read-policy",
    "lambda-dynamo-write-policy",
    "lambda-producer-work-queue-policy",  # not the tutorial's: the producer's work queue
]


def expected_documents(deployed: Deployment) -> dict[str, dict[str, Any]]:
    """The deployed template's policy documents, resolved for this account and these parameters."""
    return {d.where: d.document for d in policy_documents(deployed.template, deployed.resolver())}


@pytest.mark.parametrize("name", MANAGED)
def test_managed_policy_documents_are_stored_as_resolved_and_pass_the_checks(
    deployed: Deployment, name: str
) -> None:
    iam = deployed.client("iam")
    arn = f"arn:aws:iam::{deployed.account_id}:policy/{name}"
    policy = iam.get_policy(PolicyArn=arn)["Policy"]
    assert policy["PolicyName"] == name
    document = parse_policy(
        iam.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"])["PolicyVersion"][
            "Document"
        ]
    )
    (logical_id,) = [
        k
        for k, v in deployed.template["Resources"].items()
        if v["Type"] == "AWS::IAM::ManagedPolicy" and v["Properties"]["ManagedPolicyName"] == name
    ]
    # The very document the template tests lint (the resolver agrees with CloudFormation's evaluation).
    assert document == expected_documents(deployed)[logical_id]
    assert least_privilege_violations(document) == []
    assert parliament_findings(document) == []
    for statement in document["Statement"]:
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        for resource in resources:
            assert (
                resource == "*"
                and statement["Action"] == "kinesis:ListStreams"
                or deployed.account_id in resource
            )


ROLES = {
    "lambda-producer-kinesis-role": (
        "ProducerRole",
        ["basic-lambda-execution", "s3-read-input-objects", "s3-write-rejects", "sqs-dead-letter-queue"],
    ),
    "lambda-kinesis-streams-consumer-role": (
        "ConsumerRole",
        ["basic-lambda-execution", "s3-write-poison-records", "sqs-on-failure-destination"],
    ),
}


@pytest.mark.parametrize("role_name", sorted(ROLES))
def test_role_trust_and_inline_policies(deployed: Deployment, role_name: str) -> None:
    logical_id, inline_names = ROLES[role_name]
    iam = deployed.client("iam")
    role = iam.get_role(RoleName=role_name)["Role"]
    assert role["AssumeRolePolicyDocument"] == {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    assert sorted(iam.list_role_policies(RoleName=role_name)["PolicyNames"]) == inline_names
    expected = expected_documents(deployed)
    for name in inline_names:
        document = parse_policy(iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"])
        assert document == expected[f"{logical_id}.Policies[{name}]"]
        assert least_privilege_violations(document) == []
        assert parliament_findings(document) == []


@pytest.mark.parametrize("role_name", sorted(ROLES))
def test_role_attaches_the_tutorials_managed_policies(deployed: Deployment, role_name: str) -> None:
    """moto drops a role's ManagedPolicyArns (it lists none attached): the deployed template's list,
    resolved to ARNs, must name exactly the policies created above."""
    logical_id, _ = ROLES[role_name]
    arns = template_props(deployed, logical_id)["ManagedPolicyArns"]
    prefix = f"arn:aws:iam::{deployed.account_id}:policy/"
    wanted = {
        "ProducerRole": [
            prefix + "kinesis-write-records-policy",
            prefix + "lambda-producer-work-queue-policy",
        ],
        "ConsumerRole": [prefix + "lambda-dynamo-write-policy", prefix + "lambda-kinesis-read-policy"],
    }[logical_id]
    assert sorted(arns) == wanted
    existing = {p["Arn"] for p in deployed.client("iam").list_policies(Scope="Local")["Policies"]}
    assert set(arns) <= existing
    attached = [
        p["PolicyArn"]
        for p in deployed.client("iam").list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]
    ]
    assert attached in ([], wanted) or sorted(attached) == wanted


# ------------------------------------------------------------------------------------------------
# Functions, event source mapping, logs, queues
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("function", ["lambda-kinesis-producer", "lambda-kinesis-consumer"])
def test_function_configuration(deployed: Deployment, function: str) -> None:
    """Runtime, handler, role, sizes and environment are read back. moto drops Architectures (it
    reports x86_64), EphemeralStorage (it reports 512), LoggingConfig and DeadLetterConfig: asserted
    on the deployed template."""
    logical_id = "ProducerFunction" if function == "lambda-kinesis-producer" else "ConsumerFunction"
    role = {
        "ProducerFunction": "lambda-producer-kinesis-role",
        "ConsumerFunction": "lambda-kinesis-streams-consumer-role",
    }[logical_id]
    expected = template_props(deployed, logical_id)
    configuration = deployed.client("lambda").get_function_configuration(FunctionName=function)
    assert configuration["Runtime"] == "provided.al2023"
    assert configuration["Handler"] == "bootstrap"
    assert configuration["Role"] == deployed.client("iam").get_role(RoleName=role)["Role"]["Arn"]
    assert configuration["MemorySize"] == expected["MemorySize"]
    assert configuration["Timeout"] == expected["Timeout"]
    # moto returns Number parameters as JSON numbers; Lambda itself holds strings.
    variables = {k: str(v) for k, v in configuration["Environment"]["Variables"].items()}
    assert variables == expected["Environment"]["Variables"]

    assert expected["Architectures"] == ["arm64"]
    assert configuration["Architectures"] in (["x86_64"], ["arm64"])  # x86_64: moto's gap
    assert expected["LoggingConfig"] == {
        "LogGroup": f"/aws/lambda/{function}",
        "LogFormat": "JSON",
        "ApplicationLogLevel": "DEBUG",
        "SystemLogLevel": "WARN",
    }
    if logical_id == "ProducerFunction":
        assert expected["EphemeralStorage"] == {"Size": "1024"}
        queue_arn = f"arn:aws:sqs:{deployed.region}:{deployed.account_id}:lambda-kinesis-producer-dlq"
        assert expected["DeadLetterConfig"] == {"TargetArn": queue_arn}
        assert configuration.get("DeadLetterConfig", {"TargetArn": queue_arn}) == {"TargetArn": queue_arn}


def test_function_environments_carry_this_deployments_settings(deployed: Deployment) -> None:
    lam = deployed.client("lambda")
    producer = lam.get_function_configuration(FunctionName="lambda-kinesis-producer")["Environment"][
        "Variables"
    ]
    consumer = lam.get_function_configuration(FunctionName="lambda-kinesis-consumer")["Environment"][
        "Variables"
    ]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in deployed.stack["Outputs"]}
    assert {k: str(v) for k, v in producer.items()} == {
        "TAXISTREAM_STREAM": "taxi_trips",
        "TAXISTREAM_REJECTS_BUCKET": deployed.bucket,
        "TAXISTREAM_REJECTS_PREFIX": "bad-rows/",
        "TAXISTREAM_REPORTS_PREFIX": "run-reports/",
        # The queue's URL as CloudFormation gives it (!Ref WorkQueue), the same as the stack's output.
        "TAXISTREAM_WORK_QUEUE_URL": outputs["WorkQueueUrl"],
        "TAXISTREAM_MAX_WORK_SECONDS": "600",
        "TAXISTREAM_AGGREGATION": "none",
    }
    # moto answers get_queue_url with its own host: the account and queue name identify the queue.
    sqs = deployed.client("sqs")
    work_queue_url = sqs.get_queue_url(QueueName="lambda-kinesis-producer-work")["QueueUrl"]
    assert producer["TAXISTREAM_WORK_QUEUE_URL"].split("/")[-2:] == work_queue_url.split("/")[-2:]
    assert {k: str(v) for k, v in consumer.items()} == {
        "TAXISTREAM_TABLE_HIGH_VALUE_TRIPS": "high_value_trips",
        "TAXISTREAM_TABLE_TRIP_DURATION_ANALYSIS": "trip_duration_analysis",
        "TAXISTREAM_TABLE_DISTANCE_TO_FARE_RATIO": "distance_to_fare_ratio",
        "TAXISTREAM_HIGH_VALUE_TOTAL": "75.00",
        "TAXISTREAM_SHORT_TRIP_MINUTES": "5",
        "TAXISTREAM_LONG_TRIP_MINUTES": "45",
        "TAXISTREAM_MAX_TRIP_HOURS": "12",
        "TAXISTREAM_LOW_FARE_PER_MILE": "2.50",
        "TAXISTREAM_PREMIUM_FARE_PER_MILE": "9.00",
        "TAXISTREAM_REJECTS_BUCKET": deployed.bucket,
        "TAXISTREAM_REJECTS_PREFIX": "bad-rows/",
    }


def test_consumer_event_source_mapping(deployed: Deployment) -> None:
    """Every setting is read back from moto's Lambda."""
    lam = deployed.client("lambda")
    (mapping,) = lam.list_event_source_mappings(FunctionName="lambda-kinesis-consumer")["EventSourceMappings"]
    stream_arn = deployed.client("kinesis").describe_stream_summary(StreamName="taxi_trips")[
        "StreamDescriptionSummary"
    ]["StreamARN"]
    sqs = deployed.client("sqs")
    queue_url = sqs.get_queue_url(QueueName="lambda-kinesis-consumer-dlq")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    assert mapping["EventSourceArn"] == stream_arn
    assert (
        mapping["FunctionArn"]
        == lam.get_function(FunctionName="lambda-kinesis-consumer")["Configuration"]["FunctionArn"]
    )
    assert mapping["State"] == "Enabled"
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["BatchSize"] == 250
    assert mapping["MaximumBatchingWindowInSeconds"] == 5
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["MaximumRetryAttempts"] == 2
    assert mapping["MaximumRecordAgeInSeconds"] == 7200
    assert mapping["DestinationConfig"] == {"OnFailure": {"Destination": queue_arn}}


def queue_attributes(deployed: Deployment, queue: str) -> dict[str, str]:
    sqs = deployed.client("sqs")
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


def test_producer_work_queue_event_source_mapping(deployed: Deployment) -> None:
    """Read back from moto's Lambda: the work queue, one message per invocation, failures reported
    per message, MaximumConcurrency from ProducerMaximumConcurrency. Nothing is sent to the queue
    (moto would try to run the function in Docker)."""
    lam = deployed.client("lambda")
    (mapping,) = lam.list_event_source_mappings(FunctionName="lambda-kinesis-producer")["EventSourceMappings"]
    assert mapping["EventSourceArn"] == queue_attributes(deployed, "lambda-kinesis-producer-work")["QueueArn"]
    assert (
        mapping["FunctionArn"]
        == lam.get_function(FunctionName="lambda-kinesis-producer")["Configuration"]["FunctionArn"]
    )
    assert mapping["State"] == "Enabled"
    assert mapping["BatchSize"] == 1
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert {k: int(v) for k, v in mapping["ScalingConfig"].items()} == {"MaximumConcurrency": 5}
    # A queue has no starting position, and failed messages are dead-lettered by the queue itself.
    assert "StartingPosition" not in mapping
    assert mapping.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination") is None


def test_log_groups_have_the_retention(deployed: Deployment) -> None:
    groups = deployed.client("logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/")["logGroups"]
    assert {g["logGroupName"]: g.get("retentionInDays") for g in groups} == {
        "/aws/lambda/lambda-kinesis-producer": 14,
        "/aws/lambda/lambda-kinesis-consumer": 14,
    }


@pytest.mark.parametrize(
    "queue",
    ["lambda-kinesis-producer-dlq", "lambda-kinesis-consumer-dlq", "lambda-kinesis-producer-work-dlq"],
)
def test_dead_letter_queue(deployed: Deployment, queue: str) -> None:
    attributes = queue_attributes(deployed, queue)
    assert attributes["MessageRetentionPeriod"] == "1209600"
    assert attributes["SqsManagedSseEnabled"] == "true"
    assert "RedrivePolicy" not in attributes


def test_work_queue(deployed: Deployment) -> None:
    """Visibility timeout at least 6x the producer's timeout (as moto's Lambda reports it), encrypted,
    and a redrive policy to the work dead-letter queue after 3 receives."""
    attributes = queue_attributes(deployed, "lambda-kinesis-producer-work")
    timeout = deployed.client("lambda").get_function_configuration(FunctionName="lambda-kinesis-producer")[
        "Timeout"
    ]
    assert timeout == 900
    assert int(attributes["VisibilityTimeout"]) == 5400 >= 6 * timeout
    assert attributes["MessageRetentionPeriod"] == "345600"
    assert attributes["SqsManagedSseEnabled"] == "true"
    redrive = json.loads(attributes["RedrivePolicy"])
    assert {k: str(v) for k, v in redrive.items()} == {
        "deadLetterTargetArn": queue_attributes(deployed, "lambda-kinesis-producer-work-dlq")["QueueArn"],
        "maxReceiveCount": "3",
    }


def test_consumer_reserved_concurrency(deployed: Deployment) -> None:
    """ConsumerReservedConcurrency (20 here) is read back; the producer reserves none."""
    lam = deployed.client("lambda")
    consumer = lam.get_function_concurrency(FunctionName="lambda-kinesis-consumer")
    assert consumer.get("ReservedConcurrentExecutions") == 20
    producer = lam.get_function_concurrency(FunctionName="lambda-kinesis-producer")
    assert "ReservedConcurrentExecutions" not in producer


def test_alarms(deployed: Deployment) -> None:
    """moto does not create AWS::CloudWatch::Alarm: the deployed template's alarms, resolved for this
    deployment, must watch the functions and queues that exist, and notify the given topic."""
    topic = deployed.parameters["AlarmActionArn"]
    resolver = deployed.resolver()
    alarms = {
        k: resolver.value(v["Properties"])
        for k, v in deployed.template["Resources"].items()
        if v["Type"] == "AWS::CloudWatch::Alarm"
    }
    functions = {f["FunctionName"] for f in deployed.client("lambda").list_functions()["Functions"]}
    queues = {url.rsplit("/", 1)[1] for url in deployed.client("sqs").list_queues()["QueueUrls"]}
    watched = set()
    for alarm in alarms.values():
        (dimension,) = alarm["Dimensions"]
        existing = functions if dimension["Name"] == "FunctionName" else queues
        assert dimension["Value"] in existing
        assert alarm["AlarmActions"] == [topic] and alarm["OKActions"] == [topic]
        watched.add((alarm["MetricName"], dimension["Value"]))
    assert watched == {
        ("IteratorAge", "lambda-kinesis-consumer"),
        ("Errors", "lambda-kinesis-producer"),
        ("Errors", "lambda-kinesis-consumer"),
        ("ApproximateNumberOfMessagesVisible", "lambda-kinesis-producer-dlq"),
        ("ApproximateNumberOfMessagesVisible", "lambda-kinesis-consumer-dlq"),
        ("ApproximateNumberOfMessagesVisible", "lambda-kinesis-producer-work-dlq"),
    }
    assert alarms["ConsumerIteratorAgeAlarm"]["Threshold"] == "120000"
    assert alarms["ConsumerIteratorAgeAlarm"]["AlarmName"] == f"{STACK_NAME}-consumer-iterator-age"
    reported = {a["AlarmName"] for a in deployed.client("cloudwatch").describe_alarms()["MetricAlarms"]}
    assert reported <= {alarm["AlarmName"] for alarm in alarms.values()}  # empty: moto's gap


# ------------------------------------------------------------------------------------------------
# Tear-down (last: it deletes the stack)
# ------------------------------------------------------------------------------------------------
def test_deleting_the_stack_removes_the_pipeline(deployed: Deployment) -> None:
    """As docs/deploy.md does it: empty the bucket, delete the stack. moto leaves the four managed
    policies behind (a gap: CloudFormation deletes them); the fixture removes them afterwards."""
    s3 = deployed.client("s3")
    s3.put_object(Bucket=deployed.bucket, Key="uploads/trips.csv", Body=b"not,a,real,file\n")
    for item in s3.list_objects_v2(Bucket=deployed.bucket).get("Contents", []):
        s3.delete_object(Bucket=deployed.bucket, Key=item["Key"])
    deployed.client("cloudformation").delete_stack(StackName=STACK_NAME)
    deployed.stack = deployed.wait(deployed.stack["StackId"])
    assert deployed.stack["StackStatus"] == "DELETE_COMPLETE"
    assert deployed.client("dynamodb").list_tables()["TableNames"] == []
    assert deployed.client("kinesis").list_streams()["StreamNames"] == []
    assert deployed.client("lambda").list_functions()["Functions"] == []
    assert deployed.client("lambda").list_event_source_mappings()["EventSourceMappings"] == []
    assert deployed.client("iam").list_roles()["Roles"] == []
    assert deployed.client("sqs").list_queues().get("QueueUrls", []) == []
    assert deployed.client("logs").describe_log_groups()["logGroups"] == []
    assert deployed.bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}
