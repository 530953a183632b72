//! Verified visitor identity (DESIGN §4 "Integrations"). A site that knows who its visitor
//! is (they signed in there) signs `visitor_id + "." + expires` with the chat space's
//! identity secret — `hex(HMAC-SHA256(secret, visitor_id + "." + expires))`, `expires` in
//! unix seconds — and hands the widget the three values. Every widget request then carries
//! them (`X-Docent-Identity: visitor_id.expires.token`, or `?identity=` where a header cannot
//! go); the widget gate checks them once, and every widget route asks the same
//! [`WidgetSpace::visitor`] who the visitor is. A verified visitor's conversations and leads
//! are kept under `v:` and their id, which no anonymous visitor id can be (those have no
//! `:`), so nobody can pass as them without a token; and they find their conversations on
//! any device. A tampered, expired or other chat space's token is refused with 401
//! `identity_invalid`; a chat space may refuse anonymous visitors altogether.

use chrono::{DateTime, Utc};
use docent_core::config::WidgetConfig;
use docent_core::*;
use serde::Serialize;

use crate::limits::WidgetSpace;
use crate::{App, AppError, Caller, chat_spaces};

/// What a widget request says of who the visitor is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identity {
    /// No identity given: the widget's own random visitor id stands.
    Anonymous,
    /// The site signed this visitor in.
    Verified { visitor_id: String },
    /// An identity was given and did not verify; why.
    Invalid(&'static str),
}

/// The prefix of a verified visitor's id as conversations and leads keep it.
pub const VERIFIED_PREFIX: &str = "v:";
/// The longest site visitor id taken.
const MAX_VISITOR_ID: usize = 128;

/// The token a site signs for `visitor_id` until `expires` (unix seconds).
pub fn sign(secret: &str, visitor_id: &str, expires: i64) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = ring::hmac::sign(&key, format!("{visitor_id}.{expires}").as_bytes());
    tag.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// A new identity secret: `dis_` and 32 random bytes in hex.
pub fn new_secret() -> String {
    format!("dis_{}", crate::auth::token::generate(32))
}

/// Splits `visitor_id.expires.token` (the id may hold dots).
fn parts(raw: &str) -> Option<(&str, i64, &str)> {
    let (rest, token) = raw.trim().rsplit_once('.')?;
    let (visitor_id, expires) = rest.rsplit_once('.')?;
    Some((visitor_id, expires.parse().ok()?, token))
}

/// Checks an identity a widget request gave for `space`, at `now`.
pub async fn verify(app: &App, space: &ChatSpace, raw: &str, now: DateTime<Utc>) -> Identity {
    let Some((visitor_id, expires, token)) = parts(raw) else {
        return Identity::Invalid(
            "The visitor identity is not visitor_id.expires.token; sign it as the chat space's Install tab says.",
        );
    };
    if visitor_id.is_empty()
        || visitor_id.chars().count() > MAX_VISITOR_ID
        || visitor_id
            .chars()
            .any(|c| c.is_control() || c.is_whitespace())
    {
        return Identity::Invalid("The visitor id must be 1 to 128 characters without spaces.");
    }
    if expires <= now.timestamp() {
        return Identity::Invalid(
            "The visitor identity has expired; the site should sign a new one.",
        );
    }
    let secrets = match app.store.identity_secrets(space.org_id, space.id).await {
        Ok(Some((secrets, _))) => secrets,
        Ok(None) => {
            return Identity::Invalid("This chat space has no identity secret yet.");
        }
        Err(e) => {
            tracing::warn!(chat_space = %space.id, error = %e, "could not read the identity secret");
            return Identity::Invalid("The visitor identity could not be checked; try again.");
        }
    };
    let good = secrets.signing(now).into_iter().any(|secret| {
        crate::auth::token::constant_time_eq(&sign(secret, visitor_id, expires), token)
    });
    if good {
        Identity::Verified {
            visitor_id: visitor_id.to_owned(),
        }
    } else {
        Identity::Invalid(
            "The visitor identity's signature does not match; sign visitor_id.expires with this chat space's identity secret.",
        )
    }
}

