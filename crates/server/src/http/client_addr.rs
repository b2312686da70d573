//! The client's address as the login limiter and the logs see it: the connection's peer, or —
//! when the peer is one of the operator's `trusted_proxies` — the nearest `X-Forwarded-For` hop
//! that is not itself a trusted proxy. Headers from untrusted peers are ignored, so a client
//! cannot pick the address it is counted under.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use ipnet::IpNet;

use crate::app::AppState;
use crate::errors::ApiError;

pub struct ClientAddr(pub IpAddr);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        Ok(ClientAddr(client_address(
            peer,
            &parts.headers,
            &state.cfg.trusted_proxies,
        )))
    }
}

pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        // A hop we cannot read ends the walk: what lies left of it was written by the client.
        let Ok(ip) = hop.parse::<IpAddr>() else {
            break;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    #[test]
    fn reads_forwarded_for_only_from_trusted_proxies() {
        let trusted = crate::config::parse_proxies("10.0.0.0/8, 192.168.1.1").unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let spoof = xff(&["6.6.6.6"]);
        assert_eq!(
            client_address(ip("8.8.8.8"), &spoof, &trusted),
            ip("8.8.8.8")
        );
        assert_eq!(
            client_address(ip("10.1.2.3"), &spoof, &trusted),
            ip("6.6.6.6")
        );
        // The client's own forged entry sits left of the hop our proxy added.
        let chain = xff(&["1.1.1.1, 203.0.113.7", "10.0.0.2"]);
        assert_eq!(
            client_address(ip("192.168.1.1"), &chain, &trusted),
            ip("203.0.113.7")
        );
        assert_eq!(
            client_address(ip("10.0.0.9"), &xff(&["junk, 10.0.0.3"]), &trusted),
            ip("10.0.0.3")
        );
        assert_eq!(
            client_address(ip("10.0.0.9"), &HeaderMap::new(), &trusted),
            ip("10.0.0.9")
        );
        assert!(crate::config::parse_proxies("10.0.0.0/8, nonsense").is_err());
    }
}
