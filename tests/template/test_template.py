"""template.yaml, checked by the validators that understand it and by the rules of this template.

cfn-lint 1.53 still runs the SAM translator, so it checks the event source mapping's properties and
every generated alarm; checkov checks security settings. Both must be clean: a finding is fixed or
skipped in the template with a written reason. The contract tests read the template the way
CloudFormation does (cfn-lint's decoder understands the short tags) and assert what a stream
consumer must not get wrong.
"""

import json
import pathlib
import subprocess
import sys

import pytest
from cfnlint.decode import decode

ROOT = pathlib.Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
BIN = pathlib.Path(sys.executable).parent


@pytest.fixture(scope="module")
def template():
    decoded, problems = decode(str(TEMPLATE))
    assert not problems, problems
    return decoded


def resources_of_type(template, kind):
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def test_cfn_lint_reports_nothing():
    result = subprocess.run([BIN / "cfn-lint", str(TEMPLATE)], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout == "", result.stdout + result.stderr


def test_cfn_lint_runs_the_sam_translator_and_would_catch_a_bad_event(tmp_path):
    broken = TEMPLATE.read_text().replace(
        "StartingPosition: !Ref StartingPosition", "StartingPosition: SOMEWHERE"
    )
    copy = tmp_path / "template.yaml"
    copy.write_text(broken)
    result = subprocess.run([BIN / "cfn-lint", str(copy)], capture_output=True, text=True)
    assert result.returncode != 0 and "SOMEWHERE" in result.stdout, result.stdout


def test_checkov_finds_nothing_and_every_skip_has_a_reason(template):
    result = subprocess.run(
        [BIN / "checkov", "-f", str(TEMPLATE), "--framework", "cloudformation", "--output", "json",
         "--quiet", "--skip-download"],
        capture_output=True, text=True,
    )
    report = json.loads(result.stdout)
    failed = report["results"]["failed_checks"]
    assert failed == [], [(f["check_id"], f["resource"]) for f in failed]
    assert report["summary"]["passed"] > 0
    for name, resource in template["Resources"].items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert len(skip.get("comment", "")) > 20, f"{name} skips {skip['id']} without a reason"


def function(template):
    (name, resource), = resources_of_type(template, "AWS::Serverless::Function").items()
    assert name == "StreamProcessorFunction"
    return resource


def test_the_function_is_built_and_run_as_the_template_promises(template):
    properties = function(template)["Properties"]
    assert function(template)["Metadata"]["BuildMethod"] == "rust-cargolambda"
    assert properties["Runtime"] == "provided.al2023"
    assert properties["Architectures"] == ["arm64"]
    assert properties["Handler"] == "bootstrap"
    assert properties["Tracing"] == "Active"
    assert properties["MemorySize"] == {"Ref": "FunctionMemoryMB"}
    assert properties["Timeout"] == {"Ref": "FunctionTimeoutSeconds"}
    logging = properties["LoggingConfig"]
    assert logging["LogFormat"] == "JSON" and logging["LogGroup"] == {"Ref": "FunctionLogGroup"}
    levels = template["Parameters"]["ApplicationLogLevel"]["AllowedValues"]
    assert not {"WARN", "ERROR", "FATAL"} & set(levels), "above INFO, Lambda drops the EMF lines"
    group = template["Resources"]["FunctionLogGroup"]["Properties"]
    assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_the_metrics_environment_matches_what_the_dashboards_read(template):
    properties = function(template)["Properties"]
    variables = properties["Environment"]["Variables"]
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == {"Ref": "MetricsNamespace"}
    # The Service dimension is the function name (the code's default), which is what the dashboards
    # and alarms read through ${StreamProcessorFunction}.
    assert variables["POWERTOOLS_SERVICE_NAME"] == properties["FunctionName"]


def test_the_stream_trigger_never_loses_a_record(template):
    event = function(template)["Properties"]["Events"]["Stream"]
    assert event["Type"] == "DynamoDB"
    stream = event["Properties"]
    assert stream["FunctionResponseTypes"] == ["ReportBatchItemFailures"], (
        "without it Lambda ignores the partial batch response and checkpoints every failed record"
    )
    assert stream["BisectBatchOnFunctionError"] is True
    assert stream["DestinationConfig"]["OnFailure"] == {
        "Type": "SQS", "Destination": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}}
    assert stream["MetricsConfig"] == {"Metrics": ["EventCount"]}
    for setting in ["BatchSize", "MaximumBatchingWindowInSeconds", "ParallelizationFactor",
                    "StartingPosition", "MaximumRetryAttempts", "MaximumRecordAgeInSeconds"]:
        assert stream[setting] == {"Ref": setting}
    parameters = template["Parameters"]
    assert parameters["MaximumRetryAttempts"]["MinValue"] >= 0, "-1 (infinite) blocks a shard for 24 hours"
    assert parameters["MaximumRecordAgeInSeconds"]["MinValue"] >= 60
    assert parameters["MaximumRecordAgeInSeconds"]["Default"] < 86400, "give up before the stream forgets"
    assert parameters["BatchSize"]["MaxValue"] == 10000


