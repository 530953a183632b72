//! Sign-up, log-in, sessions and password resets.

use chrono::{Duration, Utc};
use docent_core::validate;
use docent_core::*;
use serde::Deserialize;

use crate::App;
use crate::AppError;
use crate::auth::throttle::Throttle;
use crate::auth::{password, token};

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupInput {
    #[schemars(regex(pattern = docent_core::validate::EMAIL_PATTERN), length(max = 254), example = "ana@example.com")]
    pub email: String,
    #[schemars(length(min = 10, max = 200), example = "correct horse battery")]
    pub password: String,
    #[serde(default)]
    #[schemars(regex(pattern = docent_core::validate::NO_CONTROL_PATTERN), length(max = 100))]
    pub name: String,
    /// Defaults to "{name}'s organization".
    #[serde(default)]
    #[schemars(regex(pattern = docent_core::validate::NO_CONTROL_PATTERN), length(max = 100))]
    pub organization_name: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    #[schemars(example = "ana@example.com")]
    pub email: String,
    #[schemars(example = "correct horse battery")]
    pub password: String,
}

/// A new session: the secret for the cookie (shown once) and its row.
#[derive(Debug)]
pub struct NewLogin {
    pub secret: String,
    pub session: Session,
}

/// Where a request came from, for throttling and the session list.
#[derive(Clone, Debug, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// The network a limit counts this client in: an IPv4 address alone, an IPv6 address
    /// by its /64 (the block one subscriber or host gets, so that rotating through it buys
    /// nothing), an IPv4 address written as IPv6 as the IPv4 address.
    pub fn network(&self) -> String {
        let Some(ip) = self.ip.as_deref() else {
            return "unknown".to_owned();
        };
        match ip.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => {
                    let s = v6.segments();
                    format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
                }
            },
            Ok(v4) => v4.to_string(),
            Err(_) => ip.to_owned(),
        }
    }
}

/// A random suffix keeps organization slugs unique without a retry loop.
pub fn org_slug(name: &str) -> String {
    format!("{}-{}", validate::slugify(name), &token::generate(3))
}

pub async fn signup(app: &App, input: SignupInput) -> Result<(User, Organization), AppError> {
    let mut errors = ValidationErrors::new();
    let email = validate::email(&mut errors, "email", &input.email);
    validate::password(&mut errors, "password", &input.password);
    let name = if input.name.trim().is_empty() {
        email.split('@').next().unwrap_or("").to_owned()
    } else {
        validate::name(&mut errors, "name", &input.name)
    };
    let org_name = if input.organization_name.trim().is_empty() {
        format!("{name}'s organization")
    } else {
        validate::name(&mut errors, "organization_name", &input.organization_name)
    };
    errors.into_result()?;
    let hash = password::hash(input.password).await?;
    let (user, org) = app
        .store
        .signup(
            NewUser {
                email,
                name: name.chars().take(validate::NAME_MAX_CHARS).collect(),
                password_hash: Some(hash),
                is_platform_admin: None,
            },
            NewOrganization {
                slug: org_slug(&org_name),
                name: org_name.chars().take(validate::NAME_MAX_CHARS).collect(),
                plan: Plan::Free,
            },
        )
        .await?;
    tracing::info!(user = %user.id, org = %org.id, admin = user.is_platform_admin, "signed up");
    Ok((user, org))
}

/// A wrong password counts against the pair (account, network), the network, and the
/// account as a whole; see [`login`].
fn login_keys(email: &str, client: &ClientInfo) -> [String; 3] {
    let network = client.network();
    let account = account_login_key(email);
    [
        format!("{account}|{network}"),
        format!("login-network:{network}"),
        account,
    ]
}

/// The account-wide login key; the per-network ones are it, `|` and the network.
fn account_login_key(email: &str) -> String {
    format!("login:{email}")
}

/// Reset links one account gets in 15 minutes at most.
pub const RESET_MAILS_PER_WINDOW: u32 = 10;

