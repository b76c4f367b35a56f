//! `Untrusted`: how text that came from outside is written into a log line.
//!
//! A JSON key, a header or an error message quoting either can hold a newline (forging a log
//! line of its own), an ESC (repainting a terminal), or a bidirectional override (reordering what
//! a reader sees). Wrapped in `Untrusted`, such text is written with those characters escaped
//! (`\n`, `\u{1b}`, `\u{202e}`) and backslashes doubled, so an escape sequence cannot be faked
//! either; every other character, Chinese included, is written as it is.

use std::fmt::{self, Write};

/// Displays the wrapped value with control and invisible formatting characters escaped.
pub struct Untrusted<T>(pub T);

impl<T: fmt::Display> fmt::Display for Untrusted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(Escaper(f), "{}", self.0)
    }
}

impl<T: fmt::Display> fmt::Debug for Untrusted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

struct Escaper<'a, 'b>(&'a mut fmt::Formatter<'b>);

impl Write for Escaper<'_, '_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        for c in text.chars() {
            if c == '\\' {
                self.0.write_str("\\\\")?;
            } else if c.is_control() {
                write!(self.0, "{}", c.escape_debug())?;
            } else if reorders_or_breaks_lines(c) {
                write!(self.0, "{}", c.escape_unicode())?;
            } else {
                self.0.write_char(c)?;
            }
        }
        Ok(())
    }
}

/// Characters that are not control characters yet change how a line reads: line and paragraph
/// separators, and the bidirectional marks, embeddings, overrides and isolates.
fn reorders_or_breaks_lines(c: char) -> bool {
    matches!(
        c,
        '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{061c}'
    ) || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn shown(text: &str) -> String {
        Untrusted(text).to_string()
    }

    #[test]
    fn a_forged_log_line_stays_on_one_line() {
        assert_eq!(
            shown("key\n2026-01-01T00:00:00Z  INFO admin logged in"),
            "key\\n2026-01-01T00:00:00Z  INFO admin logged in"
        );
        assert_eq!(shown("a\r\tb"), "a\\r\\tb");
    }

    #[test]
    fn terminal_escapes_and_bidi_overrides_are_escaped() {
        assert_eq!(shown("\u{1b}[31mred"), "\\u{1b}[31mred");
        assert_eq!(shown("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(shown("\u{2028}"), "\\u{2028}");
    }

    #[test]
    fn backslashes_are_doubled_so_an_escape_cannot_be_faked() {
        assert_eq!(shown("a\\nb"), "a\\\\nb");
    }

    #[test]
    fn ordinary_text_is_unchanged() {
        assert_eq!(
            shown("绿茶 green tea: 'ok' \"fine\""),
            "绿茶 green tea: 'ok' \"fine\""
        );
    }

    proptest! {
        #[test]
        fn no_control_character_survives(text in any::<String>()) {
            let out = shown(&text);
            prop_assert!(!out.chars().any(|c| c.is_control() || reorders_or_breaks_lines(c)), "{:?}", out);
        }
    }
}
