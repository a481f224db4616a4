//! The load generator's HTTP: one keep-alive HTTP/1.1 connection sending `GET`s written from
//! ready bytes and reading each answer into buffers it reuses.
//!
//! Through `reqwest`, the generator spent about a quarter of the two cores on job details (a URL
//! parsed, a header map built and a pooled connection checked out for every request), a share
//! the server then did not have: its job details measured well under what `wrk` measured against
//! a server of the same build (docs/PERFORMANCE.md). This costs the generator about what `wrk`
//! costs.

use anyhow::{bail, Context};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Most header lines an answer may have.
const MAX_HEADERS: usize = 32;
/// How much more is read at a time.
const READ_SIZE: usize = 16 * 1024;

/// Where requests go: the server's `host:port` (also their `Host`) and their `Authorization`.
#[derive(Debug, Clone)]
pub struct Endpoint {
    address: String,
    auth: String,
}

impl Endpoint {
    /// The endpoint of `url`'s origin (plain `http://` only: the bench's server).
    pub fn of(url: &str, auth: &str) -> anyhow::Result<Endpoint> {
        let parsed = reqwest::Url::parse(url).with_context(|| format!("{url} is not a URL"))?;
        if parsed.scheme() != "http" {
            bail!("the load generator speaks plain HTTP, not {}", parsed.scheme());
        }
        let host = parsed.host_str().with_context(|| format!("{url} has no host"))?;
        let port = parsed.port_or_known_default().unwrap_or(80);
        Ok(Endpoint { address: format!("{host}:{port}"), auth: auth.to_string() })
    }

    /// The bytes of a `GET` of `url`'s path and query.
    pub fn get(&self, url: &str) -> anyhow::Result<Vec<u8>> {
        let parsed = reqwest::Url::parse(url).with_context(|| format!("{url} is not a URL"))?;
        let target = match parsed.query() {
            Some(query) => format!("{}?{query}", parsed.path()),
            None => parsed.path().to_string(),
        };
        Ok(format!("GET {target} HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\n\r\n", self.address, self.auth)
            .into_bytes())
    }
}

/// One connection, opened on first use and again after the server closes it.
pub struct Connection {
    endpoint: Endpoint,
    stream: Option<TcpStream>,
    /// Bytes read and not yet consumed: `buf[..filled]`.
    buf: Vec<u8>,
    filled: usize,
    body: Vec<u8>,
    /// Whether any of the current request's answer has been read.
    answered: bool,
}

/// How an answer's body ends.
enum Framing {
    Length(usize),
    Chunked,
    /// At the end of the connection.
    Close,
}

impl Connection {
    pub fn new(endpoint: Endpoint) -> Connection {
        Connection { endpoint, stream: None, buf: vec![0; READ_SIZE], filled: 0, body: Vec::new(), answered: false }
    }

    /// Sends `request` and reads its answer: the status and the body. On any error the connection
    /// is dropped, and the next request opens another. A kept-alive connection that fails before
    /// any of the answer came (the server closed it while it was idle) is not an error: the
    /// request goes again on a new one, as HTTP clients do with a `GET`.
    pub async fn send(&mut self, request: &[u8]) -> anyhow::Result<(u16, &[u8])> {
        let reused = self.stream.is_some();
        let mut result = self.exchange(request).await;
        if reused && result.is_err() && !self.answered {
            self.stream = None;
            result = self.exchange(request).await;
        }
        match result {
            Ok((status, keep)) => {
                if !keep {
                    self.stream = None;
                }
                Ok((status, &self.body))
            }
            Err(error) => {
                self.stream = None;
                Err(error)
            }
        }
    }

