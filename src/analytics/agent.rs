//! What a User-Agent says about a scan: a link previewer or crawler (a bot), and the phone's
//! platform. Only the classification is kept, never the string.

use memchr::memmem::Finder;

/// The platform a scan is counted under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    Ios,
    Android,
    Other,
}

impl Platform {
    pub const ALL: [Platform; 3] = [Platform::Ios, Platform::Android, Platform::Other];

    /// The API's and the metrics' name.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Ios => "ios",
            Platform::Android => "android",
            Platform::Other => "other",
        }
    }
}

/// Lower-case markers of link previewers and crawlers: `bot` covers Slackbot, Twitterbot,
/// TelegramBot, Discordbot, Googlebot, bingbot, LinkedInBot, Applebot and most others; the rest
/// are the previewers whose names do not say so.
const BOT_MARKERS: [&str; 9] = [
    "bot",
    "facebookexternalhit",
    "facebookcatalog",
    "whatsapp",
    "crawler",
    "spider",
    "preview",
    "embedly",
    "pinterest",
];
/// Lower-case markers of iOS: Safari and in-app browsers name the device, apps using Apple's
/// networking stack name `CFNetwork`.
const IOS_MARKERS: [&str; 4] = ["iphone", "ipad", "ipod", "cfnetwork"];
const ANDROID_MARKER: &str = "android";
/// Bytes of a User-Agent looked at: every marker sits well within it, and a hostile 8 KB
/// header costs no more than a normal one.
const SCANNED: usize = 384;

/// The markers, searched for with prebuilt finders (built once, in the app state).
#[derive(Debug)]
pub struct Agents {
    bots: Vec<Finder<'static>>,
    ios: Vec<Finder<'static>>,
    android: Finder<'static>,
}

impl Default for Agents {
    fn default() -> Self {
        Agents {
            bots: BOT_MARKERS.iter().map(|m| Finder::new(*m)).collect(),
            ios: IOS_MARKERS.iter().map(|m| Finder::new(*m)).collect(),
            android: Finder::new(ANDROID_MARKER),
        }
    }
}

impl Agents {
    /// `(is a bot, platform)` of a User-Agent (empty when the header is missing).
    pub fn classify(&self, user_agent: &[u8]) -> (bool, Platform) {
        let mut buf = [0u8; SCANNED];
        let n = user_agent.len().min(SCANNED);
        for (d, s) in buf[..n].iter_mut().zip(user_agent) {
            *d = s.to_ascii_lowercase();
        }
        let ua = &buf[..n];
        let bot = self.bots.iter().any(|f| f.find(ua).is_some());
        let platform = if self.android.find(ua).is_some() {
            Platform::Android
        } else if self.ios.iter().any(|f| f.find(ua).is_some()) {
            Platform::Ios
        } else {
            Platform::Other
        };
        (bot, platform)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_previewers_and_crawlers() {
        let agents = Agents::default();
        let cases: &[(&str, bool, Platform)] = &[
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
                false,
                Platform::Ios,
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36",
                false,
                Platform::Android,
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/121.0",
                false,
                Platform::Other,
            ),
            (
                "MobilePay/5.1 CFNetwork/1485 Darwin/23.1.0",
                false,
                Platform::Ios,
            ),
            ("", false, Platform::Other),
            (
                "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
                true,
                Platform::Other,
            ),
            (
                "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
                true,
                Platform::Other,
            ),
            ("WhatsApp/2.23.20.0 A", true, Platform::Other),
            ("WhatsApp/2.23.20.0 i", true, Platform::Other),
            ("Twitterbot/1.0", true, Platform::Other),
            ("TelegramBot (like TwitterBot)", true, Platform::Other),
            (
                "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
                true,
                Platform::Other,
            ),
            (
                "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
                true,
                Platform::Android,
            ),
            (
                "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
                true,
                Platform::Other,
            ),
        ];
        for (ua, bot, platform) in cases {
            assert_eq!(agents.classify(ua.as_bytes()), (*bot, *platform), "{ua}");
        }
        // Past the scanned prefix nothing counts, however long the header.
        let long = format!("{}Googlebot", "x".repeat(8192));
        assert_eq!(agents.classify(long.as_bytes()), (false, Platform::Other));
    }
}