/// Whether a chat space lets only verified visitors chat.
pub fn required(space: &ChatSpace) -> bool {
    let widget: WidgetConfig = docent_core::config::read(&space.widget_config);
    widget.identity_required
}

impl WidgetSpace {
    /// Who the visitor of this request is, as conversations and leads keep them: the
    /// verified visitor (whatever id the body says), or the widget's own id when no identity
    /// was given and the chat space allows that.
    pub fn visitor(&self, claimed: &str) -> Result<String, AppError> {
        match &self.identity {
            Identity::Verified { visitor_id } => Ok(format!("{VERIFIED_PREFIX}{visitor_id}")),
            Identity::Invalid(why) => Err(AppError::IdentityInvalid(why)),
            Identity::Anonymous if required(&self.space) => Err(AppError::IdentityInvalid(
                "This chat is for signed-in visitors: sign in on the site to chat.",
            )),
            Identity::Anonymous => {
                crate::visitors::check_visitor_id(claimed)?;
                Ok(claimed.to_owned())
            }
        }
    }
}

/// A chat space's identity settings as its owners see them (the secret itself only once).
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct IdentityStatus {
    /// Whether a secret was made (tokens verify only then).
    pub has_secret: bool,
    pub rotated_at: Option<DateTime<Utc>>,
    /// Until then the secret before the last rotation still verifies.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// Only verified visitors may chat.
    pub required: bool,
}

/// A new identity secret, shown this once.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct IdentitySecret {
    /// `dis_…`: the HMAC-SHA256 key the site signs `visitor_id.expires` with.
    pub secret: String,
    /// Until then the secret before it still verifies (a day), so a site can switch over.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
}

pub async fn status(
    app: &App,
    caller: &Caller,
    id: ChatSpaceId,
) -> Result<IdentityStatus, AppError> {
    caller.require(Role::Admin)?;
    let space = chat_spaces::get(app, caller, id).await?;
    let found = app.store.identity_secrets(space.org_id, space.id).await?;
    Ok(IdentityStatus {
        has_secret: found.is_some(),
        rotated_at: found.as_ref().map(|(_, at)| *at),
        previous_secret_expires_at: found
            .and_then(|(s, _)| s.previous.map(|(_, until)| until))
            .filter(|until| *until > Utc::now()),
        required: required(&space),
    })
}

/// Makes the chat space's identity secret, or a new one (the old still verifies for a day).
pub async fn rotate(
    app: &App,
    caller: &Caller,
    id: ChatSpaceId,
) -> Result<IdentitySecret, AppError> {
    caller.require(Role::Admin)?;
    let space = chat_spaces::get(app, caller, id).await?;
    let had = app
        .store
        .identity_secrets(space.org_id, space.id)
        .await?
        .is_some();
    let now = Utc::now();
    let until = now + SigningSecrets::ROTATION_OVERLAP;
    let secret = new_secret();
    app.store
        .rotate_identity_secret(space.org_id, space.id, &secret, until, now)
        .await?;
    Ok(IdentitySecret {
        secret,
        previous_secret_expires_at: had.then_some(until),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_hex_hmac_sha256_of_id_dot_expires() {
        // The same as Python's hmac.new(b"dis_secret", b"user-42.1893456000", sha256).hexdigest().
        assert_eq!(
            sign("dis_secret", "user-42", 1_893_456_000),
            "48e1e550af0433debdcc8ecce08a02e673e587cd457239496889ce6c55885b64"
        );
        assert_eq!(
            parts("a.b@x.com.1893456000.ff"),
            Some(("a.b@x.com", 1_893_456_000, "ff"))
        );
        assert_eq!(parts("nodots"), None);
        assert_eq!(parts("id.notanumber.ff"), None);
    }
}
