//! DNS rebinding, end to end (issue 9): the server resolves webhook hosts through the operator's
//! DNS server (`FACEPROOF_WEBHOOK_DNS_SERVER`) — here a tiny one run by the test on 127.0.0.1,
//! which answers a public address (192.0.2.1, a documentation address that never answers) for
//! `rebind.example` on the first query and 127.0.0.1 on every later one. An order naming `http://rebind.example:PORT/hook` is accepted (the name is public),
//! and no delivery attempt ever reaches the HTTP listener the test runs on 127.0.0.1:PORT: each
//! attempt is recorded as `unreachable` and the delivery ends FAILED. On SQLite and PostgreSQL.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::*;
use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::{rdata::A, RData, Record, RecordType};
use hickory_proto::serialize::binary::BinEncodable;
use reqwest::Method;
use serde_json::{json, Value};

/// A DNS server on 127.0.0.1 (UDP) answering `A rebind.example` with a public address the first
/// time and 127.0.0.1 afterwards, TTL 0 (nothing cached); other names are NXDOMAIN. Counts the
/// `A rebind.example` queries it answers.
struct RebindingDns {
    addr: SocketAddr,
    queries: Arc<AtomicUsize>,
}

impl RebindingDns {
    fn start() -> RebindingDns {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = socket.local_addr().unwrap();
        let queries = Arc::new(AtomicUsize::new(0));
        let seen = queries.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while let Ok((n, peer)) = socket.recv_from(&mut buf) {
                let Ok(request) = Message::from_vec(&buf[..n]) else {
                    continue;
                };
                let mut response = Message::new();
                response
                    .set_id(request.id())
                    .set_message_type(MessageType::Response)
                    .set_op_code(request.op_code())
                    .set_recursion_desired(request.recursion_desired())
                    .set_recursion_available(true)
                    .add_queries(request.queries().to_vec());
                for q in request.queries() {
                    let name = q.name().to_ascii().to_ascii_lowercase();
                    if name.trim_end_matches('.') != "rebind.example" {
                        response.set_response_code(ResponseCode::NXDomain);
                    } else if q.query_type() == RecordType::A {
                        let ip = if seen.fetch_add(1, Ordering::SeqCst) == 0 {
                            Ipv4Addr::new(192, 0, 2, 1)
                        } else {
                            Ipv4Addr::LOCALHOST
                        };
                        response.add_answer(Record::from_rdata(
                            q.name().clone(),
                            0,
                            RData::A(A(ip)),
                        ));
                    }
                }
                let _ = socket.send_to(&response.to_bytes().unwrap(), peer);
            }
        });
        RebindingDns { addr, queries }
    }

    fn queries(&self) -> usize {
        self.queries.load(Ordering::SeqCst)
    }
}

/// An HTTP listener on 127.0.0.1 that counts the connections it accepts (and answers 200, so a
/// delivery that got through would be recorded as delivered).
struct Listener {
    port: u16,
    connections: Arc<AtomicUsize>,
}

fn listener() -> Listener {
    use std::io::{Read, Write};
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let seen = connections.clone();
    std::thread::spawn(move || {
        for stream in l.incoming() {
            let Ok(mut stream) = stream else { continue };
            seen.fetch_add(1, Ordering::SeqCst);
            let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
            let _ = stream.read(&mut [0u8; 4096]);
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        }
    });
    Listener { port, connections }
}

fn rebinding(backend: Backend) {
    let Some(data) = shared_data() else { return };
    let photo = photos(&data, 1).remove(0);
    let dns = RebindingDns::start();
    let hook = listener();
    let dns_addr = dns.addr.to_string();
    let env = [
        ("FACEPROOF_WEBHOOK_DNS_SERVER", dns_addr.as_str()),
        ("FACEPROOF_WEBHOOK_TIMEOUT", "2"),
        ("FACEPROOF_WEBHOOK_BACKOFF_MS", "100"),
        ("FACEPROOF_WEBHOOK_MAX_ATTEMPTS", "3"),
    ];
    on(backend, &env, |s| {
        let root = s.admin();
        let company = s.company(&root, "rebind");
        let (_, client) = s.user(&root, "client@rebind.test", "CLIENT", Some(&company));
        let (st, f) = s.upload(
            "/api/folders/",
            &client,
            &[("a", &photo)],
            Some(json!({"media:tags": {"a": ["photo_selfie"]}})),
        );
        assert_eq!(st, 201, "{f}");
        let fid = f["folder_id"].as_str().unwrap();
        let url = format!("http://rebind.example:{}/hook", hook.port);
        let (st, a) = s.call(
            Method::POST,
            &format!("/api/folders/{fid}/analyses/"),
            Some(&client),
            Some(json!({"analyses": [{"type": "quality"}], "resolution_endpoint": url})),
        );
        assert_eq!(st, 201, "the order is accepted: {a}");

        let deadline = Instant::now() + Duration::from_secs(180);
        let delivery = loop {
            let (st, list) = s.call(
                Method::GET,
                &format!("/api/folders/{fid}/webhooks/"),
                Some(&client),
                None,
            );
            assert_eq!(st, 200, "{list}");
            if let Some(d) = list.as_array().and_then(|l| l.first()) {
                if d["state"] != "PENDING" {
                    break d.clone();
                }
            }
            assert!(
                Instant::now() < deadline,
                "the delivery did not end within 180 s: {list}"
            );
            std::thread::sleep(Duration::from_millis(200));
        };
        assert_eq!(delivery["state"], "FAILED", "{delivery}");
        assert_eq!(delivery["url"], url);
        let attempts = delivery["attempts"].as_array().unwrap();
        assert_eq!(attempts.len(), 3, "{delivery}");
        for attempt in attempts {
            assert_eq!(attempt["error"], "unreachable", "{delivery}");
            assert_eq!(attempt["status_code"], Value::Null, "{delivery}");
        }
        assert_eq!(
            hook.connections.load(Ordering::SeqCst),
            0,
            "a delivery reached the listener on 127.0.0.1"
        );
        // Every attempt asked the configured server: public once, loopback (dropped) after.
        assert!(dns.queries() >= 3, "{} queries", dns.queries());
    });
}

#[test]
fn rebinding_sqlite() {
    rebinding(Backend::Sqlite);
}

#[test]
fn rebinding_postgres() {
    rebinding(Backend::Postgres);
}
