//! What a person checks when they look at a portal page in a real browser, as assertions: a
//! screenshot of the whole page at a phone's width (390 px) and a desktop's (1280 px), no
//! sideways scrolling, text of 16 px or more and touch targets of 44 px on the phone, the
//! header lined up with the content on the desktop, no raw JSON in the page's text, and a
//! focus ring on every control that a keyboard reaches, contrasting at least 3:1 with what is
//! around it (computed here from the browser's computed styles, WCAG's formula).

use serde_json::{Value, json};

use crate::browser::Browser;

pub const PHONE: u32 = 390;
pub const DESKTOP: u32 = 1280;

/// The folder screenshots go to: `target/screenshots/`.
pub fn screenshot_folder() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join("screenshots")
}

/// Looks at the page open in `browser` as `name` (`centre-landing`): screenshots at both
/// widths (`centre-landing-1280.png`, `centre-landing-390.png`) and every check of this
/// module. Leaves the window at the phone's width. Returns the kinds of control the keyboard
/// reached (`a`, `button`, `input:text`, `input:radio`, `textarea`, ...; none on a page of
/// text only), for the caller to check that the page's controls were all looked at.
pub async fn look(browser: &Browser, name: &str) -> Vec<String> {
    let text = browser.text().await;
    if let Some(json) = json_in(&text) {
        panic!("{name} shows raw JSON: {json}\n{text}");
    }

    browser
        .screenshot_at(&format!("{name}-{DESKTOP}"), DESKTOP)
        .await;
    no_sideways_scroll(browser, name, DESKTOP).await;
    header_lines_up(browser, name).await;

    browser
        .screenshot_at(&format!("{name}-{PHONE}"), PHONE)
        .await;
    no_sideways_scroll(browser, name, PHONE).await;
    readable_on_a_phone(browser, name).await;
    focus_rings(browser, name).await
}

async fn no_sideways_scroll(browser: &Browser, name: &str, width: u32) {
    let sizes = browser
        .script(
            "return [document.scrollingElement.scrollWidth, window.innerWidth]",
            json!([]),
        )
        .await;
    let (scroll, inner) = (sizes[0].as_u64().unwrap(), sizes[1].as_u64().unwrap());
    assert_eq!(
        inner,
        u64::from(width),
        "{name}: the viewport is {inner} px"
    );
    assert!(
        scroll <= inner,
        "{name} scrolls sideways at {width} px: {scroll} px wide"
    );
}

/// On the desktop the header's text starts where the content's does.
async fn header_lines_up(browser: &Browser, name: &str) {
    let edges = browser
        .script(
            "const brand = document.querySelector('header .brand').getBoundingClientRect();
             const main = document.querySelector('main');
             const first = main.firstElementChild.getBoundingClientRect();
             return [brand.left, first.left, main.getBoundingClientRect().width];",
            json!([]),
        )
        .await;
    let (brand, content, width) = (
        edges[0].as_f64().unwrap(),
        edges[1].as_f64().unwrap(),
        edges[2].as_f64().unwrap(),
    );
    assert!(
        (brand - content).abs() < 1.0,
        "{name}: the header starts at {brand} px, the content at {content} px"
    );
    assert!(
        width < f64::from(DESKTOP) * 0.8 && brand > 100.0,
        "{name}: the content is not centred at a readable width ({width} px from {brand} px)"
    );
}

