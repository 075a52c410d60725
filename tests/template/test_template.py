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


@pytest.fixture(scope="module", params=["SQS", "S3"])
def template_file(request, tmp_path_factory):
    """template.yaml as it is (FailureDestination SQS by default), and with S3 as the default.

    checkov resolves conditions with the parameters' defaults: a resource of the other choice would
    never be scanned.
    """
    if request.param == "SQS":
        return TEMPLATE
    text = TEMPLATE.read_text()
    choice = "  FailureDestination:\n    Type: String\n    Default: SQS\n"
    assert choice in text
    copy = tmp_path_factory.mktemp("s3") / "template.yaml"
    copy.write_text(text.replace(choice, choice.replace("Default: SQS", "Default: S3")))
    return copy


def test_cfn_lint_reports_nothing(template_file):
    result = subprocess.run([BIN / "cfn-lint", str(template_file)], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout == "", result.stdout + result.stderr


def test_cfn_lint_runs_the_sam_translator_and_would_catch_a_bad_event(tmp_path):
    broken = TEMPLATE.read_text().replace(
        "StartingPosition: !Ref StartingPosition", "StartingPosition: SOMEWHERE"
    )
    copy = tmp_path / "template.yaml"
    copy.write_text(broken)
    result = subprocess.run([BIN / "cfn-lint", str(copy)], capture_output=True, text=True)
    assert result.returncode != 0 and "SOMEWHERE" in result.stdout, result.stdout


def test_checkov_finds_nothing_and_every_skip_has_a_reason(template, template_file):
    result = subprocess.run(
        [BIN / "checkov", "-f", str(template_file), "--framework", "cloudformation", "--output", "json",
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
    # No SAM `Type`: SAM would grant SQS or SNS only; the role grants the chosen destination.
    assert stream["DestinationConfig"]["OnFailure"] == {"Destination": {"Fn::If": [
        "FailuresToSqs", {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}, {"Fn::GetAtt": ["FailureBucket", "Arn"]}]}}
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


def test_the_failure_destination_is_the_queue_or_the_bucket_never_both(template):
    parameter = template["Parameters"]["FailureDestination"]
    assert parameter["AllowedValues"] == ["SQS", "S3"] and parameter["Default"] == "SQS"
    conditions = template["Conditions"]
    assert conditions["FailuresToSqs"] == {"Fn::Equals": [{"Ref": "FailureDestination"}, "SQS"]}
    assert conditions["FailuresToS3"] == {"Fn::Equals": [{"Ref": "FailureDestination"}, "S3"]}
    resources = template["Resources"]
    # The failure queue exists with either choice: the destination itself, or where the bucket's
    # objects are announced.
    assert "Condition" not in resources["DeadLetterQueue"]
    assert resources["FailureBucket"]["Condition"] == "FailuresToS3"
    assert resources["FailureBucketPolicy"]["Condition"] == "FailuresToS3"
    destination = resources["StreamProcessorFunction"]["Properties"]["Events"]["Stream"]["Properties"][
        "DestinationConfig"]["OnFailure"]["Destination"]
    assert destination == {"Fn::If": ["FailuresToSqs", {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]},
                                      {"Fn::GetAtt": ["FailureBucket", "Arn"]}]}


def test_with_s3_each_failure_object_is_announced_in_the_failure_queue_and_only_eventbridge_may_send(template):
    resources = template["Resources"]
    bucket = resources["FailureBucket"]["Properties"]
    assert bucket["NotificationConfiguration"] == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
    rule = resources["FailureNotificationsRule"]
    assert rule["Condition"] == "FailuresToS3"
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.s3"] and pattern["detail-type"] == ["Object Created"]
    assert pattern["detail"] == {"bucket": {"name": [{"Ref": "FailureBucket"}]},
                                 "object": {"key": [{"prefix": "aws/lambda/"}]}}
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    policy = resources["FailureNotificationsQueuePolicy"]
    assert policy["Condition"] == "FailuresToS3"
    assert policy["Properties"]["Queues"] == [{"Ref": "DeadLetterQueue"}]
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"] == {
        "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["FailureNotificationsRule", "Arn"]}}}


def test_waiting_failures_keep_an_alarm_in_alarm_until_they_are_replayed(template):
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm")
    queue = [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}}]
    waiting = alarms["FailuresWaitingAlarm"]["Properties"]
    assert "Condition" not in alarms["FailuresWaitingAlarm"]
    assert (waiting["Namespace"], waiting["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert waiting["Dimensions"] == queue
    assert waiting["Threshold"] == 0 and waiting["ComparisonOperator"] == "GreaterThanThreshold"
    # Missing data (an idle queue stops reporting) keeps the state: a wait is never forgotten.
    assert waiting["TreatMissingData"] == "ignore"
    too_long = alarms["FailuresWaitingTooLongAlarm"]["Properties"]
    assert (too_long["Namespace"], too_long["MetricName"]) == ("AWS/SQS", "ApproximateAgeOfOldestMessage")
    assert too_long["Dimensions"] == queue
    assert too_long["Threshold"] == {"Ref": "FailuresWaitingAgeThresholdSeconds"}
    threshold = template["Parameters"]["FailuresWaitingAgeThresholdSeconds"]
    record_age = template["Parameters"]["MaximumRecordAgeInSeconds"]["Default"]
    assert threshold["Default"] + record_age < 24 * 3600, "time left to replay before the stream trims"
    assert "24 hours" in too_long["AlarmDescription"]["Fn::Sub"]


def test_the_dead_letter_queue_is_encrypted_and_keeps_messages_14_days(template):
    queue = template["Resources"]["DeadLetterQueue"]["Properties"]
    assert queue["MessageRetentionPeriod"] == 1209600
    assert queue.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in queue


def test_the_failure_bucket_is_private_encrypted_tls_only_expiring_and_outlives_the_stack(template):
    bucket = template["Resources"]["FailureBucket"]
    assert bucket["DeletionPolicy"] == "Retain" and bucket["UpdateReplacePolicy"] == "Retain"
    properties = bucket["Properties"]
    (encryption,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
    assert all(properties["PublicAccessBlockConfiguration"][flag] is True for flag in [
        "BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"])
    assert properties["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    (rule,) = properties["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled" and rule["ExpirationInDays"] == {"Ref": "FailureRetentionDays"}
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] >= 1
    (statement,) = template["Resources"]["FailureBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny" and statement["Condition"] == {
        "Bool": {"aws:SecureTransport": "false"}}


def test_what_gave_up_and_what_was_dropped_alarm_whichever_the_destination(template):
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm")
    for name, metric in [("RecordsGivenUpAlarm", "OnFailureDestinationDeliveredEventCount"),
                         ("RecordsDroppedAlarm", "DroppedEventCount")]:
        properties = alarms[name]["Properties"]
        assert "Condition" not in alarms[name], "the mapping's metric exists for SQS and S3 alike"
        assert properties["Namespace"] == "AWS/Lambda" and properties["MetricName"] == metric
        assert properties["Dimensions"] == [
            {"Name": "EventSourceMappingUUID", "Value": {"Ref": "StreamProcessorFunctionStream"}}]
        assert properties["Statistic"] == "Sum" and properties["Threshold"] == 0
        assert properties["ComparisonOperator"] == "GreaterThanThreshold"
    assert "obsctl redrive" in alarms["RecordsGivenUpAlarm"]["Properties"]["AlarmDescription"]["Fn::Sub"]


def test_every_alarm_notifies_the_topic_and_says_what_to_do(template):
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm")
    assert len(alarms) >= 10
    for name, alarm in alarms.items():
        properties = alarm["Properties"]
        assert properties["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        assert properties["OKActions"] == [{"Ref": "AlarmTopic"}], name
        assert properties["TreatMissingData"] in {"breaching", "notBreaching", "ignore", "missing"}, name
        description = properties["AlarmDescription"]
        description = description.get("Fn::Sub", description) if isinstance(description, dict) else description
        assert "First look" in description, name


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
    conditional = {}
    policies = []
    for policy in role["Policies"]:
        if "Fn::If" in policy:
            condition, chosen, otherwise = policy["Fn::If"]
            assert otherwise == {"Ref": "AWS::NoValue"}, "a destination's policy exists only with it"
            conditional[condition] = chosen
            policy = chosen
        policies.append(policy)
    actions = sorted(
        action
        for policy in policies
        for statement in policy["PolicyDocument"]["Statement"]
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    )
    assert actions == sorted([
        "dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
        "dynamodb:ListStreams", "logs:CreateLogStream", "logs:PutLogEvents", "sqs:SendMessage",
        "s3:PutObject", "s3:ListBucket", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
    ])
    (send,) = conditional["FailuresToSqs"]["PolicyDocument"]["Statement"]
    assert send["Resource"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    put, list_bucket = conditional["FailuresToS3"]["PolicyDocument"]["Statement"]
    assert put["Action"] == "s3:PutObject" and put["Resource"] == {"Fn::Sub": "${FailureBucket.Arn}/aws/lambda/*"}, (
        "Lambda writes under aws/lambda/<mapping>/<shard>/ only"
    )
    assert list_bucket["Resource"] == {"Fn::GetAtt": ["FailureBucket", "Arn"]}
    assert function(template)["Properties"]["Role"] == {"Fn::GetAtt": ["StreamProcessorRole", "Arn"]}


def test_the_outputs_lead_to_the_dashboard_the_queue_and_the_topic(template):
    outputs = template["Outputs"]
    assert "${StreamProcessorDashboard}" in outputs["DashboardUrl"]["Value"]["Fn::Sub"]
    assert outputs["DeadLetterQueueUrl"]["Value"] == {"Ref": "DeadLetterQueue"}
    assert outputs["DeadLetterQueueUrl"]["Condition"] == "FailuresToSqs"
    assert outputs["FailureNotificationsQueueUrl"]["Value"] == {"Ref": "DeadLetterQueue"}
    assert outputs["FailureNotificationsQueueUrl"]["Condition"] == "FailuresToS3"
    assert outputs["FailureQueueName"]["Value"] == {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}
    assert outputs["FailureBucketName"] == {
        "Condition": "FailuresToS3", "Description": outputs["FailureBucketName"]["Description"],
        "Value": {"Ref": "FailureBucket"}}
    assert outputs["AlarmTopicArn"]["Value"] == {"Ref": "AlarmTopic"}
