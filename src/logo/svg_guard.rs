//! The screen every uploaded SVG passes before a renderer sees it.
//!
//! An SVG is a document format that can run scripts, load other documents and amplify itself;
//! a logo needs none of that. This module parses the text with `roxmltree` (no DTD, a node cap)
//! and refuses, with the reason, any SVG that:
//! - has a DTD (entities can hide content and reach outside);
//! - is not an `<svg>` document in the SVG namespace;
//! - contains `<script>`, `<foreignObject>`, SVG Tiny `<handler>`/`<listener>`, or XHTML;
//! - has an event-handler attribute (`on…`) or XML Events attributes;
//! - has an `href` (any namespace) other than a local `#fragment`, or an animation that
//!   changes an `href`;
//! - has `url(…)` pointing anywhere but `#fragment`, CSS `@import`, or CSS escapes (which could
//!   spell either) in a `style` attribute or `<style>` element;
//! - has a processing instruction (`<?xml-stylesheet …?>` loads a stylesheet);
//! - nests deeper than [`MAX_DEPTH`] elements (the renderer recurses per level) or amplifies
//!   itself through `<use>` beyond [`MAX_NODES`] (a `<use>` copies what it names, so chains of
//!   them grow exponentially — the SVG form of "billion laughs"), or uses `<marker>` (copied
//!   once per path vertex).
//!
//! Refusing is cheap and explicit; the decoder also switches every loader off, so a reference
//! this screen missed would still load nothing.

use std::collections::HashMap;

use resvg::usvg::roxmltree::{self, Document, Node, NodeType, ParsingOptions};

use super::LogoError;

/// Deepest element nesting accepted. Real logos nest a handful of groups; usvg converts each
/// level with a recursive call, so unbounded nesting could exhaust a worker's stack.
pub const MAX_DEPTH: usize = 48;
/// Most nodes accepted, counting each `<use>` as the size of what it copies.
pub const MAX_NODES: usize = 20_000;

const SVG_NS: &str = "http://www.w3.org/2000/svg";
const XHTML_NS: &str = "http://www.w3.org/1999/xhtml";
const XML_EVENTS_NS: &str = "http://www.w3.org/2001/xml-events";

fn refuse(reason: impl Into<String>) -> LogoError {
    LogoError::HostileSvg(reason.into())
}

/// Checks `text`; `Ok` means a renderer may parse it.
pub fn check(text: &str) -> Result<(), LogoError> {
    let opts = ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_NODES as u32,
        ..ParsingOptions::default()
    };
    let doc = Document::parse_with_options(text, opts).map_err(|e| match e {
        roxmltree::Error::DtdDetected => refuse("a DTD (<!DOCTYPE …>) is not allowed"),
        roxmltree::Error::NodesLimitReached => refuse(format!("more than {MAX_NODES} nodes")),
        e => LogoError::InvalidSvg(format!("not well-formed XML: {e}")),
    })?;
    let root = doc.root_element();
    if root.tag_name().name() != "svg" || root.tag_name().namespace() != Some(SVG_NS) {
        return Err(LogoError::InvalidSvg(format!(
            "the root element must be <svg xmlns=\"{SVG_NS}\">"
        )));
    }
    check_depth(&doc)?;
    let mut by_id: HashMap<&str, Node<'_, '_>> = HashMap::new();
    for node in doc.descendants() {
        match node.node_type() {
            NodeType::PI => {
                return Err(refuse("processing instructions (<?…?>) are not allowed"));
            }
            NodeType::Element => check_element(node)?,
            _ => {}
        }
        if let Some(id) = node.attribute("id") {
            by_id.entry(id).or_insert(node);
        }
    }
    check_amplification(&doc, &by_id)
}

fn check_depth(doc: &Document<'_>) -> Result<(), LogoError> {
    // Nodes come in document order, so a parent's depth is known before its children's.
    let mut depth = vec![0usize; doc.descendants().count() + 1];
    for node in doc.descendants() {
        let here = node.parent().map_or(0, |p| {
            depth.get(p.id().get_usize()).copied().unwrap_or(0) + 1
        });
        if let Some(d) = depth.get_mut(node.id().get_usize()) {
            *d = here;
        }
        if node.is_element() && here > MAX_DEPTH {
            return Err(refuse(format!(
                "elements nest deeper than {MAX_DEPTH} levels"
            )));
        }
    }
    Ok(())
}

