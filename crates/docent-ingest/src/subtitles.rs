//! WebVTT and SRT subtitles: cues become text with their timestamps kept as metadata.
//! Consecutive cues are grouped into passages of about a minute, so a chunk covers a
//! stretch of the video and knows where it starts and ends.

use crate::{Extracted, IngestError, Section};

/// Longest stretch of video one passage covers.
const PASSAGE_MS: u64 = 60_000;

struct Cue {
    start: u64,
    end: u64,
    text: String,
}

pub fn extract(text: &str) -> Result<Extracted, IngestError> {
    let cues = parse(text);
    if cues.is_empty() {
        return Err(IngestError::NoText);
    }
    let mut sections: Vec<Section> = Vec::new();
    for cue in cues {
        match sections.last_mut() {
            Some(last) if cue.end.saturating_sub(last.start_ms.unwrap_or(0)) <= PASSAGE_MS => {
                // Captions often repeat the previous line while it scrolls.
                if !last.text.ends_with(&cue.text) {
                    last.text.push(' ');
                    last.text.push_str(&cue.text);
                }
                last.end_ms = Some(cue.end);
            }
            _ => sections.push(Section {
                text: cue.text,
                start_ms: Some(cue.start),
                end_ms: Some(cue.end),
                ..Section::default()
            }),
        }
    }
    Ok(Extracted {
        sections,
        ..Extracted::default()
    })
}

fn parse(text: &str) -> Vec<Cue> {
    let mut cues = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let Some((start, end)) = line.split_once("-->") else {
            continue;
        };
        let (Some(start), Some(end)) = (
            timestamp(start),
            timestamp(end.split_whitespace().next().unwrap_or("")),
        ) else {
            continue;
        };
        let mut words = Vec::new();
        while let Some(next) = lines.peek() {
            if next.trim().is_empty() {
                break;
            }
            words.push(strip_tags(next.trim()));
            lines.next();
        }
        let text = words.join(" ").trim().to_owned();
        if !text.is_empty() {
            cues.push(Cue { start, end, text });
        }
    }
    cues
}

/// `hh:mm:ss.mmm`, `mm:ss.mmm` or SRT's `hh:mm:ss,mmm`, in milliseconds.
fn timestamp(raw: &str) -> Option<u64> {
    let raw = raw.trim().replace(',', ".");
    let (clock, millis) = raw.split_once('.').unwrap_or((&raw, "0"));
    let millis: u64 = format!("{millis:0<3}")[..3].parse().ok()?;
    let parts: Vec<u64> = clock
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let seconds = match parts.as_slice() {
        [h, m, s] => h * 3600 + m * 60 + s,
        [m, s] => m * 60 + s,
        _ => return None,
    };
    Some(seconds * 1000 + millis)
}

/// Drops `<v Speaker>`, `<i>` and similar cue markup.
fn strip_tags(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut in_tag = false;
    for c in line.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vtt_and_srt_cues_keep_their_times() {
        let vtt = "WEBVTT\n\n00:00:01.000 --> 00:00:04.500\n<v Ana>Hello <i>there</i>\n\n00:01:30.000 --> 00:01:32.000\nLater on\n";
        let doc = extract(vtt).expect("vtt");
        assert_eq!(doc.sections.len(), 2);
        assert_eq!(doc.sections[0].text, "Hello there");
        assert_eq!(
            (doc.sections[0].start_ms, doc.sections[0].end_ms),
            (Some(1000), Some(4500))
        );
        assert_eq!(doc.sections[1].start_ms, Some(90_000));
        let srt =
            "1\n00:00:01,000 --> 00:00:02,000\nOne\n\n2\n00:00:02,500 --> 00:00:03,000\nTwo\n";
        let doc = extract(srt).expect("srt");
        assert_eq!(doc.sections[0].text, "One Two");
        assert!(extract("WEBVTT\n\nnothing").is_err());
    }
}