/// How many more failures an account takes from all networks together than from one.
pub const ACCOUNT_WIDE_FACTOR: u32 = 10;

/// Checks the password, throttled before any hashing: `login_max_failures_per_account`
/// failures for one account from one network block that pair, `login_max_failures_per_ip`
/// from one network block the network, and ten times the per-account number from
/// everywhere slow down the account, but only for networks that have failed on it, so
/// nobody can lock an owner out of their account from elsewhere.
pub async fn login(app: &App, input: LoginInput, client: &ClientInfo) -> Result<User, AppError> {
    let email = input.email.trim().to_lowercase();
    let [pair, network, account] = login_keys(&email, client);
    let throttle = Throttle::at(app.store.as_ref(), Utc::now());
    let s = &app.settings;
    let pair_failures = throttle.failures(&pair).await?;
    if let Some(retry_after_secs) = throttle.wait(&pair_failures, s.login_max_failures_per_account)
    {
        return Err(AppError::TooManyRequests { retry_after_secs });
    }
    let mut limits = vec![(&network, s.login_max_failures_per_ip)];
    if !pair_failures.is_empty() {
        limits.push((
            &account,
            s.login_max_failures_per_account
                .saturating_mul(ACCOUNT_WIDE_FACTOR),
        ));
    }
    for (key, max) in limits {
        if let Some(retry_after_secs) = throttle.blocked_for(key, max).await? {
            return Err(AppError::TooManyRequests { retry_after_secs });
        }
    }
    let user = app.store.find_user_by_email(&email).await?;
    let ok = match user.as_ref().and_then(|u| u.password_hash.clone()) {
        Some(hash) => password::verify(input.password, hash).await,
        None => {
            password::verify_dummy(input.password).await;
            false
        }
    };
    match user {
        Some(user) if ok => {
            throttle.clear(&pair).await?;
            app.store.record_login(user.id, Utc::now()).await?;
            Ok(user)
        }
        _ => {
            throttle
                .record_failure(&[&pair, &network, &account])
                .await?;
            Err(AppError::InvalidCredentials)
        }
    }
}

/// Opens a session for `user` in `org` (their first organization when `None`).
pub async fn start_session(
    app: &App,
    user: &User,
    org: Option<OrgId>,
    client: &ClientInfo,
) -> Result<NewLogin, AppError> {
    let secret = token::generate(32);
    let active_org_id = match org {
        Some(org) => Some(org),
        None => app
            .store
            .memberships_of_user(user.id)
            .await?
            .first()
            .map(|m| m.organization.id),
    };
    let session = app
        .store
        .create_session(NewSession {
            user_id: user.id,
            token_hash: token::hash(&secret),
            active_org_id,
            expires_at: Utc::now() + Duration::days(i64::from(app.settings.session_days)),
            ip: client.ip.clone(),
            user_agent: client
                .user_agent
                .as_ref()
                .map(|ua| ua.chars().take(300).collect()),
        })
        .await?;
    Ok(NewLogin { secret, session })
}

pub async fn logout(app: &App, session_secret: &str) -> Result<(), AppError> {
    app.store
        .delete_session(&token::hash(session_secret))
        .await?;
    Ok(())
}