fn check_element(node: Node<'_, '_>) -> Result<(), LogoError> {
    let tag = node.tag_name();
    let name = tag.name();
    if tag.namespace() == Some(XHTML_NS) {
        return Err(refuse(format!("XHTML element <{name}> is not allowed")));
    }
    for banned in ["script", "foreignObject", "handler", "listener", "marker"] {
        if name.eq_ignore_ascii_case(banned) {
            return Err(refuse(format!("<{name}> is not allowed")));
        }
    }
    if name == "style" {
        let css: String = node
            .children()
            .filter_map(|c| c.text())
            .collect::<Vec<_>>()
            .concat();
        check_css(&css, "<style>")?;
    }
    let animates = matches!(
        name,
        "set" | "animate" | "animateMotion" | "animateTransform"
    );
    for attr in node.attributes() {
        let (aname, value) = (attr.name(), attr.value());
        if aname.len() > 2 && aname.as_bytes()[..2].eq_ignore_ascii_case(b"on") {
            return Err(refuse(format!(
                "event handler attribute {aname:?} on <{name}> is not allowed"
            )));
        }
        if attr.namespace() == Some(XML_EVENTS_NS) {
            return Err(refuse(format!(
                "XML Events attribute {aname:?} is not allowed"
            )));
        }
        if aname.eq_ignore_ascii_case("href") && !value.trim_start().starts_with('#') {
            return Err(refuse(format!(
                "<{name}> refers to {:?}: only local #fragment references are allowed",
                shorten(value)
            )));
        }
        if animates && aname == "attributeName" && value.to_ascii_lowercase().ends_with("href") {
            return Err(refuse(format!("<{name}> may not animate {value:?}")));
        }
        if aname == "style" {
            check_css(value, "a style attribute")?;
        } else {
            check_urls(value, &format!("attribute {aname:?}"))?;
        }
    }
    Ok(())
}

/// CSS of a `<style>` element or `style` attribute.
fn check_css(css: &str, place: &str) -> Result<(), LogoError> {
    if css.contains('\\') {
        return Err(refuse(format!("CSS escapes in {place} are not allowed")));
    }
    if css.to_ascii_lowercase().contains("@import") {
        return Err(refuse(format!("@import in {place} is not allowed")));
    }
    check_urls(css, place)
}

/// Every `url(…)` in `value` must point at a `#fragment` of this document.
fn check_urls(value: &str, place: &str) -> Result<(), LogoError> {
    let lower = value.to_ascii_lowercase();
    let mut rest = lower.as_str();
    while let Some(i) = rest.find("url(") {
        let target = rest[i + 4..].trim_start().trim_start_matches(['"', '\'']);
        if !target.starts_with('#') {
            return Err(refuse(format!(
                "url() in {place} points outside the document: only url(#fragment) is allowed"
            )));
        }
        rest = &rest[i + 4..];
    }
    Ok(())
}

/// Bounds what `<use>` copies: each may name only an element without `<use>` inside, and the
/// copies together stay under [`MAX_NODES`].
fn check_amplification(
    doc: &Document<'_>,
    by_id: &HashMap<&str, Node<'_, '_>>,
) -> Result<(), LogoError> {
    let mut total = doc.descendants().count();
    for node in doc
        .descendants()
        .filter(|n| n.has_tag_name((SVG_NS, "use")))
    {
        let Some(href) = node
            .attributes()
            .find(|a| a.name() == "href")
            .map(|a| a.value())
        else {
            continue;
        };
        let Some(target) = by_id.get(href.trim().trim_start_matches('#')) else {
            continue;
        };
        let copied = target.descendants().count();
        if target
            .descendants()
            .any(|n| n.has_tag_name((SVG_NS, "use")))
        {
            return Err(refuse(
                "<use> may not name an element that itself contains <use>",
            ));
        }
        total = total.saturating_add(copied);
        if total > MAX_NODES {
            return Err(refuse(format!(
                "<use> copies grow the document beyond {MAX_NODES} nodes"
            )));
        }
    }
    Ok(())
}

