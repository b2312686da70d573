//! Which callback URLs an order may name, and where a delivery may connect.
//!
//! A URL is parsed once, by the parser the HTTP client uses (`reqwest::Url`, WHATWG rules: `127.1`,
//! `2130706433` and `0x7f000001` all read as 127.0.0.1, `\` is a path separator), and its parsed
//! host and port are what the rules look at:
//! - with `webhook_allowed_hosts` set, the host (or `host:port`) must be listed; listed hosts are
//!   trusted, internal ones included;
//! - otherwise a destination on loopback, private, link-local, unique-local, shared (CGNAT),
//!   multicast, broadcast or unspecified addresses is refused (`localhost` names too), unless the
//!   operator sets `webhook_allow_internal`.
//!
//! Names are checked again where it matters, at connect time: the delivery client resolves through
//! [`GuardedResolver`], which drops internal addresses of hosts that are not trusted, so a name
//! that resolved to a public address when the order was placed cannot be switched to an internal
//! one later (DNS rebinding). It asks the system resolver, or the operator's DNS server when
//! `webhook_dns_server` is set. Redirects are never followed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use hickory_resolver::config::{NameServerConfigGroup, ResolveHosts, ResolverConfig};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::TokioResolver;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;

use crate::config::Config;
use crate::errors::ApiError;

/// Addresses a webhook must not reach unless the operator trusts them.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return internal_v4(v4);
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (first & 0xffc0) == 0xfe80 // link local fe80::/10
                || (first & 0xffc0) == 0xfec0 // site local (deprecated) fec0::/10
                // IPv4-compatible ::a.b.c.d and NAT64 64:ff9b::a.b.c.d carry an IPv4 address
                || (v6.segments()[..6] == [0; 6] && internal_v4(embedded_v4(v6)))
                || (v6.segments()[..6] == [0x64, 0xff9b, 0, 0, 0, 0] && internal_v4(embedded_v4(v6)))
        }
    }
}

fn embedded_v4(v6: Ipv6Addr) -> Ipv4Addr {
    let o = v6.octets();
    Ipv4Addr::new(o[12], o[13], o[14], o[15])
}

fn internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_unspecified()
        || a == 0 // "this network" 0.0.0.0/8
        || (a == 100 && (64..128).contains(&b)) // shared address space 100.64.0.0/10
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments 192.0.0.0/24
        || (a == 198 && (b == 18 || b == 19)) // benchmarking 198.18.0.0/15
        || a >= 240 // reserved 240.0.0.0/4
}

/// The parsed host of a URL as a lower-case string (IPv6 without brackets) and its port.
fn host_port(url: &Url) -> Option<(String, u16)> {
    let host = match url.host()? {
        url::Host::Domain(d) => d.trim_end_matches('.').to_ascii_lowercase(),
        url::Host::Ipv4(ip) => ip.to_string(),
        url::Host::Ipv6(ip) => ip.to_string(),
    };
    Some((host, url.port_or_known_default()?))
}

/// Is `host[:port]` in the operator's allow-list? IPv6 entries may be bracketed.
fn listed(cfg: &Config, host: &str, port: u16) -> bool {
    cfg.webhook_allowed_hosts.iter().any(|entry| {
        let entry = entry.trim().to_ascii_lowercase();
        let unbracket = |s: &str| s.trim_start_matches('[').trim_end_matches(']').to_string();
        if entry == host || unbracket(&entry) == host {
            return true;
        }
        match entry.rsplit_once(':') {
            Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) && !h.is_empty() => {
                unbracket(h) == host && p.parse::<u16>().ok() == Some(port)
            }
            _ => false,
        }
    })
}

fn localhost_name(host: &str) -> bool {
    host == "localhost" || host.ends_with(".localhost")
}

/// Refuse a callback URL the server must not call (error 4 with the reason).
pub fn check_allowed(cfg: &Config, url: &str) -> Result<(), ApiError> {
    let refuse = |why: String| Err(ApiError::value(format!("resolution_endpoint {why}")));
    let Ok(parsed) = Url::parse(url.trim()) else {
        return refuse("is not a valid URL".into());
    };
    if !matches!(parsed.scheme(), "http" | "https") {
        return refuse("must be an http:// or https:// URL".into());
    }
    let Some((host, port)) = host_port(&parsed) else {
        return refuse("has no host".into());
    };
    if !cfg.webhook_allowed_hosts.is_empty() {
        return if listed(cfg, &host, port) {
            Ok(())
        } else {
            refuse(format!(
                "host '{host}:{port}' is not in the server's webhook_allowed_hosts"
            ))
        };
    }
    if cfg.webhook_allow_internal {
        return Ok(());
    }
    let internal = match host.parse::<IpAddr>() {
        Ok(ip) => is_internal(ip),
        Err(_) => localhost_name(&host),
    };
    if internal {
        return refuse(format!(
            "'{host}' is an internal address; the server calls only public hosts unless its operator allows others (webhook_allowed_hosts or webhook_allow_internal)"
        ));
    }
    Ok(())
}

