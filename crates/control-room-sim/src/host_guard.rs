//! The DNS-rebinding guard: every HTTP surface of the simulator (the API servers, the programs
//! behind port-forwards, the metrics address) answers only requests whose `Host` names a
//! loopback address. A web page that rebinds its own name to 127.0.0.1 would otherwise reach
//! the simulated clusters (and through them the act scripts' kubeconfig) from a browser.

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// `localhost`, `*.localhost`, `127.0.0.0/8` and `[::1]`, each with or without a port.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim();
    let name = if let Some(rest) = host.strip_prefix('[') {
        match rest.split_once(']') {
            Some((inside, after)) if after.is_empty() || after.starts_with(':') => inside,
            _ => return false,
        }
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if !name.contains(':') && port.parse::<u16>().is_ok() => name,
            Some(_) => host,
            None => host,
        }
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if name == "localhost" || name.ends_with(".localhost") {
        return true;
    }
    match name.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => false,
    }
}

/// axum middleware: refuses (403) a request without a loopback `Host`.
pub async fn loopback_only(request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| request.uri().authority().map(|a| a.to_string()));
    match host {
        Some(h) if is_loopback_host(&h) => next.run(request).await,
        other => {
            let shown = other.unwrap_or_else(|| "(none)".into());
            tracing::warn!(host = %shown, "refused a request whose Host is not loopback");
            (
                StatusCode::FORBIDDEN,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                format!(
                    "the control-room simulator answers only requests for a loopback host \
                     (localhost, 127.0.0.1, [::1]); this one was for {:?}\n",
                    shown
                ),
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_and_addresses() {
        for ok in [
            "localhost",
            "localhost:8080",
            "LOCALHOST.",
            "api.localhost:6443",
            "127.0.0.1",
            "127.0.0.1:39611",
            "127.1.2.3:80",
            "[::1]",
            "[::1]:8080",
            "::1",
        ] {
            assert!(is_loopback_host(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8080",
            "127.0.0.1.evil.example",
            "localhost.evil.example",
            "10.0.0.1",
            "[::2]:80",
            "[::1]x",
            "",
            "prometheus",
        ] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
    }
}
