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

pub fn extract(bytes: &[u8]) -> Result<Extracted, IngestError> {
    let engine = engine()?;
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
        let text = match page.text() {
            Ok(text) => text.all(),
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