/// At 390 px: no visible text under 16 px, and every button, text box and choice at least
/// 44 px tall.
async fn readable_on_a_phone(browser: &Browser, name: &str) {
    let found = browser
        .script(
            "const small = [];
             for (const e of document.body.querySelectorAll('*')) {
               const own = [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
               const r = e.getBoundingClientRect();
               if (!own || r.width < 2 || r.height < 2) continue;
               const size = parseFloat(getComputedStyle(e).fontSize);
               if (size < 16) small.push(e.tagName + ' ' + size + 'px: ' + e.textContent.trim().slice(0, 40));
             }
             const tiny = [];
             for (const e of document.querySelectorAll(
                 'button, .button, input[type=text], textarea, select, label.choice, nav.tabs a, .back')) {
               const h = e.getBoundingClientRect().height;
               if (h < 44) tiny.push(e.tagName + ' ' + h + 'px: ' + (e.textContent || e.name).trim().slice(0, 40));
             }
             return [small, tiny];",
            json!([]),
        )
        .await;
    assert_eq!(found[0], json!([]), "{name}: text under 16 px at 390 px");
    assert_eq!(found[1], json!([]), "{name}: touch targets under 44 px");
}

/// Tabs through the page from the top, as a keyboard user does, and checks each control's
/// focus ring: shown (`:focus-visible`), at least 2 px, its colour at least 3:1 against what
/// is around the control, and (itself or the halo between it and the control) 3:1 against the
/// control.
async fn focus_rings(browser: &Browser, name: &str) -> Vec<String> {
    // Start from the top of the document, as on arrival.
    browser
        .script(
            "if (document.activeElement) document.activeElement.blur(); window.scrollTo(0, 0);",
            json!([]),
        )
        .await;
    let mut seen: Vec<String> = Vec::new();
    let mut kinds: Vec<String> = Vec::new();
    for _ in 0..60 {
        browser.press_tab().await;
        let focused = browser.script(FOCUSED, json!([])).await;
        if focused.is_null() {
            break;
        }
        let key = focused["key"].as_str().unwrap_or_default().to_owned();
        if seen.contains(&key) {
            break;
        }
        seen.push(key.clone());
        let kind = focused["kind"].as_str().unwrap_or_default().to_owned();
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
        assert_eq!(
            focused["visible"], true,
            "{name}: {key} has no :focus-visible"
        );
        let width = focused["outline_width"].as_f64().unwrap_or(0.0);
        assert!(
            focused["outline_style"] != "none" && width >= 2.0,
            "{name}: {key} has no focus outline: {focused}"
        );
        let ring = colour(&focused["outline_color"]);
        let around = colour(&focused["around"]);
        let own = colour(&focused["own"]).unwrap_or(around.unwrap_or(WHITE));
        let halo = focused["box_shadow"].as_str().and_then(first_colour);
        let (ring, around) = (ring.expect("an outline colour"), around.unwrap_or(WHITE));
        let against_page = contrast(ring, around);
        assert!(
            against_page >= 3.0,
            "{name}: {key}'s focus ring is {against_page:.2}:1 against the page: {focused}"
        );
        let against_control = contrast(ring, own).max(halo.map_or(0.0, |h| contrast(h, own)));
        assert!(
            against_control >= 3.0,
            "{name}: {key}'s focus ring is {against_control:.2}:1 against the control: {focused}"
        );
    }
    kinds
}

/// The focused element, or null when focus has left the page's controls.
const FOCUSED: &str = "
    const e = document.activeElement;
    if (!e || e === document.body || e === document.documentElement) return null;
    const cs = getComputedStyle(e);
    const clear = c => c === 'transparent' || /^rgba\\(.*,\\s*0\\)$/.test(c);
    let around = 'rgb(255, 255, 255)';
    for (let p = e.parentElement; p; p = p.parentElement) {
      const b = getComputedStyle(p).backgroundColor;
      if (!clear(b)) { around = b; break; }
    }
    const kind = e.tagName.toLowerCase() + (e.tagName === 'INPUT' ? ':' + e.type : '');
    return {
      key: kind + '#' + (e.id || e.name || '') + ' ' + (e.getAttribute('href') || e.value || e.textContent || '').trim().slice(0, 40),
      kind,
      visible: e.matches(':focus-visible'),
      outline_style: cs.outlineStyle,
      outline_width: parseFloat(cs.outlineWidth),
      outline_color: cs.outlineColor,
      box_shadow: cs.boxShadow,
      own: clear(cs.backgroundColor) ? null : cs.backgroundColor,
      around,
    };";

pub type Rgb = (u8, u8, u8);
const WHITE: Rgb = (255, 255, 255);

/// A computed colour (`rgb(11, 12, 12)` or `rgba(…, 1)`).
fn colour(value: &Value) -> Option<Rgb> {
    value.as_str().and_then(first_colour)
}

/// The first `rgb(...)`/`rgba(...)` in a computed style (a box-shadow names its colour first).
pub fn first_colour(style: &str) -> Option<Rgb> {
    let start = style.find("rgb")?;
    let open = start + style[start..].find('(')? + 1;
    let close = open + style[open..].find(')')?;
    let parts: Vec<f64> = style[open..close]
        .split([',', ' ', '/'])
        .filter(|p| !p.is_empty())
        .map(|p| p.trim().parse().ok())
        .collect::<Option<_>>()?;
    match parts.as_slice() {
        [r, g, b] => Some((*r as u8, *g as u8, *b as u8)),
        [r, g, b, a] if *a > 0.0 => Some((*r as u8, *g as u8, *b as u8)),
        _ => None,
    }
}

/// The account portal's components as its pages will use them (`nav.tabs`, `dl.summary`,
/// `table.list` with `data-label`s, `span.status` of each kind, `.button` and
/// `.button-secondary`), to put into a page of the portal and look at before those pages exist.
pub const COMPONENTS: &str = r#"
<nav class="tabs" aria-label="Your account"><ul>
  <li><a href="/account" aria-current="page">Account</a></li>
  <li><a href="/account/invoices">Invoices</a></li>
  <li><a href="/account/statements">Statements</a></li>
  <li><a href="/account/messages">Messages</a></li>
</ul></nav>
<h1>Kauri Holdings Limited</h1>
<dl class="summary">
  <div><dt>Owed</dt><dd><span class="money">NZD 12,480.50</span></dd></div>
  <div><dt>Overdue</dt><dd><span class="money">NZD 2,300.00</span></dd></div>
  <div><dt>Next due</dt><dd>18 December 2026</dd></div>
</dl>
<table class="list">
  <caption>Invoices</caption>
  <thead><tr><th scope="col">Invoice</th><th scope="col">Due</th><th scope="col" class="amount">Amount</th><th scope="col" class="amount">Balance</th><th scope="col">Status</th></tr></thead>
  <tbody>
    <tr><td data-label="Invoice"><a href="/account/invoices/1">INV-1001</a></td><td data-label="Due">4 December 2026</td><td data-label="Amount" class="amount"><span class="money">NZD 2,300.00</span></td><td data-label="Balance" class="amount"><span class="money">NZD 2,300.00</span></td><td data-label="Status"><span class="status status-overdue">Overdue</span></td></tr>
    <tr><td data-label="Invoice"><a href="/account/invoices/2">INV-1002</a></td><td data-label="Due">18 December 2026</td><td data-label="Amount" class="amount"><span class="money">NZD 10,180.50</span></td><td data-label="Balance" class="amount"><span class="money">NZD 10,180.50</span></td><td data-label="Status"><span class="status status-open">Open</span></td></tr>
    <tr><td data-label="Invoice"><a href="/account/invoices/3">INV-0998</a></td><td data-label="Due">20 November 2026</td><td data-label="Amount" class="amount"><span class="money">NZD 640.00</span></td><td data-label="Balance" class="amount"><span class="money">NZD 0.00</span></td><td data-label="Status"><span class="status status-disputed">Disputed</span></td></tr>
    <tr><td data-label="Invoice"><a href="/account/invoices/4">INV-0990</a></td><td data-label="Due">1 November 2026</td><td data-label="Amount" class="amount"><span class="money">NZD 1,250.00</span></td><td data-label="Balance" class="amount"><span class="money">NZD 0.00</span></td><td data-label="Status"><span class="status status-paid">Paid</span></td></tr>
  </tbody>
</table>
<div class="actions"><a class="button" href="/account/invoices/1/pay">Pay now</a><a class="button button-secondary" href="/account/invoices/1/dispute">Dispute</a></div>
"#;

/// Checks the components of [`COMPONENTS`] once they are in the page: each status's text
/// 4.5:1 against its own background; on a phone each table row a card whose cells are named by
/// their `data-label`, on a desktop a table with its header row; in print no navigation or
/// buttons, black text, rows kept whole.
pub async fn components(browser: &Browser) {
    let statuses = browser
        .script(
            "return [...document.querySelectorAll('.status')].map(e => {
               const cs = getComputedStyle(e);
               return [e.className, e.innerText.trim(), cs.color, cs.backgroundColor];
             })",
            json!([]),
        )
        .await;
    for status in statuses.as_array().unwrap() {
        let text = first_colour(status[2].as_str().unwrap()).unwrap();
        let background = first_colour(status[3].as_str().unwrap()).unwrap_or(WHITE);
        let ratio = contrast(text, background);
        assert!(ratio >= 4.5, "{status} is {ratio:.2}:1");
        assert!(
            !status[1].as_str().unwrap().is_empty(),
            "{status} has a word"
        );
    }
    assert_eq!(statuses.as_array().unwrap().len(), 4);

    let layout = "const td = document.querySelector('table.list td[data-label=\"Due\"]');
         const row = td.parentElement;
         return [getComputedStyle(td, '::before').content, getComputedStyle(row).display,
                 getComputedStyle(document.querySelector('table.list thead')).position];";
    browser.resize(PHONE, 900).await;
    let phone = browser.script(layout, json!([])).await;
    assert_eq!(
        phone,
        json!(["\"Due\"", "block", "absolute"]),
        "a card on a phone"
    );
    browser.resize(DESKTOP, 900).await;
    let desktop = browser.script(layout, json!([])).await;
    assert_eq!(
        desktop,
        json!(["none", "table-row", "static"]),
        "a table on a desktop"
    );

    browser.print_media(true).await;
    let print = browser
        .script(
            "const shown = s => [...document.querySelectorAll(s)].some(e => getComputedStyle(e).display !== 'none');
             const row = document.querySelector('table.list tbody tr');
             return {
               nav: shown('nav'), buttons: shown('button, .button'), sign_out: shown('header form'),
               colour: getComputedStyle(document.body).color,
               background: getComputedStyle(document.body).backgroundColor,
               row: getComputedStyle(row).breakInside,
             };",
            json!([]),
        )
        .await;
    browser.print_media(false).await;
    assert_eq!(
        print,
        json!({"nav": false, "buttons": false, "sign_out": false, "colour": "rgb(0, 0, 0)",
               "background": "rgb(255, 255, 255)", "row": "avoid"}),
        "printed"
    );
}

