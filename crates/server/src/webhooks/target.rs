//! Which callback URLs an order may name (`webhook_allowed_hosts`).

/// `host[:port]` of an http(s) URL, lower case.
fn authority(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?;
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// Refuse callback URLs outside `webhook_allowed_hosts` (when that list is set): without it any
/// client could make the server POST to internal addresses.
pub fn check_allowed(cfg: &crate::Config, url: &str) -> Result<(), crate::errors::ApiError> {
    if cfg.webhook_allowed_hosts.is_empty() {
        return Ok(());
    }
    let authority = authority(url).unwrap_or_default();
    let host = authority
        .rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map(|(h, _)| h.to_string())
        .unwrap_or_else(|| authority.clone());
    if cfg
        .webhook_allowed_hosts
        .iter()
        .any(|a| *a == authority || *a == host)
    {
        Ok(())
    } else {
        Err(crate::errors::ApiError::value(format!(
            "resolution_endpoint host '{authority}' is not in the server's webhook_allowed_hosts"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_hosts() {
        let mut cfg = crate::Config::default();
        assert!(check_allowed(&cfg, "http://10.0.0.1:9/x").is_ok());
        cfg.webhook_allowed_hosts = vec!["hooks.example.com".into(), "127.0.0.1:8089".into()];
        assert!(check_allowed(&cfg, "https://hooks.example.com/a?b").is_ok());
        assert!(check_allowed(&cfg, "https://user@HOOKS.example.com:8443/a").is_ok());
        assert!(check_allowed(&cfg, "http://127.0.0.1:8089/hook").is_ok());
        assert!(check_allowed(&cfg, "http://127.0.0.1:5432/").is_err());
        assert!(check_allowed(&cfg, "http://hooks.example.com.evil.net/").is_err());
    }
}
