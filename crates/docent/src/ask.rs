//! `docent ask --chat-space SLUG "question"`: an answer in the terminal, streamed, with its
//! citations, through the same answer service as the widget and the playground.

use std::io::Write;

use anyhow::Context;
use docent_app::App;
use docent_core::*;
use docent_rag::{AnswerEvent, Ask};
use tokio::sync::mpsc;

/// The chat space a command names by its slug, with its organization.
pub(crate) async fn chat_space(app: &App, slug: &str) -> anyhow::Result<(ChatSpace, Organization)> {
    let space = app
        .store
        .find_chat_space_by_slug(slug)
        .await?
        .with_context(|| format!("no chat space has the slug {slug:?}"))?;
    let org = app
        .store
        .find_organization(space.org_id)
        .await?
        .context("the chat space's organization is gone")?;
    Ok((space, org))
}

pub async fn run(app: &App, slug: &str, question: &str, show_sources: bool) -> anyhow::Result<()> {
    let (space, org) = chat_space(app, slug).await?;
    let ask = Ask {
        org: org.id,
        plan: org.plan,
        chat_space: space,
        conversation: None,
        channel: Channel::Api,
        visitor: NewConversation {
            user_agent: Some("docent ask".into()),
            ..NewConversation::default()
        },
        question: question.to_owned(),
        show_sources,
        prior: None,
    };
    let (tx, mut rx) = mpsc::channel(64);
    let answers = app.answers.clone();
    let task = tokio::spawn(async move { answers.answer(ask, tx).await });
    let mut out = std::io::stdout().lock();
    while let Some(event) = rx.recv().await {
        match event {
            AnswerEvent::Started {
                sources: Some(sources),
                ..
            } => {
                for (rank, source) in sources.iter().enumerate() {
                    let preview: String = source.content.chars().take(100).collect();
                    eprintln!(
                        "#{} {:.4} {}{} {}{}",
                        rank + 1,
                        source.score,
                        source.document_title,
                        source.page.map(|p| format!(" p.{p}")).unwrap_or_default(),
                        if source.citable { "" } else { "[learn-only] " },
                        preview.replace('\n', " ")
                    );
                }
                eprintln!();
            }
            AnswerEvent::Started { .. } => {}
            AnswerEvent::Delta { text } => {
                write!(out, "{text}")?;
                out.flush()?;
            }
            AnswerEvent::Done { message } => {
                writeln!(out)?;
                if message.answer_kind == Some(AnswerKind::Extractive) {
                    writeln!(
                        out,
                        "\n(quoted from the knowledge: no language model is configured; set DOCENT_LLM_API_KEY)"
                    )?;
                }
                for citation in &message.citations {
                    let place = citation
                        .url
                        .clone()
                        .or_else(|| citation.file_name.clone())
                        .unwrap_or_default();
                    let page = citation
                        .page
                        .map(|p| format!(", page {p}"))
                        .unwrap_or_default();
                    writeln!(
                        out,
                        "[{}] {} — {place}{page}",
                        citation.index, citation.title
                    )?;
                }
            }
        }
    }
    task.await
        .context("the answer task")?
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}
