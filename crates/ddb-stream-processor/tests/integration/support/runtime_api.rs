//! A Lambda Runtime API emulated in the test process, so the real binary can run its runtime loop.
//!
//! It serves `GET /2018-06-01/runtime/invocation/next` from a queue of events, with the
//! `Lambda-Runtime-*` headers Lambda sends, records every `POST …/response`, `…/error` and
//! `/init/error`, and the time of every `/next`. It also answers the Extensions API's `register`
//! and holds its `event/next`, as Lambda does for the no-op extension that makes SIGTERM reach the
//! runtime. A `/next` with nothing queued waits for a bounded time and then closes the connection.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use test_emulators::http::{Reply, Request, response, serve};

/// How long a `/next` waits for a queued event before the connection is closed.
const NEXT_WAIT: Duration = Duration::from_secs(60);

/// The trace header every invocation carries.
pub const TRACE_HEADER: &str = "Root=1-6745a3b2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1";

/// What the function posted back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostKind {
    Response,
    Error,
    InitError,
}

/// One request the function made to report a result.
#[derive(Debug, Clone)]
pub struct Post {
    pub kind: PostKind,
    pub request_id: Option<String>,
    /// The `Lambda-Runtime-Function-Error-Type` header, on error posts.
    pub error_type_header: Option<String>,
    pub body: String,
    pub received_at: Instant,
}

impl Post {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|error| panic!("{error}: {}", self.body))
    }
}

struct QueuedEvent {
    request_id: String,
    payload: Vec<u8>,
    timeout: Duration,
}

/// The emulated Runtime API.
pub struct RuntimeApi {
    address: String,
    queue: Sender<QueuedEvent>,
    posts: Receiver<Post>,
    next_requests: Arc<AtomicUsize>,
    next_times: Arc<Mutex<Vec<Instant>>>,
    failing_posts: Arc<AtomicUsize>,
}

impl RuntimeApi {
    /// Starts listening on 127.0.0.1 on a free port.
    pub fn start() -> Self {
        let (queue, queued) = channel::<QueuedEvent>();
        let queued = Mutex::new(queued);
        let (post_sender, posts) = channel();
        let post_sender = Mutex::new(post_sender);
        let next_requests = Arc::new(AtomicUsize::new(0));
        let next_times = Arc::new(Mutex::new(Vec::new()));
        let failing_posts = Arc::new(AtomicUsize::new(0));
        let (counter, times, failing) = (
            Arc::clone(&next_requests),
            Arc::clone(&next_times),
            Arc::clone(&failing_posts),
        );
        let address = serve(move |request| {
            let is_post =
                request.method == "POST" && request.path.starts_with("/2018-06-01/runtime/invocation/");
            if is_post
                && failing
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok()
            {
                return Reply::Send(response(
                    "500 Internal Server Error",
                    "application/json",
                    br#"{"errorMessage":"injected"}"#,
                ));
            }
            handle(request, &queued, &post_sender, &counter, &times)
        });
        Self {
            address,
            queue,
            posts,
            next_requests,
            next_times,
            failing_posts,
        }
    }

    /// Answers the next `count` result posts with 500 (and does not record them), like a Runtime
    /// API in trouble.
    pub fn fail_next_posts(&self, count: usize) {
        self.failing_posts.store(count, Ordering::SeqCst);
    }

    /// The value for `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Queues an invocation with a 30 s timeout.
    pub fn enqueue(&self, request_id: &str, payload: impl Into<Vec<u8>>) {
        self.queue
            .send(QueuedEvent {
                request_id: request_id.to_owned(),
                payload: payload.into(),
                timeout: Duration::from_secs(30),
            })
            .expect("the server is running");
    }

    /// The next result the function posted, waiting at most `timeout`.
    pub fn next_post(&self, timeout: Duration) -> Option<Post> {
        self.posts.recv_timeout(timeout).ok()
    }

    /// How many `/next` requests the function has made.
    pub fn next_requests(&self) -> usize {
        self.next_requests.load(Ordering::SeqCst)
    }

    /// When each `/next` request arrived, in order.
    pub fn next_times(&self) -> Vec<Instant> {
        self.next_times.lock().unwrap().clone()
    }
}

fn handle(
    request: Request,
    queued: &Mutex<Receiver<QueuedEvent>>,
    posts: &Mutex<Sender<Post>>,
    next_requests: &AtomicUsize,
    next_times: &Mutex<Vec<Instant>>,
) -> Reply {
    let not_found = || Reply::Send(response("404 Not Found", "text/plain", b""));
    match (request.method.as_str(), request.path.as_str()) {
        ("POST", "/2020-01-01/extension/register") => {
            let body =
                br#"{"functionName":"orders-stream","functionVersion":"$LATEST","handler":"bootstrap"}"#;
            let mut reply = response("200 OK", "application/json", body);
            let header_end = reply
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .expect("a header block");
            reply.splice(
                header_end..header_end,
                *b"\r\nlambda-extension-identifier: test-extension",
            );
            return Reply::Send(reply);
        }
        ("GET", "/2020-01-01/extension/event/next") => {
            // The no-op extension subscribes to no event: hold it, as Lambda does.
            std::thread::sleep(NEXT_WAIT);
            return Reply::Close;
        }
        _ => {}
    }
    let Some(path) = request.path.strip_prefix("/2018-06-01/runtime") else {
        return not_found();
    };
    if request.method == "GET" && path == "/invocation/next" {
        next_requests.fetch_add(1, Ordering::SeqCst);
        next_times.lock().unwrap().push(Instant::now());
        return match queued.lock().unwrap().recv_timeout(NEXT_WAIT) {
            Ok(event) => Reply::Send(next_reply(&event)),
            Err(_) => Reply::Close,
        };
    }
    if request.method != "POST" {
        return not_found();
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (kind, request_id) = match segments.as_slice() {
        ["invocation", id, "response"] => (PostKind::Response, Some((*id).to_owned())),
        ["invocation", id, "error"] => (PostKind::Error, Some((*id).to_owned())),
        ["init", "error"] => (PostKind::InitError, None),
        _ => return not_found(),
    };
    let _ = posts.lock().unwrap().send(Post {
        kind,
        request_id,
        error_type_header: request.headers.get("lambda-runtime-function-error-type").cloned(),
        body: String::from_utf8_lossy(&request.body).into_owned(),
        received_at: Instant::now(),
    });
    Reply::Send(response(
        "202 Accepted",
        "application/json",
        br#"{"status":"OK"}"#,
    ))
}

fn next_reply(event: &QueuedEvent) -> Vec<u8> {
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis();
    let deadline_ms = now_ms + event.timeout.as_millis();
    let mut reply = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
         lambda-runtime-aws-request-id: {}\r\n\
         lambda-runtime-deadline-ms: {deadline_ms}\r\n\
         lambda-runtime-invoked-function-arn: arn:aws:lambda:eu-west-1:123456789012:function:orders-stream\r\n\
         lambda-runtime-trace-id: {TRACE_HEADER}\r\n\
         content-length: {}\r\n\r\n",
        event.request_id,
        event.payload.len()
    )
    .into_bytes();
    reply.extend_from_slice(&event.payload);
    reply
}
