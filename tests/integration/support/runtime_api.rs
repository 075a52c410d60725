//! A Lambda Runtime API emulated in the test process, so the real binary can run its runtime loop.
//!
//! It serves `GET /2018-06-01/runtime/invocation/next` from a queue of events, with the
//! `Lambda-Runtime-*` headers Lambda sends, and records every `POST …/response`, `…/error` and
//! `/init/error`. It listens on 127.0.0.1 on a free port; a `/next` with nothing queued waits for a
//! bounded time and then closes the connection. Dropping it ends its threads.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a `/next` waits for a queued event before the connection is closed.
const NEXT_WAIT: Duration = Duration::from_secs(60);

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
    pub body: String,
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
}

impl RuntimeApi {
    /// Starts listening on 127.0.0.1 on a free port.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
        let address = listener.local_addr().unwrap().to_string();
        let (queue, queued) = channel::<QueuedEvent>();
        let queued = Arc::new(Mutex::new(queued));
        let (post_sender, posts) = channel();
        let next_requests = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&next_requests);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { break };
                let queued = Arc::clone(&queued);
                let posts = post_sender.clone();
                let counter = Arc::clone(&counter);
                std::thread::spawn(move || serve_connection(stream, &queued, &posts, &counter));
            }
        });
        Self {
            address,
            queue,
            posts,
            next_requests,
        }
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
}

struct Request {
    method: String,
    path: String,
    body: Vec<u8>,
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|value| value.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request { method, path, body })
}

fn serve_connection(
    stream: TcpStream,
    queued: &Mutex<Receiver<QueuedEvent>>,
    posts: &Sender<Post>,
    next_requests: &AtomicUsize,
) {
    let mut writer = stream.try_clone().expect("clonable stream");
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader) {
        let path = request.path.trim_start_matches("/2018-06-01/runtime");
        let reply = if request.method == "GET" && path == "/invocation/next" {
            next_requests.fetch_add(1, Ordering::SeqCst);
            let event = queued.lock().unwrap().recv_timeout(NEXT_WAIT);
            match event {
                Ok(event) => next_reply(&event),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return,
            }
        } else if request.method == "POST" {
            let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
            let (kind, request_id) = match segments.as_slice() {
                ["invocation", id, "response"] => (PostKind::Response, Some((*id).to_owned())),
                ["invocation", id, "error"] => (PostKind::Error, Some((*id).to_owned())),
                ["init", "error"] => (PostKind::InitError, None),
                _ => {
                    let _ = writer.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n");
                    continue;
                }
            };
            let _ = posts.send(Post {
                kind,
                request_id,
                body: String::from_utf8_lossy(&request.body).into_owned(),
            });
            b"HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: 16\r\n\r\n{\"status\":\"OK\"}".to_vec()
        } else {
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n".to_vec()
        };
        if writer.write_all(&reply).and_then(|()| writer.flush()).is_err() {
            return;
        }
    }
}

fn next_reply(event: &QueuedEvent) -> Vec<u8> {
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis();
    let deadline_ms = now_ms + event.timeout.as_millis();
    let mut reply = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
         lambda-runtime-aws-request-id: {}\r\n\
         lambda-runtime-deadline-ms: {deadline_ms}\r\n\
         lambda-runtime-invoked-function-arn: arn:aws:lambda:eu-west-1:123456789012:function:orders-stream\r\n\
         lambda-runtime-trace-id: Root=1-6745a3b2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1\r\n\
         content-length: {}\r\n\r\n",
        event.request_id,
        event.payload.len()
    )
    .into_bytes();
    reply.extend_from_slice(&event.payload);
    reply
}
