//! A chat space's Appearance page (the widget's look, with the real widget running as a live
//! preview) and its Install page (the three embed snippets and the allowed origins).

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use docent_core::config::{WidgetConfig, read};
use docent_core::*;
use serde::Deserialize;
use serde_json::json;

use super::pages::{Saved, save_form};
use crate::AppState;
use crate::auth::Caller;
use crate::extract::{ApiForm, IdPath};
use crate::http::pages::{PageCtx, PageError, Shell, redirect_with};
use docent_app::chat_spaces::{self, EmbedCode, PatchChatSpace, embed_code_for};

#[derive(Clone, Debug, Default, Deserialize)]
pub struct AppearanceForm {
    #[serde(default, rename = "widget_config.bot_name")]
    bot_name: String,
    #[serde(default, rename = "widget_config.avatar_url")]
    avatar_url: String,
    #[serde(default, rename = "widget_config.welcome_message")]
    welcome_message: String,
    #[serde(default, rename = "widget_config.placeholder")]
    placeholder: String,
    #[serde(default, rename = "widget_config.primary_color")]
    primary_color: String,
    #[serde(default)]
    theme: String,
    #[serde(default)]
    position: String,
    #[serde(default)]
    size: String,
    #[serde(default, rename = "widget_config.locale")]
    locale: String,
    /// A checkbox: present when ticked.
    #[serde(default)]
    rtl: Option<String>,
    #[serde(default)]
    show_branding: Option<String>,
    /// `key = text`, one a line.
    #[serde(default, rename = "widget_config.strings")]
    strings: String,
}

