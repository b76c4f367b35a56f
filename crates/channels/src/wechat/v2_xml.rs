//! The flat XML of WeChat Pay API v2 (micropay, its query and reverse): one `<xml>` element
//! whose children are the parameters, text values in CDATA. Reading refuses anything a flat
//! parameter list cannot be (nesting, a DOCTYPE, entity declarations), so an answer cannot smuggle
//! in external entities.

use quick_xml::events::{BytesCData, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::{Reader, Writer};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("not WeChat Pay v2 XML: {0}")]
    Malformed(String),
}

fn malformed(why: impl Into<String>) -> XmlError {
    XmlError::Malformed(why.into())
}

pub fn to_xml(params: &BTreeMap<String, String>) -> String {
    let mut writer = Writer::new(Vec::new());
    let write = |writer: &mut Writer<Vec<u8>>| -> std::io::Result<()> {
        writer.write_event(Event::Start(BytesStart::new("xml")))?;
        for (name, value) in params {
            writer.write_event(Event::Start(BytesStart::new(name.as_str())))?;
            // CDATA cannot hold its own terminator; such a value goes as escaped text.
            if value.contains("]]>") {
                writer.write_event(Event::Text(BytesText::new(value)))?;
            } else {
                writer.write_event(Event::CData(BytesCData::new(value.as_str())))?;
            }
            writer.write_event(Event::End(BytesEnd::new(name.as_str())))?;
        }
        writer.write_event(Event::End(BytesEnd::new("xml")))
    };
    write(&mut writer).expect("writing to memory does not fail");
    String::from_utf8(writer.into_inner()).expect("written from UTF-8 strings")
}

pub fn from_xml(text: &str) -> Result<BTreeMap<String, String>, XmlError> {
    let mut reader = Reader::from_str(text);
    let mut params = BTreeMap::new();
    let mut depth = 0;
    let mut current: Option<(String, String)> = None;
    loop {
        match reader.read_event().map_err(|e| malformed(e.to_string()))? {
            Event::Start(start) => {
                let name = String::from_utf8(start.name().as_ref().to_vec())
                    .map_err(|_| malformed("a name is not UTF-8"))?;
                depth += 1;
                match depth {
                    1 if name == "xml" => {}
                    1 => return Err(malformed(format!("root <{name}>, not <xml>"))),
                    2 => current = Some((name, String::new())),
                    _ => return Err(malformed("nested elements")),
                }
            }
            Event::End(_) => {
                if depth == 2 {
                    let (name, value) = current.take().expect("an element is open");
                    if params.insert(name.clone(), value).is_some() {
                        return Err(malformed(format!("<{name}> twice")));
                    }
                }
                depth -= 1;
            }
            Event::Empty(start) if depth == 1 => {
                let name = String::from_utf8(start.name().as_ref().to_vec())
                    .map_err(|_| malformed("a name is not UTF-8"))?;
                params.insert(name, String::new());
            }
            Event::Text(text) => {
                let value = text.unescape().map_err(|e| malformed(e.to_string()))?;
                match current.as_mut() {
                    Some((_, buffer)) => buffer.push_str(&value),
                    None if value.trim().is_empty() => {}
                    None => return Err(malformed("text outside a parameter")),
                }
            }
            Event::CData(data) => {
                let value = std::str::from_utf8(&data).map_err(|_| malformed("not UTF-8"))?;
                match current.as_mut() {
                    Some((_, buffer)) => buffer.push_str(value),
                    None => return Err(malformed("CDATA outside a parameter")),
                }
            }
            Event::DocType(_) => return Err(malformed("a DOCTYPE")),
            Event::Eof if depth == 0 && !params.is_empty() => return Ok(params),
            Event::Eof => return Err(malformed("incomplete")),
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::Empty(_) => return Err(malformed("an empty root")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parameters_round_trip_through_cdata_whatever_they_hold() {
        let original = params(&[
            ("appid", "wx2421b1c4370ec43b"),
            ("body", "green tea <and> & \"cakes\""),
            ("attach", "a]]>b]]>c"),
            ("total_fee", "1"),
        ]);
        let xml = to_xml(&original);
        assert!(xml.starts_with("<xml><appid><![CDATA[wx2421b1c4370ec43b]]></appid>"));
        assert_eq!(from_xml(&xml).unwrap(), original);
    }

    #[test]
    fn an_answer_in_plain_text_or_cdata_reads_the_same() {
        let xml = "<xml>\n<return_code><![CDATA[SUCCESS]]></return_code>\n\
                   <result_code>FAIL</result_code>\n<err_code>USERPAYING</err_code>\n</xml>";
        assert_eq!(
            from_xml(xml).unwrap(),
            params(&[
                ("err_code", "USERPAYING"),
                ("result_code", "FAIL"),
                ("return_code", "SUCCESS"),
            ])
        );
    }

    #[test]
    fn anything_but_flat_parameters_is_refused() {
        for bad in [
            "<!DOCTYPE xml [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><xml><a>&x;</a></xml>",
            "<xml><a><b>1</b></a></xml>",
            "<root><a>1</a></root>",
            "<xml><a>1</a><a>2</a></xml>",
            "<xml><a>1</a>",
            "",
        ] {
            assert!(from_xml(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
