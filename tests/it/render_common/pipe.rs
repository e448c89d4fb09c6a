//! One decoder process per test binary, fed images over a pipe: the protocol of
//! `zxing_read.py` and `zbar_read.py` (a header line, the luma bytes; one answer line, the
//! content in hex or `-`).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

pub struct PipeReader {
    // Kept so the process lives as long as the pipes; it exits when stdin closes.
    _child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl PipeReader {
    /// Starts `python script`.
    pub fn start(python: &Path, script: &str) -> PipeReader {
        let mut child = Command::new(python)
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {} {script}: {e}", python.display()));
        PipeReader {
            stdin: child.stdin.take().expect("piped stdin"),
            stdout: BufReader::new(child.stdout.take().expect("piped stdout")),
            _child: child,
        }
    }

    /// Sends `header` and the `width` × `height` luma image; the content found, or `None`.
    pub fn read(&mut self, header: &str, width: u32, height: u32, luma: &[u8]) -> Option<Vec<u8>> {
        assert_eq!(
            luma.len(),
            (width * height) as usize,
            "luma is width × height"
        );
        writeln!(self.stdin, "{header}").expect("the reader takes a header");
        self.stdin
            .write_all(luma)
            .expect("the reader takes the pixels");
        self.stdin.flush().expect("reader pipe");
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .expect("the reader answers");
        match line.trim_end() {
            "" => panic!("the reader exited (see its stderr above)"),
            "-" => None,
            hex => Some(from_hex(hex)),
        }
    }
}

fn from_hex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("the reader prints hex"))
        .collect()
}
