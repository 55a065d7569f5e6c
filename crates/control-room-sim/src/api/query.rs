//! Query strings as the API server reads them, parsed by hand: kube-rs sends `?&limit=500` (an
//! empty pair first), which strict form decoders reject.

use std::time::Duration;

/// Decoded `key=value` pairs in order.
#[derive(Debug, Default)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

/// `%XX` and `+` decoding; None on a malformed escape or non-UTF-8 result.
pub fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = raw.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

impl Query {
    pub fn parse(raw: Option<&str>) -> Result<Self, String> {
        let mut pairs = Vec::new();
        for part in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            let key = percent_decode(k).ok_or_else(|| format!("invalid query parameter {k:?}"))?;
            let value = percent_decode(v).ok_or_else(|| format!("invalid value for {key:?}"))?;
            pairs.push((key, value));
        }
        Ok(Self { pairs })
    }

    /// The last value given for `key`: a later repeat overrides an earlier one.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Booleans as Go's strconv.ParseBool reads them; absent → false.
    pub fn flag(&self, key: &str) -> Result<bool, String> {
        match self.get(key) {
            None => Ok(false),
            Some("1" | "t" | "T" | "true" | "TRUE" | "True") => Ok(true),
            Some("" | "0" | "f" | "F" | "false" | "FALSE" | "False") => Ok(false),
            Some(other) => Err(format!("invalid boolean for {key}: {other:?}")),
        }
    }

    pub fn number(&self, key: &str) -> Result<Option<u64>, String> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| format!("invalid value for {key}: {v:?}")),
        }
    }
}

/// Where a watch starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchStart {
    /// Synthesize ADDED for everything current, then follow (`resourceVersion` absent or "0",
    /// or `sendInitialEvents=true`).
    Initial { end_bookmark: bool },
    /// Replay history strictly after this version, then follow.
    After(u64),
}

/// The list/watch options the server honours.
#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    pub label_selector: String,
    pub field_selector: String,
    pub limit: Option<u64>,
    pub continue_token: Option<String>,
    pub resource_version: Option<u64>,
    pub watch: bool,
    pub allow_bookmarks: bool,
    pub send_initial_events: bool,
    pub timeout: Option<Duration>,
}

impl ListOptions {
    pub fn from_query(q: &Query) -> Result<Self, String> {
        let resource_version = match q.get("resourceVersion") {
            None | Some("") => None,
            Some(v) => Some(
                v.parse::<u64>()
                    .map_err(|_| format!("invalid resource version: {v:?}"))?,
            ),
        };
        Ok(Self {
            label_selector: q.get("labelSelector").unwrap_or("").to_string(),
            field_selector: q.get("fieldSelector").unwrap_or("").to_string(),
            limit: q.number("limit")?.filter(|l| *l > 0),
            continue_token: q
                .get("continue")
                .filter(|c| !c.is_empty())
                .map(str::to_string),
            resource_version,
            watch: q.flag("watch")?,
            allow_bookmarks: q.flag("allowWatchBookmarks")?,
            send_initial_events: q.flag("sendInitialEvents")?,
            // 0 means "server default" on a real server, which is no timeout here.
            timeout: q
                .number("timeoutSeconds")?
                .filter(|t| *t > 0)
                .map(Duration::from_secs),
        })
    }

    pub fn watch_start(&self) -> WatchStart {
        match (self.send_initial_events, self.resource_version) {
            (true, _) => WatchStart::Initial { end_bookmark: true },
            (false, None | Some(0)) => WatchStart::Initial {
                end_bookmark: false,
            },
            (false, Some(rv)) => WatchStart::After(rv),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerates_empty_pairs_and_decodes() {
        let q = Query::parse(Some(
            "&limit=500&labelSelector=app%3Dweb%2Ctier+in+(a)&watch=1",
        ))
        .unwrap();
        let opts = ListOptions::from_query(&q).unwrap();
        assert_eq!(opts.limit, Some(500));
        assert_eq!(opts.label_selector, "app=web,tier in (a)");
        assert!(opts.watch);
        assert!(Query::parse(Some("a=%zz")).is_err());
        assert!(ListOptions::from_query(&Query::parse(Some("limit=-1")).unwrap()).is_err());
        assert!(ListOptions::from_query(&Query::parse(Some("watch=maybe")).unwrap()).is_err());
    }

    #[test]
    fn watch_start_follows_resource_version() {
        let opts = |q: &str| ListOptions::from_query(&Query::parse(Some(q)).unwrap()).unwrap();
        assert_eq!(
            opts("").watch_start(),
            WatchStart::Initial {
                end_bookmark: false
            }
        );
        assert_eq!(
            opts("resourceVersion=0").watch_start(),
            WatchStart::Initial {
                end_bookmark: false
            }
        );
        assert_eq!(
            opts("resourceVersion=7").watch_start(),
            WatchStart::After(7)
        );
        assert_eq!(
            opts("resourceVersion=7&sendInitialEvents=true").watch_start(),
            WatchStart::Initial { end_bookmark: true }
        );
    }
}
