//! Render core: QR content + options → image bytes. No HTTP in here.
