//! `s` in the log view: the buffer written to a file of its own under the state dir
//! (`logs/`, 0700), created new and 0600 and never through a symlink, as every file the
//! program writes. The text is what the view holds — inert, each line with its kubelet
//! stamp as `kubectl logs --timestamps` prints it — so the file is as safe to `cat` as the
//! screen was to look at.

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, SecondsFormat};

use crate::model::logs::LogsModel;

/// The buffer as text, and how many lines it holds.
pub fn render(logs: &LogsModel) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(logs.ring.bytes());
    let mut lines = 0;
    if logs.ring.dropped > 0 {
        let _ = writeln!(
            out,
            "# {} earlier lines were dropped from the view's buffer",
            logs.ring.dropped
        );
    }
    for (_, line) in logs.ring.from(0) {
        if let Some(at) = line.at {
            out.extend_from_slice(at.to_rfc3339_opts(SecondsFormat::Nanos, true).as_bytes());
            out.push(b' ');
        }
        out.extend_from_slice(line.text.as_bytes());
        if line.cut > 0 {
            let _ = write!(out, " …[{} bytes cut]", line.cut);
        }
        out.push(b'\n');
        lines += 1;
    }
    (out, lines)
}

/// `vendor_external-attacker_mock-attacker-6sp_mock-attacker_20261127-140509.log`: what
/// was read, and when; only characters a file name can hold safely.
pub fn file_name(cluster: &str, logs: &LogsModel, now: DateTime<FixedOffset>) -> String {
    let target = logs.target();
    let namespace = target.map(|t| t.namespace.as_str()).unwrap_or("");
    let pod = logs.pod.as_deref().unwrap_or("pod");
    let container = logs.container.as_deref().unwrap_or("");
    let mut parts = vec![cluster, namespace, pod, container];
    if logs.previous() {
        parts.push("previous");
    }
    let stamp = now.format("%Y%m%d-%H%M%S").to_string();
    parts.push(&stamp);
    let name: String = parts
        .iter()
        .filter(|p| !p.is_empty())
        .map(|p| safe(p))
        .collect::<Vec<_>>()
        .join("_");
    format!("{name}.log")
}

fn safe(part: &str) -> String {
    part.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .take(80)
        .collect::<String>()
        .trim_start_matches('.')
        .to_string()
}

/// Writes `text` to a new file `dir/name` (`name-2.log` … if one is there already).
pub fn write(dir: &Path, name: &str, text: &[u8]) -> io::Result<PathBuf> {
    crate::files::private_dir(dir).map_err(io::Error::other)?;
    let stem = name.strip_suffix(".log").unwrap_or(name);
    for n in 1..100 {
        let path = if n == 1 {
            dir.join(name)
        } else {
            dir.join(format!("{stem}-{n}.log"))
        };
        match crate::files::create_private(&path) {
            Ok(mut file) => {
                file.write_all(text)?;
                file.sync_all()?;
                return Ok(path);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other(format!(
        "{}: too many saved logs with this name",
        dir.join(name).display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::logs::{LogLine, PodLogTarget, PodRef};
    use std::os::unix::fs::PermissionsExt as _;

    fn logs() -> LogsModel {
        let target = PodLogTarget {
            cluster: 0,
            namespace: "external-attacker".into(),
            pod: PodRef::Pod("mock/../attacker".into()),
            container: Some("c".into()),
            previous: true,
        };
        let mut m = LogsModel::new(1, LogsModel::view_request(target));
        m.push(LogLine {
            stream: 0,
            at: DateTime::parse_from_rfc3339("2026-11-27T14:05:09.5Z")
                .ok()
                .map(|t| t.to_utc()),
            text: "🚨 EXFIL RECEIVED ␛".into(),
            cut: 0,
            not_utf8: false,
        });
        m.push(LogLine {
            stream: 0,
            at: None,
            text: "long".into(),
            cut: 12,
            not_utf8: false,
        });
        m
    }

    #[test]
    fn the_buffer_is_saved_privately_with_its_stamps() {
        let m = logs();
        let (text, lines) = render(&m);
        assert_eq!(lines, 2);
        assert_eq!(
            String::from_utf8(text.clone()).unwrap(),
            "2026-11-27T14:05:09.500000000Z 🚨 EXFIL RECEIVED ␛\nlong …[12 bytes cut]\n"
        );
        let now = DateTime::parse_from_rfc3339("2026-11-27T14:05:09+00:00").unwrap();
        let name = file_name("vendor", &m, now);
        assert_eq!(
            name,
            "vendor_external-attacker_mock-..-attacker_c_previous_20261127-140509.log"
        );
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("logs");
        let first = write(&dir, &name, &text).unwrap();
        let second = write(&dir, &name, &text).unwrap();
        assert_ne!(first, second, "a second save does not overwrite the first");
        assert!(second.to_string_lossy().ends_with("-2.log"));
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&first), 0o600);
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(std::fs::read(&first).unwrap(), text);
    }
}