/// WCAG 2's contrast ratio of two colours, 1 to 21.
pub fn contrast(a: Rgb, b: Rgb) -> f64 {
    fn luminance((r, g, b): Rgb) -> f64 {
        let channel = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    }
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// The first JSON object or array in `text`, if any part of it parses as one.
pub fn json_in(text: &str) -> Option<String> {
    for (i, c) in text.char_indices() {
        if c != '{' && c != '[' {
            continue;
        }
        let mut values = serde_json::Deserializer::from_str(&text[i..]).into_iter::<Value>();
        if let Some(Ok(value)) = values.next()
            && (value.is_object() || value.is_array())
        {
            return Some(value.to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contrast_follows_wcag() {
        assert!((contrast((0, 0, 0), WHITE) - 21.0).abs() < 0.01);
        assert!((contrast(WHITE, WHITE) - 1.0).abs() < 0.01);
        // The old focus ring: #ffbf47 on white.
        assert!(contrast((0xff, 0xbf, 0x47), WHITE) < 1.7);
        assert_eq!(
            first_colour("rgb(255, 221, 0) 0px 0px 0px 3px"),
            Some((255, 221, 0))
        );
        assert_eq!(first_colour("rgba(0, 0, 0, 0)"), None);
        assert_eq!(first_colour("none"), None);
    }

    #[test]
    fn json_is_found_anywhere_in_text() {
        assert!(json_in("Dealer: {\"name\": \"Harbour\"}").is_some());
        assert!(json_in("Tags [1, 2]").is_some());
        assert!(json_in("Name (optional) [see notes] {braces}").is_none());
        assert!(json_in("Plain text, 1,250.00").is_none());
    }
}