/// At most 60 characters of a value for an error message.
fn shorten(value: &str) -> String {
    value.chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svg(inner: &str) -> String {
        format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="10" height="10">{inner}</svg>"#
        )
    }

    #[test]
    fn plain_drawing_passes() {
        for ok in [
            svg(r##"<rect width="5" height="5" fill="#f00"/>"##),
            svg(
                r##"<defs><linearGradient id="g"/></defs><rect fill="url(#g)" style="fill: url( '#g' )"/>"##,
            ),
            svg(
                r##"<defs><path id="p" d="M0 0h1"/></defs><use href="#p"/><use xlink:href="#p"/>"##,
            ),
            svg(r#"<style>rect { fill: red }</style><metadata><x xmlns="urn:x"/></metadata>"#),
            svg("<!-- comment --><g><g><circle r='2'/></g></g>"),
            // Found by the fuzz target: a non-ASCII attribute name used to panic on slicing.
            svg("<rect o\u{e9}='1' \u{feff}on='2'/>"),
        ] {
            check(&ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
    }

    #[test]
    fn hostile_content_is_refused_with_the_reason() {
        let cases = [
            (svg("<script>alert(1)</script>"), "<script> is not allowed"),
            (svg("<SCRIPT>alert(1)</SCRIPT>"), "<SCRIPT> is not allowed"),
            (
                svg("<foreignObject><p/></foreignObject>"),
                "<foreignObject>",
            ),
            (
                svg(r#"<p xmlns="http://www.w3.org/1999/xhtml"/>"#),
                "XHTML element",
            ),
            (
                svg(r#"<rect onclick="x()"/>"#),
                "event handler attribute \"onclick\"",
            ),
            (svg(r#"<rect ONLOAD="x()"/>"#), "event handler attribute"),
            (svg("<rect on\u{e9}='x()'/>"), "event handler attribute"),
            (
                svg(r#"<rect xmlns:ev="http://www.w3.org/2001/xml-events" ev:event="click"/>"#),
                "XML Events",
            ),
            (
                svg(r#"<image href="https://evil.example/x.png"/>"#),
                "only local #fragment",
            ),
            (
                svg(r#"<image xlink:href="file:///etc/passwd"/>"#),
                "only local #fragment",
            ),
            (
                svg(r#"<image href="data:image/png;base64,AAAA"/>"#),
                "only local #fragment",
            ),
            (
                svg(r#"<a href="javascript:alert(1)"><rect/></a>"#),
                "only local #fragment",
            ),
            (svg(r#"<use href="other.svg#x"/>"#), "only local #fragment"),
            (
                svg(r##"<a href="#x"><set attributeName="href" to="javascript:x"/></a>"##),
                "may not animate",
            ),
            (
                svg(r#"<rect fill="url(https://evil/p.svg#p)"/>"#),
                "url() in attribute",
            ),
            (
                svg(r#"<rect style="fill:url(//evil/p)"/>"#),
                "url() in a style attribute",
            ),
            (svg("<style>@import url(#x);</style>"), "@import in <style>"),
            (
                svg("<style>@IMPORT 'https://x';</style>"),
                "@import in <style>",
            ),
            (svg(r"<style>\40import 'x';</style>"), "CSS escapes"),
            (
                svg("<style>rect { background: url(http://evil/) }</style>"),
                "url() in <style>",
            ),
            (
                format!("<?xml-stylesheet href=\"https://x/s.css\"?>{}", svg("")),
                "processing instructions",
            ),
            (
                format!(
                    "<!DOCTYPE svg [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>{}",
                    svg("&x;")
                ),
                "a DTD",
            ),
            (svg("<marker id='m'/>"), "<marker> is not allowed"),
        ];
        for (text, want) in cases {
            match check(&text) {
                Err(LogoError::HostileSvg(reason)) => {
                    assert!(reason.contains(want), "{text}: {reason:?} lacks {want:?}")
                }
                other => panic!("{text}: expected a refusal, got {other:?}"),
            }
        }
    }

    #[test]
    fn amplification_and_depth_are_bounded() {
        let deep = svg(&format!(
            "{}{}",
            "<g>".repeat(MAX_DEPTH),
            "</g>".repeat(MAX_DEPTH)
        ));
        assert!(matches!(check(&deep), Err(LogoError::HostileSvg(r)) if r.contains("deeper")));
        let ok = svg(&format!(
            "{}{}",
            "<g>".repeat(MAX_DEPTH - 1),
            "</g>".repeat(MAX_DEPTH - 1)
        ));
        check(&ok).expect("at the limit");

        let chain = svg(
            r##"<g id="a"><rect/></g><g id="b"><use href="#a"/><use href="#a"/></g><use href="#b"/>"##,
        );
        assert!(
            matches!(check(&chain), Err(LogoError::HostileSvg(r)) if r.contains("itself contains"))
        );
        let big = format!(
            r#"<g id="a">{}</g>{}"#,
            "<rect/>".repeat(1000),
            r##"<use href="#a"/>"##.repeat(30)
        );
        assert!(matches!(check(&svg(&big)), Err(LogoError::HostileSvg(r)) if r.contains("beyond")));
    }

    #[test]
    fn not_svg_documents_are_invalid_not_hostile() {
        for text in ["<svg>", "<html/>", "<svg/>", "plain text"] {
            assert!(
                matches!(check(text), Err(LogoError::InvalidSvg(_))),
                "{text}"
            );
        }
    }
}
