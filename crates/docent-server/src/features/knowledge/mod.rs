//! Knowledge: documents (files, web pages, sites), their processing, chunks and search.

pub mod api;
pub mod pages;

use axum::http::Method as M;
use axum::routing::{delete, get, patch, post, put};

use docent_core::*;

use crate::http::list::{List, ListQuery};
use crate::routes::{Access, Kind, Route, r, upload};

/// This feature's routes (joined into the route table by [`crate::routes::routes`]).
#[rustfmt::skip]
pub fn routes() -> Vec<Route> {
    use Access::*;
    use Kind::*;
    vec![
        r(M::GET, "/api/chat-spaces/{id}/documents", ChatSpace, Api, "Documents of a chat space with status and progress", get(api::list))
            .query::<ListQuery<DocumentId>>().ok::<List<Document>>(),
        r(M::GET, "/api/chat-spaces/{id}/documents/events", ChatSpace, Api, "Server-sent events of document progress while any is processing", get(api::events))
            .query::<api::EventsQuery>().events(),
        r(M::POST, "/api/chat-spaces/{id}/documents/upload", ChatSpace, Api, "Upload files (multipart: file…, citable)", upload(post(api::upload)))
            .multipart().created::<Vec<Document>>()
            .link(M::GET, "/api/documents/{document_id}", "document_id", "/0/id")
            .link(M::PATCH, "/api/documents/{document_id}", "document_id", "/0/id")
            .link(M::GET, "/api/documents/{document_id}/chunks", "document_id", "/0/id")
            .link(M::POST, "/api/documents/{document_id}/reprocess", "document_id", "/0/id")
            .link(M::DELETE, "/api/documents/{document_id}", "document_id", "/0/id"),
        r(M::POST, "/api/chat-spaces/{id}/documents/url", ChatSpace, Api, "Add a web page; it is fetched and processed in the background", post(api::add_url))
            .json::<docent_app::documents::AddUrl>().created::<Document>()
            .link(M::GET, "/api/documents/{document_id}", "document_id", "/id"),
        r(M::POST, "/api/chat-spaces/{id}/documents/text", ChatSpace, Api, "Add a pasted text; it is processed in the background", post(api::add_text))
            .json::<docent_app::documents::AddText>().created::<Document>()
            .link(M::GET, "/api/documents/{document_id}", "document_id", "/id"),
        r(M::POST, "/api/chat-spaces/{id}/documents/qa", ChatSpace, Api, "Add a question and its answer, quoted whole when a visitor asks it", post(api::add_qa))
            .json::<docent_app::documents::QaPair>().created::<Document>()
            .link(M::GET, "/api/documents/{document_id}/qa", "document_id", "/id")
            .link(M::PUT, "/api/documents/{document_id}/qa", "document_id", "/id"),
        r(M::GET, "/api/documents/{document_id}/qa", ChatSpace, Api, "The question and answer of a question-and-answer source", get(api::qa))
            .ok::<api::Qa>(),
        r(M::PUT, "/api/documents/{document_id}/qa", ChatSpace, Api, "Change a question-and-answer source; it is processed again", put(api::edit_qa))
            .json::<docent_app::documents::QaPair>().answers::<Document>(202),
        r(M::GET, "/api/chat-spaces/{id}/search", ChatSpace, Api, "Search a chat space's knowledge (?q=&limit=&mode=fulltext|vector)", get(api::search))
            .query::<api::SearchQuery>().ok::<Vec<ChunkHit>>(),
        r(M::GET, "/api/documents/{document_id}", ChatSpace, Api, "Get a document", get(api::get))
            .ok::<Document>(),
        r(M::PATCH, "/api/documents/{document_id}", ChatSpace, Api, "Change a document's title or citable flag", patch(api::patch))
            .json::<docent_app::documents::PatchDocument>().ok::<Document>(),
        r(M::DELETE, "/api/documents/{document_id}", ChatSpace, Api, "Delete a document and its chunks", delete(api::delete))
            .no_content(),
        r(M::POST, "/api/documents/{document_id}/reprocess", ChatSpace, Api, "Process a document again", post(api::reprocess))
            .answers::<Document>(202),
        r(M::GET, "/api/documents/{document_id}/chunks", ChatSpace, Api, "A document's chunks in order (?after=&limit=)", get(api::chunks))
            .query::<api::ChunkQuery>().ok::<List<Chunk>>(),
        r(M::GET, "/app/chat-spaces/{id}/knowledge", ChatSpace, Page, "A chat space's knowledge", get(pages::index)),
        r(M::POST, "/app/chat-spaces/{id}/documents", ChatSpace, Page, "Upload files", upload(post(pages::upload))),
        r(M::POST, "/app/chat-spaces/{id}/urls", ChatSpace, Page, "Add a web page", post(pages::add_url)),
        r(M::POST, "/app/chat-spaces/{id}/text", ChatSpace, Page, "Add a pasted text", post(pages::add_text)),
        r(M::POST, "/app/chat-spaces/{id}/qa", ChatSpace, Page, "Add a question and answer", post(pages::add_qa)),
        r(M::POST, "/app/documents/{document_id}/qa", ChatSpace, Page, "Change a question and answer", post(pages::edit_qa)),
        r(M::GET, "/app/documents/{document_id}", ChatSpace, Page, "A document and its chunks", get(pages::show)),
        r(M::POST, "/app/documents/{document_id}/citable", ChatSpace, Page, "Citable or learn-only", post(pages::set_citable)),
        r(M::POST, "/app/documents/{document_id}/title", ChatSpace, Page, "Rename a document", post(pages::rename)),
        r(M::POST, "/app/documents/{document_id}/reprocess", ChatSpace, Page, "Process a document again", post(pages::reprocess)),
        r(M::POST, "/app/documents/{document_id}/delete", ChatSpace, Page, "Delete a document", post(pages::delete)),
    ]
}
