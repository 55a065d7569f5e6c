//! The clock: one tick per wall-clock second, so the header and ages move without any
//! busy redraw loop.

use chrono::{DateTime, FixedOffset, Local, Timelike};
use tokio::sync::mpsc;

use crate::msg::Msg;

pub fn now() -> DateTime<FixedOffset> {
    Local::now().fixed_offset()
}

pub fn spawn(tx: mpsc::Sender<Msg>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let now = now();
            let to_next_second = 1_000_000_000u32.saturating_sub(now.nanosecond().min(999_999_999));
            tokio::time::sleep(std::time::Duration::from_nanos(u64::from(to_next_second))).await;
            if tx.send(Msg::Tick(self::now())).await.is_err() {
                return;
            }
        }
    })
}