/// Resolves names for the delivery client, dropping internal addresses of untrusted hosts.
#[derive(Clone)]
pub struct GuardedResolver {
    cfg: Arc<Config>,
    /// The operator's DNS server (`webhook_dns_server`); `None` asks the system resolver.
    upstream: Option<TokioResolver>,
}

impl GuardedResolver {
    pub fn new(cfg: Arc<Config>) -> Self {
        let upstream = cfg.webhook_dns_server.map(dns_server);
        GuardedResolver { cfg, upstream }
    }

    /// Trusted hosts may resolve to anything; others only to public addresses.
    fn trusted(&self, host: &str) -> bool {
        self.cfg.webhook_allow_internal
            || self.cfg.webhook_allowed_hosts.iter().any(|e| {
                let e = e.trim().to_ascii_lowercase();
                let h = e
                    .rsplit_once(':')
                    .filter(|(_, p)| p.chars().all(|c| c.is_ascii_digit()))
                    .map(|(h, _)| h.to_string())
                    .unwrap_or(e.clone());
                e == host || h == host
            })
    }
}

/// A resolver that asks `server` only (UDP, TCP for truncated answers), with no hosts file and no
/// search domains: the operator chose that server to answer for webhook hosts.
fn dns_server(server: SocketAddr) -> TokioResolver {
    let servers = NameServerConfigGroup::from_ips_clear(&[server.ip()], server.port(), true);
    let config = ResolverConfig::from_parts(None, vec![], servers);
    let mut builder =
        TokioResolver::builder_with_config(config, TokioConnectionProvider::default());
    builder.options_mut().use_hosts_file = ResolveHosts::Never;
    builder.build()
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().trim_end_matches('.').to_ascii_lowercase();
        let trusted = self.trusted(&host);
        let upstream = self.upstream.clone();
        Box::pin(async move {
            let found = guarded_lookup(&host, trusted, upstream.as_ref()).await?;
            Ok(Box::new(found.into_iter()) as Addrs)
        })
    }
}

/// Resolve `host` (through `upstream` when given, else the system resolver), keeping only public
/// addresses unless it is trusted.
async fn guarded_lookup(
    host: &str,
    trusted: bool,
    upstream: Option<&TokioResolver>,
) -> Result<Vec<SocketAddr>, Box<dyn std::error::Error + Send + Sync>> {
    if !trusted && localhost_name(host) {
        return Err(blocked(host));
    }
    let addresses: Vec<IpAddr> = match upstream {
        Some(resolver) => resolver.lookup_ip(host).await?.iter().collect(),
        None => tokio::net::lookup_host((host, 0))
            .await?
            .map(|a| a.ip())
            .collect(),
    };
    let found: Vec<SocketAddr> = addresses
        .into_iter()
        .filter(|ip| trusted || !is_internal(*ip))
        .map(|ip| SocketAddr::new(ip, 0))
        .collect();
    if found.is_empty() {
        return Err(blocked(host));
    }
    Ok(found)
}

fn blocked(host: &str) -> Box<dyn std::error::Error + Send + Sync> {
    format!("{host} resolves only to internal addresses").into()
}