def test_the_demo_table_or_an_existing_stream(template):
    table = template["Resources"]["OrdersTable"]
    assert table["Condition"] == "CreateDemoTable"
    assert table["Properties"]["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    stream = function(template)["Properties"]["Events"]["Stream"]["Properties"]["Stream"]
    assert stream == {"Fn::If": ["CreateDemoTable", {"Fn::GetAtt": ["OrdersTable", "StreamArn"]},
                                 {"Ref": "ExistingStreamArn"}]}


def test_the_dead_letter_queue_is_encrypted_and_keeps_messages_14_days(template):
    queue = template["Resources"]["DeadLetterQueue"]["Properties"]
    assert queue["MessageRetentionPeriod"] == 1209600
    assert queue.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in queue


def test_every_alarm_notifies_the_topic_and_says_what_to_do(template):
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm")
    assert len(alarms) >= 10
    for name, alarm in alarms.items():
        properties = alarm["Properties"]
        assert properties["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        assert properties["OKActions"] == [{"Ref": "AlarmTopic"}], name
        assert properties["TreatMissingData"] in {"breaching", "notBreaching", "ignore", "missing"}, name
        assert "First look" in properties["AlarmDescription"], name


def test_cloudwatch_may_use_the_key_of_the_encrypted_topic(template):
    topic = template["Resources"]["AlarmTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Ref": "AlarmTopicKey"}
    statements = template["Resources"]["AlarmTopicKey"]["Properties"]["KeyPolicy"]["Statement"]
    cloudwatch = [s for s in statements if s["Principal"].get("Service") == "cloudwatch.amazonaws.com"]
    assert cloudwatch and {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(cloudwatch[0]["Action"]), (
        "without it alarm notifications are silently dropped"
    )
    subscription = template["Resources"]["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}


def test_the_role_grants_only_what_the_function_needs(template):
    role = template["Resources"]["StreamProcessorRole"]["Properties"]
    actions = sorted(
        action
        for policy in role["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    )
    assert actions == sorted([
        "dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
        "dynamodb:ListStreams", "logs:CreateLogStream", "logs:PutLogEvents", "sqs:SendMessage",
        "xray:PutTraceSegments", "xray:PutTelemetryRecords",
    ])
    assert function(template)["Properties"]["Role"] == {"Fn::GetAtt": ["StreamProcessorRole", "Arn"]}


def test_the_outputs_lead_to_the_dashboard_the_queue_and_the_topic(template):
    outputs = template["Outputs"]
    assert "${StreamProcessorDashboard}" in outputs["DashboardUrl"]["Value"]["Fn::Sub"]
    assert outputs["DeadLetterQueueUrl"]["Value"] == {"Ref": "DeadLetterQueue"}
    assert outputs["AlarmTopicArn"]["Value"] == {"Ref": "AlarmTopic"}