impl AppearanceForm {
    fn from_config(widget: &WidgetConfig) -> AppearanceForm {
        let text = |v: serde_json::Value| v.as_str().unwrap_or_default().to_owned();
        AppearanceForm {
            bot_name: widget.bot_name.clone(),
            avatar_url: widget.avatar_url.clone().unwrap_or_default(),
            welcome_message: widget.welcome_message.clone(),
            placeholder: widget.placeholder.clone(),
            primary_color: widget.primary_color.clone(),
            theme: text(json!(widget.theme)),
            position: text(json!(widget.position)),
            size: text(json!(widget.size)),
            locale: widget.locale.clone(),
            rtl: widget.rtl.then(|| "on".to_owned()),
            show_branding: widget.show_branding.then(|| "on".to_owned()),
            strings: widget
                .strings
                .iter()
                .map(|(k, v)| format!("{k} = {v}"))
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    fn into_patch(self, errors: &mut ValidationErrors) -> serde_json::Value {
        let mut strings = BTreeMap::new();
        for line in self
            .strings
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            match line.split_once('=') {
                Some((key, value)) if !key.trim().is_empty() => {
                    strings.insert(key.trim().to_owned(), value.trim().to_owned());
                }
                _ => errors.add(
                    "widget_config.strings",
                    format!("Write each line as key = text; \"{line}\" has no key."),
                ),
            }
        }
        let avatar = self.avatar_url.trim();
        json!({
            "bot_name": self.bot_name,
            "avatar_url": (!avatar.is_empty()).then_some(avatar),
            "welcome_message": self.welcome_message,
            "placeholder": self.placeholder,
            "primary_color": self.primary_color,
            "theme": self.theme,
            "position": self.position,
            "size": self.size,
            "locale": self.locale,
            "rtl": self.rtl.is_some(),
            "show_branding": self.show_branding.is_some(),
            "strings": strings,
        })
    }
}

#[derive(Template)]
#[template(path = "chat_spaces/appearance.html")]
struct AppearancePage {
    shell: Shell,
    title: String,
    space: ChatSpace,
    form: AppearanceForm,
    errors: ValidationErrors,
    /// The saved look as the widget reads it, for the preview.
    preview_config: String,
    setup: chat_spaces::Setup,
}

fn appearance_page(
    ctx: &PageCtx,
    setup: chat_spaces::Setup,
    space: ChatSpace,
    form: Option<AppearanceForm>,
    errors: ValidationErrors,
) -> AppearancePage {
    let mut widget: WidgetConfig = read(&space.widget_config);
    let form = form.unwrap_or_else(|| AppearanceForm::from_config(&widget));
    if widget.bot_name.trim().is_empty() {
        widget.bot_name = space.name.clone();
    }
    let preview_config = json!({
        "name": space.name,
        "endpoint_slug": space.endpoint_slug,
        "widget": widget,
    })
    .to_string();
    AppearancePage {
        shell: ctx.shell_in("spaces"),
        title: format!("Appearance · {}", space.name),
        space,
        form,
        errors,
        preview_config,
        setup,
    }
}

pub async fn appearance(
    State(state): State<AppState>,
    caller: Caller,
    ctx: PageCtx,
    IdPath(id): IdPath<ChatSpaceId>,
) -> Result<Response, PageError> {
    let space = chat_spaces::get(&state, &caller, id).await?;
    let setup = chat_spaces::setup(&state, &caller, &space).await?;
    Ok(ctx.render(&appearance_page(
        &ctx,
        setup,
        space,
        None,
        ValidationErrors::new(),
    )))
}

pub async fn save_appearance(
    State(state): State<AppState>,
    caller: Caller,
    ctx: PageCtx,
    IdPath(id): IdPath<ChatSpaceId>,
    ApiForm(form): ApiForm<AppearanceForm>,
) -> Result<Response, PageError> {
    caller.require(Role::Admin)?;
    let space = chat_spaces::get(&state, &caller, id).await?;
    let mut errors = ValidationErrors::new();
    let shown = form.clone();
    let patch = PatchChatSpace {
        widget_config: Some(form.into_patch(&mut errors)),
        ..PatchChatSpace::default()
    };
    match save_form(&state, &caller, id, patch, errors, "/appearance").await? {
        Saved::Done(done) => Ok(done),
        Saved::Refused(status, errors) => {
            let setup = chat_spaces::setup(&state, &caller, &space).await?;
            let page = appearance_page(&ctx, setup, space, Some(shown), errors);
            Ok(ctx.render_status(status, &page))
        }
    }
}

#[derive(Template)]
#[template(path = "chat_spaces/install.html")]
struct InstallPage {
    shell: Shell,
    title: String,
    space: ChatSpace,
    embed: EmbedCode,
    allowed_origins: String,
    errors: ValidationErrors,
    setup: chat_spaces::Setup,
    /// Signed-in visitors (owners and admins see it).
    identity: Option<docent_app::identity::IdentityStatus>,
    /// A new identity secret, shown this once.
    new_identity_secret: Option<String>,
}

fn install_page(
    state: &AppState,
    ctx: &PageCtx,
    setup: chat_spaces::Setup,
    space: ChatSpace,
    allowed_origins: Option<String>,
    errors: ValidationErrors,
) -> InstallPage {
    InstallPage {
        shell: ctx.shell_in("spaces"),
        title: format!("Install · {}", space.name),
        embed: embed_code_for(&state.settings.public_base_url(), &space),
        allowed_origins: allowed_origins.unwrap_or_else(|| space.allowed_origins.join("\n")),
        space,
        errors,
        setup,
        identity: None,
        new_identity_secret: None,
    }
}

pub async fn install(
    State(state): State<AppState>,
    caller: Caller,
    ctx: PageCtx,
    IdPath(id): IdPath<ChatSpaceId>,
) -> Result<Response, PageError> {
    let page = install_page_for(&state, &caller, &ctx, id, None).await?;
    Ok(ctx.render(&page))
}

#[derive(Debug, Deserialize)]
pub struct OriginsForm {
    /// One origin a line.
    #[serde(default)]
    allowed_origins: String,
}

pub async fn save_origins(
    State(state): State<AppState>,
    caller: Caller,
    ctx: PageCtx,
    IdPath(id): IdPath<ChatSpaceId>,
    ApiForm(form): ApiForm<OriginsForm>,
) -> Result<Response, PageError> {
    caller.require(Role::Admin)?;
    let space = chat_spaces::get(&state, &caller, id).await?;
    let origins = form
        .allowed_origins
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let patch = PatchChatSpace {
        allowed_origins: Some(origins),
        ..PatchChatSpace::default()
    };
    match save_form(
        &state,
        &caller,
        id,
        patch,
        ValidationErrors::new(),
        "/install",
    )
    .await?
    {
        Saved::Done(done) => Ok(done),
        Saved::Refused(status, errors) => {
            let setup = chat_spaces::setup(&state, &caller, &space).await?;
            let page = install_page(
                &state,
                &ctx,
                setup,
                space,
                Some(form.allowed_origins),
                errors,
            );
            Ok(ctx.render_status(status, &page))
        }
    }
}

/// The install page with what owners and admins see of signed-in visitors.
async fn install_page_for(
    state: &AppState,
    caller: &Caller,
    ctx: &PageCtx,
    id: ChatSpaceId,
    new_identity_secret: Option<String>,
) -> Result<InstallPage, PageError> {
    let space = chat_spaces::get(state, caller, id).await?;
    let setup = chat_spaces::setup(state, caller, &space).await?;
    let mut page = install_page(state, ctx, setup, space, None, ValidationErrors::new());
    if caller.role.can_manage() {
        page.identity = Some(docent_app::identity::status(state, caller, id).await?);
    }
    page.new_identity_secret = new_identity_secret;
    Ok(page)
}

/// Makes the identity secret (or a new one) and shows it this once.
pub async fn rotate_identity(
    State(state): State<AppState>,
    caller: Caller,
    ctx: PageCtx,
    IdPath(id): IdPath<ChatSpaceId>,
) -> Result<Response, PageError> {
    let made = docent_app::identity::rotate(&state, &caller, id).await?;
    let page = install_page_for(&state, &caller, &ctx, id, Some(made.secret)).await?;
    Ok(ctx.render(&page))
}

#[derive(Debug, Deserialize)]
pub struct IdentityForm {
    /// Ticked: only signed-in visitors may chat.
    #[serde(default)]
    required: Option<String>,
}

pub async fn save_identity(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ChatSpaceId>,
    ApiForm(form): ApiForm<IdentityForm>,
) -> Result<Response, PageError> {
    caller.require(Role::Admin)?;
    let patch = PatchChatSpace {
        widget_config: Some(serde_json::json!({"identity_required": form.required.is_some()})),
        ..PatchChatSpace::default()
    };
    chat_spaces::patch(&state, &caller, id, patch).await?;
    Ok(redirect_with(
        &format!("/app/chat-spaces/{id}/install#identity"),
        "saved",
    ))
}
