//! A webhook receiver for the tests: a tiny HTTP/1.1 server on a loopback port that records every
//! request (lower-cased headers and the body) and answers what the test chose — 200 to every
//! request, a status per request number (500 first, to see a retry), or a fixed raw response (a
//! redirect). Each connection is served on its own thread, so concurrent deliveries (several
//! servers and workers) never wait for each other. It runs for the rest of the test process.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::eventually;

/// One request as received.
#[derive(Clone, Debug)]
pub struct Request {
    /// Header names lower-cased, values trimmed, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_default()
    }
}

/// The answer to the `n`-th request (1-based): a whole raw HTTP response.
type Answer = dyn Fn(usize) -> String + Send + Sync;

pub struct Receiver {
    /// `http://127.0.0.1:<port>/hook`
    pub url: String,
    pub port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
    connections: Arc<AtomicUsize>,
}

/// A raw response with `status` (e.g. `200 OK`) and no body.
pub fn empty_response(status: &str) -> String {
    format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
}

impl Receiver {
    /// Answers 200 to every request.
    pub fn start() -> Receiver {
        Receiver::answering(|_| empty_response("200 OK"))
    }

    /// Answers 500 to the first request and 200 to the others.
    pub fn failing_once() -> Receiver {
        Receiver::answering(|n| {
            empty_response(if n == 1 {
                "500 Internal Server Error"
            } else {
                "200 OK"
            })
        })
    }

    /// Answers every request with the raw `response`.
    pub fn fixed(response: String) -> Receiver {
        Receiver::answering(move |_| response.clone())
    }

    /// Answers the `n`-th request (1-based, in the order their bodies were complete) with
    /// `answer(n)`, a raw HTTP response.
    pub fn answering(answer: impl Fn(usize) -> String + Send + Sync + 'static) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests: Arc<Mutex<Vec<Request>>> = Arc::default();
        let connections = Arc::new(AtomicUsize::new(0));
        let answer: Arc<Answer> = Arc::new(answer);
        let (seen, accepted) = (requests.clone(), connections.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                accepted.fetch_add(1, Ordering::SeqCst);
                let (seen, answer) = (seen.clone(), answer.clone());
                std::thread::spawn(move || {
                    let Some(request) = read_request(&stream) else {
                        return;
                    };
                    let n = {
                        let mut all = seen.lock().unwrap();
                        all.push(request);
                        all.len()
                    };
                    let mut stream = stream;
                    let _ = stream.write_all(answer(n).as_bytes());
                });
            }
        });
        Receiver {
            url: format!("http://127.0.0.1:{port}/hook"),
            port,
            requests,
            connections,
        }
    }

    /// `127.0.0.1:<port>`, for `FACEPROOF_WEBHOOK_ALLOWED_HOSTS`.
    pub fn authority(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    /// TCP connections accepted, whether or not a whole request followed.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Wait (at most `secs`) until `n` requests arrived; all requests received by then.
    pub fn wait_for(&self, n: usize, secs: u64) -> Vec<Request> {
        eventually(secs, &format!("{n} webhook request(s)"), || {
            let got = self.requests();
            (got.len() >= n).then_some(got)
        })
    }
}

/// Request line, headers and a `Content-Length` body; `None` when the peer hung up before.
fn read_request(stream: &std::net::TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}
