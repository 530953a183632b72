//! Lists in pages: `?limit=&cursor=` in, `{data, next_cursor}` out; whole lists as `{data}`.

use docent_core::Page;
use serde::{Deserialize, Serialize};

/// A page of a list and the cursor of the next one.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[schemars(rename = "ListOf{T}")]
pub struct List<T> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> List<T> {
    pub fn new(data: Vec<T>, limit: u32, cursor_of: impl Fn(&T) -> String) -> Self {
        let next_cursor = if data.len() as u32 >= limit {
            data.last().map(cursor_of)
        } else {
            None
        };
        List { data, next_cursor }
    }
}

/// A whole list, not paged (what a window holds, ranked): `{data}`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[schemars(rename = "DataOf{T}")]
pub struct Data<T> {
    pub data: Vec<T>,
}

/// `?limit=&cursor=`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ListQueryOf{C}")]
pub struct ListQuery<C> {
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default = "none::<C>")]
    pub cursor: Option<C>,
}

fn none<C>() -> Option<C> {
    None
}

impl<C> ListQuery<C> {
    pub fn page(self) -> Page<C> {
        Page {
            limit: self
                .limit
                .unwrap_or(Page::<C>::DEFAULT_LIMIT)
                .clamp(1, Page::<C>::MAX_LIMIT),
            cursor: self.cursor,
        }
    }
}
