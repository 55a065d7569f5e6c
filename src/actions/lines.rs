//! Splitting a child's output into lines without trusting it: a line without an end is
//! cut at a bound, bytes that are not UTF-8 are shown replaced.

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::mpsc;

/// Longer lines are cut here and marked; the screen can't show more anyway.
pub const MAX_LINE_BYTES: usize = 16 * 1024;

/// Sends each line of `reader`, made into a `T` by `wrap`, until end of file, a read
/// error, or the receiver going away.
pub async fn send_lines<R, T>(reader: R, tx: mpsc::Sender<T>, wrap: impl Fn(String) -> T)
where
    R: AsyncRead + Unpin,
{
    let mut reader = BufReader::with_capacity(64 * 1024, reader);
    let mut line: Vec<u8> = Vec::new();
    let mut cut = 0usize;
    loop {
        let buf = match reader.fill_buf().await {
            Ok([]) => break,
            Ok(buf) => buf,
            Err(_) => break,
        };
        let (chunk, newline) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..i], Some(i + 1)),
            None => (buf, None),
        };
        let room = MAX_LINE_BYTES.saturating_sub(line.len());
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        cut += chunk.len().saturating_sub(room);
        let consumed = newline.unwrap_or(buf.len());
        reader.consume(consumed);
        if newline.is_some() && tx.send(wrap(finish(&mut line, &mut cut))).await.is_err() {
            return;
        }
    }
    if !line.is_empty() || cut > 0 {
        let _ = tx.send(wrap(finish(&mut line, &mut cut))).await;
    }
}

fn finish(line: &mut Vec<u8>, cut: &mut usize) -> String {
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    let mut text = String::from_utf8_lossy(line).into_owned();
    if *cut > 0 {
        text.push_str(&format!(" … [{} bytes cut]", *cut));
    }
    line.clear();
    *cut = 0;
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn lines_of(input: &[u8]) -> Vec<String> {
        let (tx, mut rx) = mpsc::channel(100);
        send_lines(input, tx, |l| l).await;
        let mut out = Vec::new();
        while let Some(l) = rx.recv().await {
            out.push(l);
        }
        out
    }

    #[tokio::test]
    async fn splits_and_bounds() {
        assert_eq!(lines_of(b"a\nb\r\n\nlast").await, ["a", "b", "", "last"]);
        assert_eq!(lines_of(b"").await, Vec::<String>::new());
        assert_eq!(lines_of(b"caf\xc3\xa9 \xff\n").await, ["café \u{fffd}"]);
        let long = vec![b'x'; MAX_LINE_BYTES + 10];
        let got = lines_of(&long).await;
        assert_eq!(got.len(), 1);
        assert!(
            got[0].ends_with("… [10 bytes cut]"),
            "{}",
            &got[0][MAX_LINE_BYTES..]
        );
    }
}
