//! Outgoing email: SMTP through lettre when `DOCENT_SMTP_URL` is set; otherwise the message
//! goes to the log and to the outbox that platform admins read in the dashboard, so a fresh
//! install without mail can still reset passwords and invite people.

use std::sync::Arc;

use docent_core::Settings;
use docent_store::Store;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::AppError;

#[derive(Debug)]
pub enum Mailer {
    Smtp {
        transport: Box<AsyncSmtpTransport<Tokio1Executor>>,
        from: Mailbox,
    },
    Outbox,
}

impl Mailer {
    pub fn from_settings(settings: &Settings) -> Result<Mailer, String> {
        let Some(url) = &settings.smtp_url else {
            return Ok(Mailer::Outbox);
        };
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
            .map_err(|e| format!("DOCENT_SMTP_URL: {e}"))?
            .build();
        let transport = Box::new(transport);
        let from = settings
            .smtp_from
            .parse()
            .map_err(|e| format!("DOCENT_SMTP_FROM {:?}: {e}", settings.smtp_from))?;
        Ok(Mailer::Smtp { transport, from })
    }

    /// Whether messages leave this server (SMTP is configured), or only reach the outbox.
    pub fn sends_mail(&self) -> bool {
        matches!(self, Mailer::Smtp { .. })
    }

    pub async fn send(
        &self,
        store: &Arc<dyn Store>,
        to: &str,
        subject: &str,
        body: &str,
    ) -> Result<(), AppError> {
        match self {
            Mailer::Smtp { transport, from } => {
                let to: Mailbox = to
                    .parse()
                    .map_err(|_| AppError::validation("email", "Enter a valid email address."))?;
                let message = Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject(subject)
                    .body(body.to_owned())
                    .map_err(|e| AppError::Internal(format!("building email: {e}")))?;
                transport
                    .send(message)
                    .await
                    .map_err(|e| AppError::MailFailed(e.to_string()))?;
                Ok(())
            }
            Mailer::Outbox => {
                // Never the body: it may hold a reset or invitation link.
                tracing::info!(
                    to,
                    subject,
                    "email kept in the admin outbox (no SMTP configured)"
                );
                store.push_outbox(to, subject, body).await?;
                Ok(())
            }
        }
    }
}