    async fn exchange(&mut self, request: &[u8]) -> anyhow::Result<(u16, bool)> {
        self.answered = false;
        if self.stream.is_none() {
            let stream = TcpStream::connect(&self.endpoint.address)
                .await
                .with_context(|| format!("connecting to {}", self.endpoint.address))?;
            stream.set_nodelay(true)?;
            self.stream = Some(stream);
            self.filled = 0;
        }
        self.stream.as_mut().context("no connection")?.write_all(request).await?;
        let (status, header_len, framing, keep) = loop {
            if let Some(head) = parse_head(&self.buf[..self.filled])? {
                break head;
            }
            self.read_more().await?;
        };
        self.consume(header_len);
        self.body.clear();
        match framing {
            Framing::Length(length) => self.take_body(length).await?,
            Framing::Chunked => self.take_chunks().await?,
            Framing::Close => {
                while self.read_more().await.is_ok() {}
                self.take_body(self.filled).await?;
                return Ok((status, false));
            }
        }
        Ok((status, keep))
    }

    /// Reads more into `buf`; fails at the end of the stream.
    async fn read_more(&mut self) -> anyhow::Result<()> {
        if self.buf.len() - self.filled < READ_SIZE {
            self.buf.resize(self.filled + READ_SIZE, 0);
        }
        let stream = self.stream.as_mut().context("no connection")?;
        let read = stream.read(&mut self.buf[self.filled..]).await?;
        if read == 0 {
            bail!("the server closed the connection");
        }
        self.filled += read;
        self.answered = true;
        Ok(())
    }

    /// Drops the first `count` bytes read.
    fn consume(&mut self, count: usize) {
        self.buf.copy_within(count..self.filled, 0);
        self.filled -= count;
    }

    /// Moves the next `length` bytes into `body`.
    async fn take_body(&mut self, length: usize) -> anyhow::Result<()> {
        while self.filled < length {
            self.read_more().await?;
        }
        self.body.extend_from_slice(&self.buf[..length]);
        self.consume(length);
        Ok(())
    }

    /// The next line (without its CRLF), consumed.
    async fn take_line(&mut self) -> anyhow::Result<String> {
        loop {
            if let Some(end) = self.buf[..self.filled].windows(2).position(|pair| pair == b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..end]).into_owned();
                self.consume(end + 2);
                return Ok(line);
            }
            self.read_more().await?;
        }
    }

    /// A chunked body into `body`, its trailers skipped.
    async fn take_chunks(&mut self) -> anyhow::Result<()> {
        loop {
            let line = self.take_line().await?;
            let size = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size, 16).with_context(|| format!("a chunk size of '{line}'"))?;
            if size == 0 {
                while !self.take_line().await?.is_empty() {}
                return Ok(());
            }
            self.take_body(size).await?;
            if !self.take_line().await?.is_empty() {
                bail!("a chunk does not end where its size says");
            }
        }
    }
}