/// Before each attempt: an IP-literal URL does not go through the resolver, so its address is
/// checked here (the order was checked with the settings of its day; these may have changed).
pub fn check_before_send(cfg: &Config, url: &str) -> Result<(), String> {
    check_allowed(cfg, url).map_err(|e| e.message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(hosts: &[&str]) -> Config {
        Config {
            webhook_allowed_hosts: hosts.iter().map(|h| h.to_string()).collect(),
            ..Config::default()
        }
    }

    #[test]
    fn allow_list_reads_the_parsed_host_and_port() {
        let c = cfg(&["hooks.example.com", "localhost:18190"]);
        assert!(check_allowed(&c, "https://hooks.example.com/a?b").is_ok());
        assert!(check_allowed(&c, "https://user@HOOKS.example.com:8443/a").is_ok());
        assert!(check_allowed(&c, "http://localhost:18190/x").is_ok());
        assert!(check_allowed(&c, "http://localhost:5432/").is_err());
        assert!(check_allowed(&c, "http://hooks.example.com.evil.net/").is_err());
        // The client connects to 127.0.0.1:18192 here: `\` ends the authority, `@localhost…` is path.
        assert!(check_allowed(&c, r"http://127.0.0.1:18192\@localhost:18190/x").is_err());
        assert!(check_allowed(&c, "http://127.0.0.1:18192#@localhost:18190/").is_err());
        assert!(check_allowed(&c, "http://localhost:18190@127.0.0.1:18192/").is_err());
    }

    #[test]
    fn internal_destinations_are_refused_in_every_spelling() {
        let c = cfg(&[]);
        for url in [
            "http://127.0.0.1/",
            "http://127.1/",
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0177.0.0.1/",
            "http://0.0.0.0:8080/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::]/",
            "http://localhost/",
            "http://LOCALHOST./",
            "http://app.localhost/",
            "http://10.1.2.3/",
            "http://172.16.0.1/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://100.64.0.1/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "http://224.0.0.1/",
            "http://255.255.255.255/",
        ] {
            assert!(check_allowed(&c, url).is_err(), "{url} must be refused");
        }
        for url in [
            "https://hooks.example.com/x",
            "http://93.184.216.34/",
            "http://[2606:4700::1111]/",
        ] {
            assert!(check_allowed(&c, url).is_ok(), "{url} must be accepted");
        }
        assert!(check_allowed(&c, "ftp://hooks.example.com/").is_err());
        let open = Config {
            webhook_allow_internal: true,
            ..Config::default()
        };
        assert!(check_allowed(&open, "http://127.0.0.1:9/").is_ok());
    }

    #[tokio::test]
    async fn resolution_keeps_only_public_addresses_of_untrusted_names() {
        assert!(guarded_lookup("127.0.0.1", false, None).await.is_err());
        assert!(guarded_lookup("localhost", false, None).await.is_err());
        assert!(guarded_lookup("127.0.0.1", true, None).await.is_ok());
    }

    #[test]
    fn listed_internal_hosts_are_trusted() {
        let c = cfg(&["127.0.0.1:8089", "[::1]"]);
        assert!(check_allowed(&c, "http://127.0.0.1:8089/hook").is_ok());
        assert!(check_allowed(&c, "http://[::1]:9000/hook").is_ok());
        assert!(check_allowed(&c, "http://127.0.0.1:8090/hook").is_err());
    }

    /// A DNS server on 127.0.0.1 (UDP) that answers `A rebind.example` with 93.184.216.34 the
    /// first time and 127.0.0.1 afterwards, with TTL 0 so no answer is cached; every other name
    /// is NXDOMAIN. Returns its address and the number of `A rebind.example` queries seen.
    fn rebinding_dns() -> (SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
        use hickory_resolver::proto::op::{Message, MessageType, ResponseCode};
        use hickory_resolver::proto::rr::{rdata::A, RData, Record, RecordType};
        use hickory_resolver::proto::serialize::binary::BinEncodable;
        use std::sync::atomic::Ordering;

        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = socket.local_addr().unwrap();
        let queries = Arc::new(std::sync::atomic::AtomicUsize::new(0));
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
                            Ipv4Addr::new(93, 184, 216, 34)
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
        (addr, queries)
    }

    #[tokio::test]
    async fn a_name_rebound_to_loopback_is_dropped_by_the_operators_resolver() {
        let (dns, queries) = rebinding_dns();
        let cfg = Arc::new(Config {
            webhook_dns_server: Some(dns),
            ..Config::default()
        });
        let resolver = GuardedResolver::new(cfg);
        let resolve = |name: &str| resolver.resolve(name.parse().unwrap());
        // Public at first: resolved through the configured server.
        let first: Vec<SocketAddr> = resolve("rebind.example").await.unwrap().collect();
        assert_eq!(first, vec!["93.184.216.34:0".parse().unwrap()]);
        // Then the same name points at loopback: nothing is left to connect to.
        for _ in 0..2 {
            let err = resolve("REBIND.example.")
                .await
                .err()
                .expect("loopback is dropped");
            assert!(err.to_string().contains("internal"), "{err}");
        }
        assert_eq!(
            queries.load(std::sync::atomic::Ordering::SeqCst),
            3,
            "one query per lookup"
        );
        // A name the server does not know fails as a lookup error, not a panic.
        assert!(resolve("unknown.example").await.is_err());
        // A host the operator trusts may resolve to loopback through the same server.
        let trusted = GuardedResolver::new(Arc::new(Config {
            webhook_dns_server: Some(dns),
            webhook_allowed_hosts: vec!["rebind.example:8080".into()],
            ..Config::default()
        }));
        let addrs: Vec<SocketAddr> = trusted
            .resolve("rebind.example".parse().unwrap())
            .await
            .unwrap()
            .collect();
        assert_eq!(addrs, vec!["127.0.0.1:0".parse().unwrap()]);
    }
}
