//! The benchmark learns that a job ended the way a Zoho integration does: from the job's
//! callback, instead of polling the server hundreds of times a second (which, on a small
//! machine, slows the very job being measured).

use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// Largest callback request read (the job details are a few KiB).
const MAX_REQUEST: usize = 1 << 20;

/// A loopback HTTP receiver: every request is answered `200` and its path reported.
pub struct CallbackReceiver {
    pub base: String,
    paths: mpsc::UnboundedReceiver<String>,
}

impl CallbackReceiver {
    pub async fn start() -> anyhow::Result<CallbackReceiver> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let (sender, paths) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let sender = sender.clone();
                tokio::spawn(async move {
                    if let Ok(path) = answer(stream).await {
                        let _ = sender.send(path);
                    }
                });
            }
        });
        Ok(CallbackReceiver { base, paths })
    }

    /// Waits until a callback arrives on `path`, for at most `limit`.
    pub async fn wait_for(&mut self, path: &str, limit: Duration) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let received = tokio::time::timeout_at(deadline, self.paths.recv()).await;
            match received.context("no callback in time")? {
                Some(received) if received == path => return Ok(()),
                Some(_) => continue,
                None => anyhow::bail!("the callback receiver stopped"),
            }
        }
    }
}

/// Reads one request (headers and `Content-Length` body), answers `200`, returns its path.
async fn answer(mut stream: TcpStream) -> anyhow::Result<String> {
    let mut request = Vec::new();
    let mut buffer = [0u8; 8192];
    let head_end = loop {
        let read = stream.read(&mut buffer).await?;
        anyhow::ensure!(read > 0 && request.len() < MAX_REQUEST, "incomplete request");
        request.extend_from_slice(&buffer[..read]);
        if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
    };
    let head = String::from_utf8_lossy(&request[..head_end]).to_string();
    let length = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_REQUEST);
    while request.len() < head_end + length {
        let read = stream.read(&mut buffer).await?;
        anyhow::ensure!(read > 0, "incomplete body");
        request.extend_from_slice(&buffer[..read]);
    }
    stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").await?;
    let path = head.split_whitespace().nth(1).context("no request line")?.to_string();
    Ok(path)
}
