//! PDF through PDFium (Chrome's PDF engine), loaded at run time from `libpdfium.so`.
//!
//! Where the library is looked for, in order: the path given to [`configure`], the
//! `DOCENT_PDFIUM_PATH` environment variable (the file or its directory), beside the
//! running executable, and the current directory.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Mutex, OnceLock};

use pdfium_render::prelude::*;

use crate::{Extracted, IngestError, Section};

/// A rectangle larger than any page (PDF user space is at most 14,400 units across).
const EVERYWHERE: PdfRect = PdfRect::new_from_values(-1.0e6, -1.0e6, 1.0e6, 1.0e6);

static CONFIGURED: Mutex<Option<PathBuf>> = Mutex::new(None);

/// A request to the thread that owns PDFium: the bytes and where to send the result.
type Job = (Vec<u8>, SyncSender<Result<Extracted, IngestError>>);

/// PDFium is neither `Send` nor thread-safe, so one thread owns it and extracts for all.
static ENGINE: OnceLock<Result<SyncSender<Job>, String>> = OnceLock::new();

/// Adds a place to look for `libpdfium.so` (a file or a directory), tried first.
pub fn configure(path: Option<PathBuf>) {
    *CONFIGURED.lock().unwrap_or_else(|p| p.into_inner()) = path;
}

fn candidates() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(p) = CONFIGURED.lock().unwrap_or_else(|p| p.into_inner()).clone() {
        out.push(p);
    }
    if let Some(p) = std::env::var_os("DOCENT_PDFIUM_PATH") {
        out.push(PathBuf::from(p));
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        out.push(dir);
    }
    out.push(PathBuf::from("."));
    out
}

fn bind() -> Result<Pdfium, String> {
    let mut tried = Vec::new();
    for candidate in candidates() {
        let file = if candidate.is_dir() {
            Pdfium::pdfium_platform_library_name_at_path(&candidate)
        } else {
            candidate
        };
        if !file.exists() {
            tried.push(file.display().to_string());
            continue;
        }
        match Pdfium::bind_to_library(&file) {
            Ok(bindings) => return Ok(Pdfium::new(bindings)),
            Err(e) => tried.push(format!("{} ({e})", file.display())),
        }
    }
    Err(format!(
        "libpdfium.so was not found (looked in: {}); set DOCENT_PDFIUM_PATH",
        tried.join(", ")
    ))
}

