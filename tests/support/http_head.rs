//! Reading one HTTP/1.1 request on a test server's connection: its head (request line and
//! headers, as sent) and its body (Content-Length bytes).

use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;

/// The request's head and body; an empty head when the client sent nothing.
pub fn read_request(stream: &TcpStream) -> (String, Vec<u8>) {
    let Ok(clone) = stream.try_clone() else {
        return (String::new(), Vec::new());
    };
    let mut reader = BufReader::new(clone);
    let mut head = String::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        head.push_str(&line);
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    (head, body)
}