/// The answer's status, head length, body framing and whether the connection stays open, once
/// the head is all in `bytes`.
fn parse_head(bytes: &[u8]) -> anyhow::Result<Option<(u16, usize, Framing, bool)>> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let header_len = match response.parse(bytes).context("the server's answer is not HTTP/1.1")? {
        httparse::Status::Complete(length) => length,
        httparse::Status::Partial => return Ok(None),
    };
    let status = response.code.unwrap_or(0);
    let mut framing = if status == 204 || status == 304 { Framing::Length(0) } else { Framing::Close };
    let mut keep = response.version == Some(1);
    for header in response.headers.iter() {
        let value = std::str::from_utf8(header.value).unwrap_or("").trim();
        if header.name.eq_ignore_ascii_case("content-length") {
            framing = Framing::Length(value.parse().with_context(|| format!("a Content-Length of '{value}'"))?);
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") && value.eq_ignore_ascii_case("chunked") {
            framing = Framing::Chunked;
        } else if header.name.eq_ignore_ascii_case("connection") && value.eq_ignore_ascii_case("close") {
            keep = false;
        }
    }
    Ok(Some((status, header_len, framing, keep)))
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    /// A server that reads one request per answer and writes the answers given, in order,
    /// closing after the last; returns the requests it read.
    async fn serve(answers: Vec<&'static [u8]>) -> (String, tokio::task::JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut requests = Vec::new();
            for answer in answers {
                let mut request = Vec::new();
                while !request.ends_with(b"\r\n\r\n") {
                    let mut byte = [0u8; 1];
                    socket.read_exact(&mut byte).await.unwrap();
                    request.push(byte[0]);
                }
                requests.push(String::from_utf8(request).unwrap());
                // In two writes, so the client reads the head and the body apart.
                let (head, tail) = answer.split_at(answer.len() / 2);
                socket.write_all(head).await.unwrap();
                socket.flush().await.unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                socket.write_all(tail).await.unwrap();
            }
            requests
        });
        (base, task)
    }

    #[tokio::test]
    async fn answers_by_length_and_by_chunks_come_back_whole_on_one_connection() {
        let (base, server) = serve(vec![
            b"HTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\n{\"ok\":true}",
            b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3;x=1\r\n:1}\r\n0\r\nTrailer: t\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        ])
        .await;
        let endpoint = Endpoint::of(&base, "Zoho-oauthtoken t").unwrap();
        let mut connection = Connection::new(endpoint.clone());
        let request = endpoint.get(&format!("{base}/crm/bulk/v2/write/1?x=y")).unwrap();
        let (status, body) = connection.send(&request).await.unwrap();
        assert_eq!((status, body), (200, &b"{\"ok\":true}"[..]));
        let (status, body) = connection.send(&request).await.unwrap();
        assert_eq!((status, body), (404, &b"{\"a\":1}"[..]));
        let (status, body) = connection.send(&request).await.unwrap();
        assert_eq!((status, body), (200, &b""[..]));
        let requests = server.await.unwrap();
        assert_eq!(requests.len(), 3, "one connection carried every request");
        let host = base.trim_start_matches("http://");
        assert_eq!(
            requests[0],
            format!(
                "GET /crm/bulk/v2/write/1?x=y HTTP/1.1\r\nHost: {host}\r\nAuthorization: Zoho-oauthtoken t\r\n\r\n"
            )
        );
    }

    #[tokio::test]
    async fn a_request_on_a_connection_the_server_closed_while_idle_goes_again_on_a_new_one() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            for answer in [&b"first"[..], &b"second"[..]] {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut request = Vec::new();
                while !request.ends_with(b"\r\n\r\n") {
                    let mut byte = [0u8; 1];
                    socket.read_exact(&mut byte).await.unwrap();
                    request.push(byte[0]);
                }
                let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", answer.len());
                socket.write_all(head.as_bytes()).await.unwrap();
                socket.write_all(answer).await.unwrap();
                // The connection is closed here, kept alive as far as the client knows.
            }
        });
        let endpoint = Endpoint::of(&base, "a").unwrap();
        let mut connection = Connection::new(endpoint.clone());
        let request = endpoint.get(&base).unwrap();
        assert_eq!(connection.send(&request).await.unwrap(), (200, &b"first"[..]));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert_eq!(connection.send(&request).await.unwrap(), (200, &b"second"[..]));
        server.await.unwrap();
    }

    #[tokio::test]
    async fn a_closed_connection_is_an_error_and_the_next_request_opens_another() {
        let (base, server) = serve(vec![b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\ncut short"]).await;
        let endpoint = Endpoint::of(&base, "a").unwrap();
        let mut connection = Connection::new(endpoint.clone());
        let request = endpoint.get(&base).unwrap();
        let error = connection.send(&request).await.unwrap_err();
        assert!(error.to_string().contains("closed"), "{error:#}");
        server.await.unwrap();
        let (base_again, server) = serve(vec![b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nto the end"]).await;
        let mut connection = Connection::new(Endpoint::of(&base_again, "a").unwrap());
        let (status, body) = connection.send(&request).await.unwrap();
        assert_eq!((status, body), (200, &b"to the end"[..]));
        server.await.unwrap();
    }
}
