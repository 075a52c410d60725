//! The little HTTP/1.1 the test servers need: read a request, write a reply, serve a loopback port.
//!
//! Every server of the tests listens on 127.0.0.1 on a port the OS picks, serves each connection on
//! its own thread (keep-alive included), and ends with the test process.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

/// One request.
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

/// What a handler does with a request.
pub enum Reply {
    /// Send these bytes (a whole response) and keep the connection.
    Send(Vec<u8>),
    /// Send these bytes, then close the connection (an answer whose end is the connection's).
    SendThenClose(Vec<u8>),
    /// Close the connection without answering.
    Close,
}

/// A whole response with a body.
pub fn response(status: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut bytes = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// Reads one request; `None` when the connection is closed or unreadable.
pub fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
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
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

/// Sends `request` on to the server at `address` (`host:port`) as it came, and its whole answer back:
/// a stub that answers some requests itself hands the others to the emulator behind it. The
/// emulator is asked to close the connection after answering, so its answer ends where the
/// connection does; `Reply::Close` when it cannot be reached.
pub fn forward(address: &str, request: &Request) -> Reply {
    let Ok(mut upstream) = TcpStream::connect(address) else {
        return Reply::Close;
    };
    let mut head = format!("{} {} HTTP/1.1\r\n", request.method, request.path);
    for (name, value) in &request.headers {
        if !matches!(name.as_str(), "connection" | "content-length" | "host") {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str(&format!(
        "host: {address}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
        request.body.len()
    ));
    let mut answer = Vec::new();
    let sent = upstream
        .write_all(head.as_bytes())
        .and_then(|()| upstream.write_all(&request.body))
        .and_then(|()| upstream.read_to_end(&mut answer));
    match sent {
        Ok(_) if !answer.is_empty() => Reply::SendThenClose(answer),
        _ => Reply::Close,
    }
}

/// Serves 127.0.0.1 on a free port with `handler`; returns the `host:port` address.
pub fn serve(handler: impl Fn(Request) -> Reply + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    let address = listener.local_addr().expect("a bound address").to_string();
    let handler = Arc::new(handler);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { break };
            let handler = Arc::clone(&handler);
            std::thread::spawn(move || {
                let Ok(mut writer) = stream.try_clone() else {
                    return;
                };
                let mut reader = BufReader::new(stream);
                while let Some(request) = read_request(&mut reader) {
                    match handler(request) {
                        Reply::Send(bytes) => {
                            if writer.write_all(&bytes).and_then(|()| writer.flush()).is_err() {
                                return;
                            }
                        }
                        Reply::SendThenClose(bytes) => {
                            let _ = writer.write_all(&bytes).and_then(|()| writer.flush());
                            return;
                        }
                        Reply::Close => return,
                    }
                }
            });
        }
    });
    address
}
