//! Scan analytics over the real server: scans from phones, previewers and `HEAD`s counted by
//! platform and visitor, the scans API in JSON and as a rendered SVG chart, its errors, and the
//! flush's durability (SIGTERM, `kill -9`, two instances on one PostgreSQL adding up).

mod api;
mod durability;

/// User-Agents of real scanners.
pub const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";
pub const ANDROID: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36";
pub const DESKTOP: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0";
pub const SLACKBOT: &str = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)";
pub const WHATSAPP: &str = "WhatsApp/2.23.20.0 A";