/// Sends a reset link when the account exists; answers the same either way, so the form
/// does not reveal who has an account. Asking is throttled like logging in: per address and
/// network, and per network (429). An account gets at most [`RESET_MAILS_PER_WINDOW`] links
/// in 15 minutes; asking beyond that is answered the same but sends nothing, so a flood of
/// requests can neither fill the owner's inbox nor keep revoking the last link they got
/// (each new link revokes the older ones).
pub async fn forgot_password(app: &App, email: &str, client: &ClientInfo) -> Result<(), AppError> {
    let mut errors = ValidationErrors::new();
    let email = validate::email(&mut errors, "email", email);
    errors.into_result()?;
    let throttle = Throttle::at(app.store.as_ref(), Utc::now());
    let s = &app.settings;
    let network = client.network();
    let asked = [
        (
            format!("forgot:{email}|{network}"),
            s.login_max_failures_per_account,
        ),
        (
            format!("forgot-network:{network}"),
            s.login_max_failures_per_ip,
        ),
    ];
    for (key, max) in &asked {
        if let Some(retry_after_secs) = throttle.blocked_for(key, *max).await? {
            return Err(AppError::TooManyRequests { retry_after_secs });
        }
    }
    let keys: Vec<&str> = asked.iter().map(|(key, _)| key.as_str()).collect();
    throttle.record_failure(&keys).await?;
    let mailed = format!("forgot:{email}");
    if throttle
        .blocked_for(&mailed, RESET_MAILS_PER_WINDOW)
        .await?
        .is_some()
    {
        tracing::warn!("password reset asked again after the account's mail limit; nothing sent");
        return Ok(());
    }
    throttle.record_failure(&[&mailed]).await?;
    let Some(user) = app.store.find_user_by_email(&email).await? else {
        tracing::info!("password reset asked for an unknown email");
        return Ok(());
    };
    let secret = token::generate(32);
    app.store
        .create_password_reset(
            user.id,
            &token::hash(&secret),
            Utc::now() + Duration::hours(1),
        )
        .await?;
    let link = format!(
        "{}/reset-password?token={secret}",
        app.settings.public_base_url()
    );
    let body = format!(
        "Hello {},\n\nSomeone asked to reset the password of your Docent account. \
         To choose a new password, open this link within one hour:\n\n{link}\n\n\
         If it was not you, ignore this email; your password stays as it is.\n",
        user.name
    );
    app.mailer
        .send(&app.store, &user.email, "Reset your Docent password", &body)
        .await
}

/// Sets a new password with a reset token and ends every session of the account.
pub async fn reset_password(
    app: &App,
    secret: &str,
    new_password: String,
) -> Result<User, AppError> {
    let mut errors = ValidationErrors::new();
    validate::password(&mut errors, "password", &new_password);
    errors.into_result()?;
    let hash = password::hash(new_password).await?;
    let user_id = app
        .store
        .consume_password_reset(&token::hash(secret.trim()), Utc::now())
        .await?
        .ok_or(AppError::InvalidToken)?;
    app.store.set_user_password(user_id, &hash).await?;
    app.store.delete_user_sessions(user_id).await?;
    let user = app
        .store
        .find_user_by_id(user_id)
        .await?
        .ok_or(AppError::InvalidToken)?;
    // The owner has proved who they are: failures against the account no longer count.
    let account = account_login_key(&user.email);
    Throttle::at(app.store.as_ref(), Utc::now())
        .clear_with_prefix(&account, &format!("{account}|"))
        .await?;
    Ok(user)
}

/// Creates an account from the command line (`docent user create`), with an organization of
/// its own so it can use the dashboard at once.
pub async fn create_user_headless(
    app: &App,
    email: &str,
    password: &str,
    platform_admin: bool,
) -> Result<(User, Organization), AppError> {
    let (user, org) = signup(
        app,
        SignupInput {
            email: email.to_owned(),
            password: password.to_owned(),
            name: String::new(),
            organization_name: String::new(),
        },
    )
    .await?;
    if platform_admin && !user.is_platform_admin {
        app.store.set_platform_admin(user.id, true).await?;
    }
    let user = app.store.find_user_by_id(user.id).await?.unwrap_or(user);
    Ok((user, org))
}

/// Sets a password from the command line (`docent user reset-password`).
pub async fn set_password_headless(
    app: &App,
    email: &str,
    new_password: String,
) -> Result<User, AppError> {
    let mut errors = ValidationErrors::new();
    validate::password(&mut errors, "password", &new_password);
    errors.into_result()?;
    let user = app
        .store
        .find_user_by_email(email)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    let hash = password::hash(new_password).await?;
    app.store.set_user_password(user.id, &hash).await?;
    app.store.delete_user_sessions(user.id).await?;
    Ok(user)
}