fn engine() -> Result<&'static SyncSender<Job>, IngestError> {
    ENGINE
        .get_or_init(|| {
            let (ready_tx, ready_rx) = sync_channel::<Result<(), String>>(1);
            let (tx, rx) = sync_channel::<Job>(64);
            std::thread::Builder::new()
                .name("pdfium".into())
                .spawn(move || {
                    let pdfium = match bind() {
                        Ok(p) => {
                            let _ = ready_tx.send(Ok(()));
                            p
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    for (bytes, reply) in rx {
                        let _ = reply.send(extract_with(&pdfium, &bytes));
                    }
                })
                .map_err(|e| format!("starting the PDF thread: {e}"))?;
            ready_rx
                .recv()
                .map_err(|_| "the PDF thread stopped".to_owned())??;
            Ok(tx)
        })
        .as_ref()
        .map_err(|e| IngestError::PdfEngineMissing(e.clone()))
}

/// Whether PDFium could be loaded.
pub fn available() -> bool {
    engine().is_ok()
}

/// Reads a PDF with PDFium, or with the pure-Rust fallback when PDFium is not installed.
/// A file that declares encryption and cannot be read (no pages, no text, a decryption
/// failure either engine calls something else) is [`IngestError::EncryptedPdf`]; one
/// encrypted with an empty user password (permissions only) is read as any other.
pub fn extract(bytes: &[u8]) -> Result<Extracted, IngestError> {
    judged(bytes, read(bytes))
}

fn judged(bytes: &[u8], result: Result<Extracted, IngestError>) -> Result<Extracted, IngestError> {
    match result {
        Err(IngestError::Corrupt(_) | IngestError::NoText) if declares_encryption(bytes) => {
            Err(IngestError::EncryptedPdf)
        }
        other => other,
    }
}

/// Whether the file has an `/Encrypt` entry: in its trailer, or in the dictionary of a
/// cross-reference stream, which is never compressed or encrypted itself.
fn declares_encryption(bytes: &[u8]) -> bool {
    memchr::memmem::find_iter(bytes, b"/Encrypt").any(|at| {
        bytes
            .get(at + 8)
            .is_none_or(|next| !next.is_ascii_alphanumeric())
    })
}

fn read(bytes: &[u8]) -> Result<Extracted, IngestError> {
    let engine = match engine() {
        Ok(engine) => engine,
        Err(_) => return extract_fallback(bytes),
    };
    let (reply, result) = sync_channel(1);
    engine
        .send((bytes.to_vec(), reply))
        .map_err(|_| IngestError::PdfEngineMissing("the PDF thread stopped".into()))?;
    result
        .recv()
        .map_err(|_| IngestError::Corrupt("the PDF engine failed on this file".into()))?
}

fn extract_with(pdfium: &Pdfium, bytes: &[u8]) -> Result<Extracted, IngestError> {
    let document = pdfium
        .load_pdf_from_byte_slice(bytes, None)
        .map_err(|e| match e {
            PdfiumError::PdfiumLibraryInternalError(PdfiumInternalError::PasswordError) => {
                IngestError::EncryptedPdf
            }
            other => IngestError::Corrupt(other.to_string()),
        })?;
    let metadata = document.metadata();
    let tag = |kind| {
        metadata
            .get(kind)
            .map(|t| t.value().trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let title = tag(PdfDocumentMetadataTagType::Title);
    let author = tag(PdfDocumentMetadataTagType::Author);
    let pages = document.pages();
    let page_count = u32::from(pages.len());
    let mut sections = Vec::with_capacity(usize::from(pages.len()));
    for (index, mut page) in pages.iter().enumerate() {
        // Form fields and annotations hold text too (filled-in forms, certificates):
        // flattening draws them into the page so the text layer has them.
        if !page.annotations().is_empty() {
            let _ = page.flatten();
        }
        // Every character of the page. (`PdfPageText::all` keeps those inside the page's
        // size, which cuts off the right part of rotated pages and text drawn past the
        // edges that viewers and pdftotext still show.)
        let text = match page.text() {
            Ok(text) => text.inside_rect(EVERYWHERE),
            Err(_) => continue,
        };
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        if text.trim().is_empty() {
            continue;
        }
        sections.push(Section {
            text: text.trim_end().to_owned(),
            page: Some(index as u32 + 1),
            ..Section::default()
        });
    }
    if sections.is_empty() {
        return Err(if page_count == 0 {
            IngestError::Corrupt("the PDF has no pages".into())
        } else {
            IngestError::NoText
        });
    }
    Ok(Extracted {
        title,
        author,
        page_count: Some(page_count),
        sections,
        ..Extracted::default()
    })
}

/// Pure-Rust reading for machines without PDFium: pdf-extract, then lopdf's own text for
/// pages pdf-extract reads as empty. Lower quality than PDFium (spaces go missing in some
/// fonts), and both libraries panic on some real files: panics are caught here, and the
/// child process this runs in bounds memory and time.
fn extract_fallback(bytes: &[u8]) -> Result<Extracted, IngestError> {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    let doc = catch_unwind(AssertUnwindSafe(|| pdf_extract::Document::load_mem(bytes)))
        .map_err(|_| IngestError::Corrupt("the PDF reader gave up on this file".into()))?
        .map_err(|e| IngestError::Corrupt(e.to_string()))?;
    if doc.is_encrypted() {
        return Err(IngestError::EncryptedPdf);
    }
    let page_count = doc.get_pages().len() as u32;
    if page_count == 0 {
        return Err(IngestError::Corrupt("the PDF has no pages".into()));
    }
    let mut pages: Vec<String> = catch_unwind(AssertUnwindSafe(|| {
        let mut output = FallbackText::default();
        pdf_extract::output_doc(&doc, &mut output).map(|()| output.pages)
    }))
    .ok()
    .and_then(Result::ok)
    .unwrap_or_default();
    pages.resize(page_count as usize, String::new());
    for (index, text) in pages.iter_mut().enumerate() {
        if text.trim().is_empty() {
            let number = index as u32 + 1;
            *text = catch_unwind(AssertUnwindSafe(|| doc.extract_text(&[number])))
                .ok()
                .and_then(Result::ok)
                .unwrap_or_default();
        }
    }
    let sections: Vec<Section> = pages
        .into_iter()
        .enumerate()
        .filter(|(_, text)| !text.trim().is_empty())
        .map(|(index, text)| Section {
            text: text.trim_end().to_owned(),
            page: Some(index as u32 + 1),
            ..Section::default()
        })
        .collect();
    if sections.is_empty() {
        return Err(IngestError::NoText);
    }
    Ok(Extracted {
        page_count: Some(page_count),
        sections,
        ..Extracted::default()
    })
}

/// Plain text from pdf-extract's glyph stream, with our own word breaks. pdf-extract's own
/// output puts a space wherever a glyph starts more than a tenth of the font size after the
/// previous one ends; but for glyphs whose width it cannot find it reports 0, so every such
/// glyph was followed by a space ("NVID IA", "In vesto rs a n d o thers" in SEC filings).
/// Here a glyph of unknown width is taken to be as wide as the glyphs of known width read so
/// far are on average, and the gap after it must be wider before it counts as a space.
struct FallbackText {
    pages: Vec<String>,
    text: String,
    flip: pdf_extract::Transform,
    /// Where the previous glyph ends (estimated when its width was unknown) and its line.
    last_end: f64,
    last_y: f64,
    last_known: bool,
    /// Sum and count of the known glyph widths so far in the document, in ems.
    known_widths: (f64, u32),
}

impl Default for FallbackText {
    fn default() -> Self {
        FallbackText {
            pages: Vec::new(),
            text: String::new(),
            flip: pdf_extract::Transform::identity(),
            last_end: f64::MAX,
            last_y: 0.0,
            last_known: true,
            known_widths: (0.0, 0),
        }
    }
}

impl pdf_extract::OutputDev for FallbackText {
    fn begin_page(
        &mut self,
        _page: u32,
        media_box: &pdf_extract::MediaBox,
        _art_box: Option<(f64, f64, f64, f64)>,
    ) -> Result<(), pdf_extract::OutputError> {
        self.flip =
            pdf_extract::Transform::row_major(1., 0., 0., -1., 0., media_box.ury - media_box.lly);
        self.text.clear();
        self.last_end = f64::MAX;
        Ok(())
    }

    fn end_page(&mut self) -> Result<(), pdf_extract::OutputError> {
        self.pages.push(std::mem::take(&mut self.text));
        Ok(())
    }

    fn output_character(
        &mut self,
        trm: &pdf_extract::Transform,
        width: f64,
        _spacing: f64,
        font_size: f64,
        glyph: &str,
    ) -> Result<(), pdf_extract::OutputError> {
        let position = trm.post_transform(&self.flip);
        // The font size as drawn: the side of a square as large as the scaled em box.
        let (sx, sy) = (
            font_size * (trm.m11 + trm.m21),
            font_size * (trm.m12 + trm.m22),
        );
        let size = (sx * sy).abs().sqrt().max(f64::EPSILON);
        let (x, y) = (position.m31, position.m32);
        if !self.text.is_empty() {
            let dy = (y - self.last_y).abs();
            if dy > size * 1.5 || (x < self.last_end && dy > size * 0.5) {
                self.text.push('\n');
            } else {
                let threshold = if self.last_known { 0.1 } else { 0.3 };
                if x > self.last_end + size * threshold && !self.text.ends_with(char::is_whitespace)
                {
                    self.text.push(' ');
                }
            }
        }
        self.text.push_str(glyph);
        let known = width > 0.0 || glyph.chars().all(char::is_whitespace);
        let advance = if known {
            if width > 0.0 {
                self.known_widths.0 += width;
                self.known_widths.1 += 1;
            }
            width
        } else if self.known_widths.1 > 0 {
            self.known_widths.0 / f64::from(self.known_widths.1)
        } else {
            0.5
        };
        self.last_end = x + advance * size;
        self.last_y = y;
        self.last_known = known;
        Ok(())
    }

    fn begin_word(&mut self) -> Result<(), pdf_extract::OutputError> {
        Ok(())
    }

    fn end_word(&mut self) -> Result<(), pdf_extract::OutputError> {
        Ok(())
    }

    fn end_line(&mut self) -> Result<(), pdf_extract::OutputError> {
        Ok(())
    }
}

/// A small valid PDF with one page of Helvetica text per entry of `pages`, for tests and
/// examples.
pub fn sample(pages: &[&str]) -> Vec<u8> {
    let contents: Vec<String> = pages
        .iter()
        .map(|text| {
            format!(
                "BT /F1 14 Tf 72 700 Td ({}) Tj ET",
                text.replace('(', "\\(").replace(')', "\\)")
            )
        })
        .collect();
    pdf_of("Helvetica", &contents)
}

/// A PDF whose pages draw `contents` (content streams) with the Type 1 font `font` as `/F1`.
fn pdf_of(font: &str, contents: &[String]) -> Vec<u8> {
    let n = contents.len();
    let mut objects: Vec<String> = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".into(),
        format!(
            "<< /Type /Pages /Kids [{}] /Count {n} >>",
            (0..n)
                .map(|i| format!("{} 0 R", 4 + 2 * i))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        format!("<< /Type /Font /Subtype /Type1 /BaseFont /{font} >>"),
    ];
    for (i, content) in contents.iter().enumerate() {
        objects.push(format!("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {} 0 R /Resources << /Font << /F1 3 0 R >> >> >>", 5 + 2 * i));
        objects.push(format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ));
    }
    let mut out = String::from("%PDF-1.4\n");
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.push_str(&format!("{} 0 obj\n{body}\nendobj\n", i + 1));
    }
    let xref = out.len();
    out.push_str(&format!(
        "xref\n0 {}\n0000000000 65535 f \n",
        objects.len() + 1
    ));
    for offset in offsets {
        out.push_str(&format!("{offset:010} 00000 n \n"));
    }
    out.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    ));
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_fallback_reads_pages_in_order() {
        let pdf = super::sample(&[
            "Opening hours are nine to five.",
            "Closed on public holidays.",
        ]);
        let doc = super::extract_fallback(&pdf).expect("fallback");
        assert_eq!(doc.page_count, Some(2));
        assert!(
            doc.sections[0].text.contains("nine to five"),
            "{:?}",
            doc.sections
        );
        assert_eq!(doc.sections[1].page, Some(2));
        assert!(super::extract_fallback(b"%PDF-1.4 garbage").is_err());
    }

    /// A font without widths that pdf-extract knows: each glyph is placed by the kerning
    /// of a TJ array, half an em apart inside words and 0.85 em apart between them. Taking
    /// each unknown width as 0 put a space between every two letters.
    #[test]
    fn glyphs_of_unknown_width_do_not_split_words() {
        let glyphs = |word: &str| {
            word.chars()
                .map(|c| format!("({c})"))
                .collect::<Vec<_>>()
                .join(" -500 ")
        };
        let line = ["Investors", "and", "others"].map(glyphs).join(" -850 ");
        let pdf = super::pdf_of(
            "SomeEmbeddedFont",
            &[format!("BT /F1 12 Tf 72 700 Td [{line}] TJ ET")],
        );
        let doc = super::extract_fallback(&pdf).expect("fallback");
        assert_eq!(doc.sections[0].text.trim(), "Investors and others");
    }

    /// Every encrypted PDF of the shared corpus (its MANIFEST says which) is refused as
    /// password-protected, by PDFium when it is there and by the fallback; the fallback
    /// called five of them "damaged: the PDF has no pages", PDFium two "empty".
    #[test]
    fn every_encrypted_pdf_is_refused_as_encrypted() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/corpora/pdfs/malformed");
        let Ok(manifest) = std::fs::read_to_string(dir.join("MANIFEST.tsv")) else {
            eprintln!("skipped: no corpus at {}", dir.display());
            return;
        };
        let encrypted: Vec<&str> = manifest
            .lines()
            .filter_map(|l| {
                let cols: Vec<&str> = l.split('\t').collect();
                (cols.get(5) == Some(&"encrypted")).then_some(cols[0])
            })
            .collect();
        assert!(encrypted.len() >= 10, "{encrypted:?}");
        let mut wrong = Vec::new();
        for name in &encrypted {
            let bytes = std::fs::read(dir.join(name)).expect("read");
            let fallback = super::judged(&bytes, super::extract_fallback(&bytes));
            if fallback.as_ref().err() != Some(&super::IngestError::EncryptedPdf) {
                wrong.push(format!("fallback {name}: {:?}", fallback.map(|d| d.text())));
            }
            if super::available() {
                let pdfium = super::extract(&bytes);
                if pdfium.as_ref().err() != Some(&super::IngestError::EncryptedPdf) {
                    wrong.push(format!("PDFium {name}: {:?}", pdfium.map(|d| d.text())));
                }
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
    }
}
